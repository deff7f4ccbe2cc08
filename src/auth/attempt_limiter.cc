#include "auth/attempt_limiter.h"

#include <algorithm>
#include <vector>

namespace kavach::auth {

void AttemptLimiter::forget_idle_buckets(TimePoint now) {
  // First the buckets that have refilled completely (nothing to remember), then the oldest.
  std::erase_if(buckets_, [&](const auto& entry) {
    const std::chrono::duration<double> idle = now - entry.second.updated;
    return entry.second.tokens + idle.count() * limits_.per_second >= limits_.burst;
  });
  if (buckets_.size() < limits_.keys_max) return;
  std::vector<std::pair<TimePoint, std::string>> by_age;
  by_age.reserve(buckets_.size());
  for (const auto& [key, bucket] : buckets_) by_age.emplace_back(bucket.updated, key);
  const auto half = by_age.begin() + static_cast<std::ptrdiff_t>(by_age.size() / 2);
  std::nth_element(by_age.begin(), half, by_age.end());
  for (auto it = by_age.begin(); it != half; ++it) buckets_.erase(it->second);
}

bool AttemptLimiter::try_acquire(std::string_view key) {
  const TimePoint now = clock_.now();
  std::lock_guard lock(mutex_);
  auto found = buckets_.find(key);
  if (found == buckets_.end()) {
    if (buckets_.size() >= limits_.keys_max) forget_idle_buckets(now);
    found = buckets_.emplace(std::string(key), Bucket{limits_.burst, now}).first;
  }
  Bucket& bucket = found->second;
  const std::chrono::duration<double> elapsed = now - bucket.updated;
  // A clock stepped backwards refills nothing rather than draining the bucket.
  bucket.tokens =
      std::min(limits_.burst, bucket.tokens + std::max(0.0, elapsed.count()) * limits_.per_second);
  bucket.updated = now;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

}  // namespace kavach::auth
