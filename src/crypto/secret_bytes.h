// SecretBytes owns key material: locked in memory (never swapped), wiped on destruction, never
// copied implicitly and never printed. Every key in Kavach (KEKs, patient data keys, index and
// token keys) lives in one of these. Thread-safety: immutable after construction; concurrent reads
// are safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace kavach::crypto {

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(std::size_t size);
  explicit SecretBytes(std::span<const std::uint8_t> bytes);
  ~SecretBytes();

  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  // An explicit copy, so duplication of key material is visible at the call site.
  SecretBytes clone() const { return SecretBytes(view()); }

  static SecretBytes random(std::size_t size);

  std::span<const std::uint8_t> view() const { return {data_, size_}; }
  std::span<std::uint8_t> mutable_view() { return {data_, size_}; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  void wipe();
  // Up to kSlotBytes, a slot of a memory region locked once for the process (locked_slots in
  // secret_bytes.cc); larger, a heap buffer locked on its own.
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace kavach::crypto
