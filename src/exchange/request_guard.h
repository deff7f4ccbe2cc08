// RequestGuard: ABDM's rules for every message between nodes: a requestId is used once, and a
// timestamp lies between one minute in the past and nine minutes in the future (the gateway's
// window). A message outside the window is refused, so a replay older than the window fails on
// its timestamp; inside it, a repeated requestId fails on the set of ids seen, which therefore
// only has to remember the window's worth. The set is bounded; when full, the oldest ids go first
// and, should a flood outrun the window, new ids are refused rather than old ones forgotten early.
// Thread-safety: safe from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/clock.h"
#include "common/error.h"

namespace kavach::exchange {

inline constexpr std::int64_t kRequestPastMs = 60'000;
inline constexpr std::int64_t kRequestFutureMs = 9 * 60'000;
inline constexpr std::size_t kRequestIdMax = 64;

class RequestGuard {
 public:
  explicit RequestGuard(const Clock& clock, std::size_t ids_max = 1'000'000)
      : clock_(clock), ids_max_(ids_max) {}

  // kInvalidArgument for a missing or malformed requestId or timestamp; kUnauthenticated for a
  // timestamp outside the window; kAlreadyExists for a requestId seen before.
  Status admit(std::string_view request_id, std::string_view timestamp);

 private:
  void forget_expired(std::int64_t now_ms);  // REQUIRES(mutex_)

  const Clock& clock_;
  const std::size_t ids_max_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::int64_t> seen_;  // GUARDED_BY(mutex_): id -> time
  std::multimap<std::int64_t, std::string> by_time_;    // GUARDED_BY(mutex_)
};

}  // namespace kavach::exchange
