// CosignatureCollector: asks this node's witnesses to cosign its latest audit checkpoint (the
// client side of C2SP tlog-witness) and keeps the cosigned note that /audit/log/checkpoint serves.
//
// Each witness is sent "old <size it last cosigned>", the consistency proof from there and the
// checkpoint. A 409 answer names the size the witness holds; the collector retries once from it
// (which is how it learns the witness's state after a restart). A cosignature is kept only if it
// verifies under the witness's configured key. A witness that is down or refuses is logged and
// asked again with the next checkpoint; checkpoints go on being signed meanwhile.
//
// The transport is a function, so the audit domain needs no HTTP library and tests need no
// sockets; the server passes http::HttpClient.
// Thread-safety: submit() runs on one thread at a time (the collector's own); cosigned_note() is
// safe from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "audit/audit_log.h"
#include "audit/signed_note.h"
#include "common/error.h"

namespace kavach::audit {

struct WitnessReply {
  int status = 0;
  std::string body;
};
// POSTs `body` to `url` and returns the answer; an error when the witness cannot be reached.
using WitnessTransport =
    std::function<Result<WitnessReply>(const std::string& url, const std::string& body)>;

struct WitnessEndpoint {
  std::string url;
  std::string verifier_key;  // the witness's cosigner key
};

class CosignatureCollector {
 public:
  static Result<std::unique_ptr<CosignatureCollector>> create(
      const AuditLog& log, const std::vector<WitnessEndpoint>& witnesses,
      WitnessTransport transport);
  ~CosignatureCollector();

  // Submits the latest checkpoint to every witness; returns how many cosigned it.
  Result<std::size_t> submit();
  // Asks again whenever the log has a new checkpoint, checking every `interval`.
  void start(std::chrono::milliseconds interval);
  // The latest checkpoint that at least one witness cosigned, with every cosignature collected
  // for it; empty before the first.
  std::string cosigned_note() const;

 private:
  struct Peer {
    WitnessEndpoint endpoint;
    NoteVerifier verifier;
    std::uint64_t cosigned_size = 0;
  };
  CosignatureCollector(const AuditLog& log, std::vector<Peer> peers, WitnessTransport transport)
      : log_(log), peers_(std::move(peers)), transport_(std::move(transport)) {}
  Result<std::string> ask(Peer& peer, const store::StoredCheckpoint& checkpoint);
  Result<std::string> request_body(std::uint64_t old_size,
                                   const store::StoredCheckpoint& checkpoint) const;

  const AuditLog& log_;
  std::vector<Peer> peers_;  // touched only by submit()
  WitnessTransport transport_;
  std::uint64_t submitted_size_ = 0;

  mutable std::mutex note_mutex_;
  std::string cosigned_note_;  // GUARDED_BY(note_mutex_)

  std::mutex stop_mutex_;
  std::condition_variable stop_changed_;
  bool stopping_ = false;  // GUARDED_BY(stop_mutex_)
  std::thread thread_;
};

}  // namespace kavach::audit
