// AttemptLimiter: a token bucket per key (a peer address, a client id) that bounds how often a
// costly or guessable operation may be tried: each client-secret check runs Argon2id with 64 MiB,
// so without a bound a flood of token requests would exhaust memory and CPU and let secrets be
// guessed at leisure. Buckets refill continuously; the number of keys tracked is bounded, and
// when it is reached the buckets idle longest are forgotten first.
// Thread-safety: safe from any thread.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace kavach::auth {

struct AttemptLimits {
  double burst = 10;      // attempts allowed at once
  double per_second = 1;  // refill rate
  std::size_t keys_max = 10'000;
};

class AttemptLimiter {
 public:
  AttemptLimiter(AttemptLimits limits, const Clock& clock) : limits_(limits), clock_(clock) {}

  // Takes one attempt from `key`'s bucket; false (and nothing taken) when it is empty.
  bool try_acquire(std::string_view key);

 private:
  struct Bucket {
    double tokens = 0;
    TimePoint updated;
  };
  void forget_idle_buckets(TimePoint now);

  const AttemptLimits limits_;
  const Clock& clock_;
  std::mutex mutex_;
  std::map<std::string, Bucket, std::less<>> buckets_;  // GUARDED_BY(mutex_)
};

}  // namespace kavach::auth
