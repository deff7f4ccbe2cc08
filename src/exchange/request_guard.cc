#include "exchange/request_guard.h"

#include <algorithm>
#include <cctype>

#include "common/time_format.h"

namespace kavach::exchange {

void RequestGuard::forget_expired(std::int64_t now_ms) {
  // An id older than the window can no longer come back with an acceptable timestamp.
  const std::int64_t horizon = now_ms - kRequestPastMs - kRequestFutureMs;
  while (!by_time_.empty() && by_time_.begin()->first < horizon) {
    seen_.erase(by_time_.begin()->second);
    by_time_.erase(by_time_.begin());
  }
}

Status RequestGuard::admit(std::string_view request_id, std::string_view timestamp) {
  if (request_id.empty() || request_id.size() > kRequestIdMax ||
      !std::all_of(request_id.begin(), request_id.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
      })) {
    return make_error(ErrorCode::kInvalidArgument,
                      "requestId is required: a UUID, unique for each request");
  }
  const auto sent_ms = parse_instant_ms(timestamp);
  if (!sent_ms) {
    return make_error(ErrorCode::kInvalidArgument,
                      "timestamp is required: UTC with milliseconds, such as "
                      "2026-01-31T10:00:00.000Z");
  }
  const std::int64_t now_ms = unix_ms(clock_.now());
  if (*sent_ms < now_ms - kRequestPastMs || *sent_ms > now_ms + kRequestFutureMs) {
    return make_error(ErrorCode::kUnauthenticated,
                      "the timestamp is outside the accepted window: check the sender's clock");
  }
  std::lock_guard lock(mutex_);
  forget_expired(now_ms);
  if (seen_.contains(std::string(request_id))) {
    return make_error(ErrorCode::kAlreadyExists,
                      "this requestId was already used; every request needs a new one");
  }
  if (seen_.size() >= ids_max_) {
    return make_error(ErrorCode::kResourceExhausted, "too many requests; try again shortly");
  }
  seen_.emplace(std::string(request_id), now_ms);
  by_time_.emplace(now_ms, std::string(request_id));
  return {};
}

}  // namespace kavach::exchange
