#include "consent/consent_outbox.h"

#include <algorithm>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "common/canonical_json.h"
#include "common/log.h"
#include "common/time_format.h"
#include "crypto/encoding.h"
#include "crypto/secret_bytes.h"

namespace kavach::consent {
namespace {

namespace json = boost::json;

const vault::DocumentIndexValue kPending{"state", "pending", true};
const vault::DocumentIndexValue kFailed{"state", "failed", true};

}  // namespace

std::string random_uuid() {
  auto bytes = crypto::SecretBytes::random(16);
  auto view = bytes.mutable_view();
  view[6] = static_cast<std::uint8_t>((view[6] & 0x0F) | 0x40);
  view[8] = static_cast<std::uint8_t>((view[8] & 0x3F) | 0x80);
  const std::string hex = crypto::to_hex(bytes.view());
  return fmt::format("{}-{}-{}-{}-{}", hex.substr(0, 8), hex.substr(8, 4), hex.substr(12, 4),
                     hex.substr(16, 4), hex.substr(20));
}

Result<store::RecordWrite> prepare_outbox_message(vault::SealedDocuments& documents,
                                                  std::string_view facility_id,
                                                  std::string_view path, json::object body,
                                                  std::string request_id) {
  vault::Document message;
  message.type = std::string(kOutboxType);
  message.id = request_id.empty() ? random_uuid() : std::move(request_id);
  body["requestId"] = message.id;
  message.body = {{"facility_id", facility_id}, {"path", path},
                  {"body", std::move(body)},    {"attempts", 0},
                  {"next_attempt_at_ms", 0},    {"last_error", ""}};
  return documents.prepare(message, {kPending});
}

OutboxDestination registry_destination(FacilityRegistry& registry) {
  return [&registry](std::string_view facility_id) -> Result<OutboxRoute> {
    ASSIGN_OR_RETURN(const auto facility, registry.facility(facility_id));
    if (facility.callback_url.empty()) {
      return make_error(ErrorCode::kFailedPrecondition,
                        fmt::format("facility {} has no callback URL", facility_id));
    }
    OutboxRoute route{facility.callback_url, {}};
    if (facility.hip) route.headers.emplace_back("X-HIP-ID", facility.id);
    if (facility.hiu) route.headers.emplace_back("X-HIU-ID", facility.id);
    return route;
  };
}

OutboxDispatcher::OutboxDispatcher(vault::SealedDocuments& documents, OutboxDestination destination,
                                   const ArtefactSigner& signer, OutboxTransport transport,
                                   const Clock& clock, OutboxLimits limits)
    : documents_(documents),
      destination_(std::move(destination)),
      signer_(signer),
      transport_(std::move(transport)),
      clock_(clock),
      limits_(limits) {}

OutboxDispatcher::~OutboxDispatcher() { stop(); }

Result<OutboxCounts> OutboxDispatcher::deliver_due() {
  OutboxCounts counts;
  ASSIGN_OR_RETURN(auto messages,
                   documents_.find_documents(kOutboxType, kPending, limits_.batch_max));
  const std::int64_t now_ms = unix_ms(clock_.now());
  for (auto& message : messages) {
    auto& body = message.body;
    if (body.at("next_attempt_at_ms").to_number<std::int64_t>() > now_ms) continue;
    const std::string facility_id(body.at("facility_id").as_string());
    Status sent;
    auto route = destination_(facility_id);
    if (!route) {
      sent = tl::unexpected(route.error());
    } else {
      // A fresh timestamp on every attempt keeps the message inside the receiver's window.
      json::object payload = body.at("body").as_object();
      payload["timestamp"] = format_instant_ms(unix_ms(clock_.now()));
      auto signature = signer_.sign_object(payload);
      if (!signature) {
        sent = tl::unexpected(signature.error());
      } else {
        std::string url = route->base_url;
        while (!url.empty() && url.back() == '/') url.pop_back();
        sent = transport_(url + std::string(body.at("path").as_string()), json::serialize(payload),
                          *signature, route->headers);
      }
    }
    const auto attempts = body.at("attempts").to_number<std::int64_t>() + 1;
    body["attempts"] = attempts;
    std::vector<vault::DocumentIndexValue> index;
    if (sent) {
      ++counts.delivered;
      body["delivered_at_ms"] = now_ms;
    } else if (attempts >= limits_.attempts_max) {
      ++counts.failed;
      body["last_error"] = sent.error().message;
      index.push_back(kFailed);
      log::error("consent.outbox.failed",
                 {{"message", message.id},
                  {"facility", facility_id},
                  {"attempts", std::to_string(attempts)},
                  {"error", std::string(error_code_name(sent.error().code))}});
    } else {
      ++counts.retried;
      const auto backoff = std::min<std::int64_t>(limits_.backoff_max.count(),
                                                  limits_.first_backoff.count()
                                                      << std::min<std::int64_t>(attempts - 1, 20));
      body["next_attempt_at_ms"] = now_ms + backoff;
      body["last_error"] = sent.error().message;
      index.push_back(kPending);
    }
    // A conflict means another dispatcher (another process on the store) handled it.
    auto written = documents_.write(message, index);
    if (!written && written.error().code != ErrorCode::kConflict) {
      return tl::unexpected(written.error());
    }
  }
  return counts;
}

void OutboxDispatcher::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void OutboxDispatcher::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void OutboxDispatcher::notify() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wake_.notify_all();
}

void OutboxDispatcher::run() {
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, limits_.idle_tick, [this] { return woken_ || stopping_; });
      if (stopping_) return;
      woken_ = false;
    }
    auto pass = deliver_due();
    if (!pass) {
      log::warn("consent.outbox.pass_failed",
                {{"error", std::string(error_code_name(pass.error().code))}});
    }
  }
}

}  // namespace kavach::consent
