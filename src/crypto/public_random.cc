#include "crypto/public_random.h"

#include <pthread.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <mutex>

#include "crypto/sodium.h"

namespace kavach::crypto {
namespace {

constexpr std::size_t kPoolBytes = 4096;

struct Pool {
  std::array<std::uint8_t, kPoolBytes> bytes{};
  std::size_t next = kPoolBytes;  // bytes before it have been handed out
};

thread_local Pool pool;

// Runs in the child of a fork, on the one thread it has (the one that forked): what is left in
// that thread's pool is also left in the parent's, so the child must not hand it out.
void empty_pool_in_child() {
  sodium_memzero(pool.bytes.data(), pool.bytes.size());
  pool.next = kPoolBytes;
}

}  // namespace

void fill_public_random(std::span<std::uint8_t> out) {
  static std::once_flag registered;
  std::call_once(registered, [] {
    ensure_sodium();
    pthread_atfork(nullptr, nullptr, &empty_pool_in_child);
  });
  while (!out.empty()) {
    if (pool.next == kPoolBytes) {
      randombytes_buf(pool.bytes.data(), pool.bytes.size());
      pool.next = 0;
    }
    const std::size_t take = std::min(out.size(), kPoolBytes - pool.next);
    std::copy_n(pool.bytes.begin() + static_cast<std::ptrdiff_t>(pool.next), take, out.begin());
    // Overwritten as handed out, so nothing already used can be read back from the pool.
    sodium_memzero(pool.bytes.data() + pool.next, take);
    pool.next += take;
    out = out.subspan(take);
  }
}

}  // namespace kavach::crypto
