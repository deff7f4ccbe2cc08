// ConsentOutbox: durable delivery of the consent manager's notices to HIPs and HIUs (a grant, a
// revocation, an expiry, a request's fate), so a node that is down receives them when it is back.
//
// A message is a sealed document written in the same commit as the change it announces, so no
// change is made without its notice or the other way round. A dispatcher thread delivers due
// messages to the facility's registered callback URL (never one from a request), signing each body
// with the node's key (the CM's; a facility's node uses the same outbox for its messages to the
// CM) (header X-Kavach-Signature: Ed25519 over the RFC 8785 form of the body) and
// stamping a fresh `timestamp`; the `requestId` stays the same across retries, so receivers can
// drop duplicates. Failures retry with exponential backoff up to a bound, then the message is
// marked failed and logged. A notify() wakes the dispatcher at once, so a revocation reaches a
// node that is up well within a second.
// Thread-safety: safe from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "common/error.h"
#include "consent/consent_artefact.h"
#include "consent/facility_registry.h"
#include "vault/sealed_documents.h"

namespace kavach::consent {

inline constexpr std::string_view kOutboxType = "_OutboxMessage";
inline constexpr std::string_view kSignatureHeader = "X-Kavach-Signature";

struct OutboxLimits {
  int attempts_max = 30;
  std::chrono::milliseconds first_backoff{500};
  std::chrono::milliseconds backoff_max{std::chrono::minutes(5)};
  std::size_t batch_max = 100;
  std::chrono::milliseconds idle_tick{250};
};

using OutboxHeaders = std::vector<std::pair<std::string, std::string>>;

// Where a message to `facility_id` goes: the base URL its paths are appended to, and the headers
// that name the addressee as ABDM does (X-HIP-ID, X-HIU-ID or X-CM-ID), so one URL can serve
// several. On the CM, the facility's registered callback URL (never one from a request); on a
// facility's node, the CM.
struct OutboxRoute {
  std::string base_url;
  OutboxHeaders headers;
};
using OutboxDestination = std::function<Result<OutboxRoute>(std::string_view facility_id)>;
// Registered facilities, by their callback URL, with X-HIP-ID and/or X-HIU-ID by their roles.
OutboxDestination registry_destination(FacilityRegistry& registry);

// The outcome of one delivery attempt: ok when the receiver answered 2xx.
using OutboxTransport =
    std::function<Status(const std::string& url, const std::string& body,
                         const std::string& signature, const OutboxHeaders& headers)>;

// A random (version 4) UUID, as ABDM's requestId and consent ids are.
std::string random_uuid();

// A new message to `facility_id` at `path` (for example "/v0.5/consents/hip/notify"), ready to
// commit with the change it announces. `body` gets requestId (`request_id`, or a fresh UUID) and
// timestamp; a caller that must match the answer's resp.requestId chooses the id.
Result<store::RecordWrite> prepare_outbox_message(vault::SealedDocuments& documents,
                                                  std::string_view facility_id,
                                                  std::string_view path, boost::json::object body,
                                                  std::string request_id = {});

struct OutboxCounts {
  std::size_t delivered = 0;
  std::size_t retried = 0;
  std::size_t failed = 0;
};

class OutboxDispatcher {
 public:
  OutboxDispatcher(vault::SealedDocuments& documents, OutboxDestination destination,
                   const ArtefactSigner& signer, OutboxTransport transport, const Clock& clock,
                   OutboxLimits limits = {});
  ~OutboxDispatcher();
  OutboxDispatcher(const OutboxDispatcher&) = delete;
  OutboxDispatcher& operator=(const OutboxDispatcher&) = delete;

  // One pass over the due messages; what the thread runs, and what tests call.
  Result<OutboxCounts> deliver_due();
  void start();
  void stop();
  // Wakes the dispatcher: a message was just committed.
  void notify();

 private:
  void run();

  vault::SealedDocuments& documents_;
  const OutboxDestination destination_;
  const ArtefactSigner& signer_;
  OutboxTransport transport_;
  const Clock& clock_;
  const OutboxLimits limits_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool woken_ = false;     // GUARDED_BY(mutex_)
  bool stopping_ = false;  // GUARDED_BY(mutex_)
  std::thread thread_;
};

}  // namespace kavach::consent
