#include "audit/cosignature_collector.h"

#include <fmt/format.h>

#include <charconv>

#include "common/log.h"
#include "crypto/encoding.h"

namespace kavach::audit {
namespace {

// The signature lines in `lines` made by `name`.
std::string lines_by(std::string_view lines, std::string_view name) {
  std::string kept;
  const std::string prefix = fmt::format("{}{} ", kNoteSignaturePrefix, name);
  while (!lines.empty()) {
    const auto end = lines.find('\n');
    const auto line = lines.substr(0, end == std::string_view::npos ? lines.size() : end + 1);
    if (line.starts_with(prefix) && line.ends_with('\n')) kept.append(line);
    lines.remove_prefix(line.size());
  }
  return kept;
}

}  // namespace

Result<std::unique_ptr<CosignatureCollector>> CosignatureCollector::create(
    const AuditLog& log, const std::vector<WitnessEndpoint>& witnesses,
    WitnessTransport transport) {
  std::vector<Peer> peers;
  for (const auto& witness : witnesses) {
    auto verifier = NoteVerifier::parse(witness.verifier_key);
    if (!verifier || verifier->type() != NoteKeyType::kCosignatureV1) {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("the witness key for {} is not a cosigner key", witness.url));
    }
    peers.push_back(Peer{witness, std::move(*verifier), 0});
  }
  return std::unique_ptr<CosignatureCollector>(
      new CosignatureCollector(log, std::move(peers), std::move(transport)));
}

CosignatureCollector::~CosignatureCollector() {
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void CosignatureCollector::start(std::chrono::milliseconds interval) {
  thread_ = std::thread([this, interval] {
    std::unique_lock lock(stop_mutex_);
    while (!stopping_) {
      stop_changed_.wait_for(lock, interval, [&] { return stopping_; });
      if (stopping_) return;
      lock.unlock();
      const auto latest = log_.latest_checkpoint();
      if (latest && static_cast<std::uint64_t>(latest->size) != submitted_size_) {
        if (auto done = submit(); !done) {
          log::warn("audit.witnessing_failed", {{"error", done.error().message}});
        }
      }
      lock.lock();
    }
  });
}

Result<std::string> CosignatureCollector::request_body(
    std::uint64_t old_size, const store::StoredCheckpoint& checkpoint) const {
  std::string body = fmt::format("old {}\n", old_size);
  const auto size = static_cast<std::uint64_t>(checkpoint.size);
  if (old_size > 0 && old_size < size) {
    ASSIGN_OR_RETURN(const auto proof, log_.consistency_proof(old_size, size));
    for (const auto& hash : proof) body += crypto::to_base64(hash) + "\n";
  }
  return body + "\n" + checkpoint.note;
}

Result<std::string> CosignatureCollector::ask(Peer& peer,
                                              const store::StoredCheckpoint& checkpoint) {
  const auto size = static_cast<std::uint64_t>(checkpoint.size);
  for (int attempt = 0; attempt < 2; ++attempt) {
    ASSIGN_OR_RETURN(const auto body, request_body(peer.cosigned_size, checkpoint));
    ASSIGN_OR_RETURN(const auto reply, transport_(peer.endpoint.url, body));
    if (reply.status == 200) {
      const auto lines = lines_by(reply.body, peer.verifier.name());
      if (lines.empty() || !peer.verifier.open(checkpoint.note + lines)) {
        return make_error(
            ErrorCode::kPermissionDenied,
            fmt::format("{} answered without a valid cosignature", peer.endpoint.url));
      }
      peer.cosigned_size = size;
      return lines;
    }
    if (reply.status == 409) {
      // The witness holds another size: start from it, if it can be ours.
      std::uint64_t held = 0;
      const std::string_view text(reply.body);
      const auto digits = text.substr(0, text.find('\n'));
      const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), held);
      if (error == std::errc() && held <= size && held != peer.cosigned_size) {
        peer.cosigned_size = held;
        continue;
      }
    }
    return make_error(
        ErrorCode::kFailedPrecondition,
        fmt::format("{} refused the checkpoint at size {} (HTTP {}): {}", peer.endpoint.url, size,
                    reply.status, reply.body.substr(0, 200)));
  }
  return make_error(ErrorCode::kFailedPrecondition,
                    fmt::format("{} kept answering 409", peer.endpoint.url));
}

Result<std::size_t> CosignatureCollector::submit() {
  const auto latest = log_.latest_checkpoint();
  if (!latest) return std::size_t{0};
  submitted_size_ = static_cast<std::uint64_t>(latest->size);
  std::string cosignatures;
  std::size_t cosigned = 0;
  for (auto& peer : peers_) {
    auto lines = ask(peer, *latest);
    if (!lines) {
      log::warn("audit.witness_refused",
                {{"witness", peer.endpoint.url}, {"error", lines.error().message}});
      continue;
    }
    cosignatures += *lines;
    ++cosigned;
  }
  if (cosigned > 0) {
    std::lock_guard lock(note_mutex_);
    cosigned_note_ = latest->note + cosignatures;
  }
  return cosigned;
}

std::string CosignatureCollector::cosigned_note() const {
  std::lock_guard lock(note_mutex_);
  return cosigned_note_;
}

}  // namespace kavach::audit
