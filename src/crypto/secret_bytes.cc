#include "crypto/secret_bytes.h"

#include <sodium.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <utility>
#include <vector>

#include "crypto/sodium.h"

namespace kavach::crypto {
namespace {

// Keys are 32 or 64 bytes and short-lived: a patient's data key lives for one read. Locking each
// one on its own took four system calls (mlock and madvise, then madvise and munlock), about 6% of
// a record read's CPU time. Small secrets take a slot of a region locked once instead.
constexpr std::size_t kSlotBytes = 64;
constexpr std::size_t kRegionBytes = 64 * 1024;

class LockedSlots {
 public:
  std::uint8_t* take() {
    std::lock_guard lock(mutex_);
    if (free_.empty()) add_region();
    std::uint8_t* slot = free_.back();
    free_.pop_back();
    return slot;
  }

  // The slot must have been wiped.
  void give_back(std::uint8_t* slot) {
    std::lock_guard lock(mutex_);
    free_.push_back(slot);
  }

 private:
  void add_region() {
    // Regions live as long as the process; there are as many as secrets alive at the peak.
    auto* region = static_cast<std::uint8_t*>(std::aligned_alloc(4096, kRegionBytes));
    if (region == nullptr) std::abort();
    // Locked where the limit allows (as for any SecretBytes) and left out of core dumps.
    sodium_mlock(region, kRegionBytes);
    for (std::size_t offset = 0; offset < kRegionBytes; offset += kSlotBytes) {
      free_.push_back(region + offset);
    }
  }

  std::mutex mutex_;
  std::vector<std::uint8_t*> free_;  // GUARDED_BY(mutex_)
};

LockedSlots& locked_slots() {
  // Never destroyed: a SecretBytes in a static object may outlive any other static.
  static auto* slots = new LockedSlots;
  return *slots;
}

}  // namespace

SecretBytes::SecretBytes(std::size_t size) : size_(size) {
  ensure_sodium();
  if (size == 0) return;
  if (size <= kSlotBytes) {
    data_ = locked_slots().take();
  } else {
    data_ = new std::uint8_t[size];
    sodium_mlock(data_, size);
  }
  std::fill_n(data_, size, std::uint8_t{0});
}

SecretBytes::SecretBytes(std::span<const std::uint8_t> bytes) : SecretBytes(bytes.size()) {
  std::copy(bytes.begin(), bytes.end(), data_);
}

SecretBytes::~SecretBytes() { wipe(); }

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    wipe();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

SecretBytes SecretBytes::random(std::size_t size) {
  SecretBytes secret(size);
  randombytes_buf(secret.data_, secret.size_);
  return secret;
}

void SecretBytes::wipe() {
  if (data_ == nullptr) return;
  if (size_ <= kSlotBytes) {
    sodium_memzero(data_, kSlotBytes);
    locked_slots().give_back(data_);
  } else {
    // sodium_munlock zeroes the memory before unlocking it.
    sodium_munlock(data_, size_);
    delete[] data_;
  }
  data_ = nullptr;
  size_ = 0;
}

}  // namespace kavach::crypto
