// SecretBytes owns key material: locked in memory (never swapped), wiped on destruction, never
// copied implicitly and never printed. Every key in Kavach (KEKs, patient data keys, index and
// token keys) lives in one of these. Thread-safety: immutable after construction; concurrent reads
// are safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

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

  std::span<const std::uint8_t> view() const { return {bytes_.data(), bytes_.size()}; }
  std::span<std::uint8_t> mutable_view() { return {bytes_.data(), bytes_.size()}; }
  std::size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }

 private:
  void wipe();
  std::vector<std::uint8_t> bytes_;
};

}  // namespace kavach::crypto
