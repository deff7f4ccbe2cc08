#include "crypto/encoding.h"

#include <sodium.h>

#include "crypto/sodium.h"

namespace kavach::crypto {
namespace {

Result<Bytes> decode_base64(std::string_view text, int variant) {
  ensure_sodium();
  Bytes out(text.size() / 4 * 3 + 3);
  std::size_t written = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &written, &end,
                        variant) != 0 ||
      end != text.data() + text.size()) {
    return make_error(ErrorCode::kInvalidArgument, "malformed base64");
  }
  out.resize(written);
  return out;
}

std::string encode_base64(std::span<const std::uint8_t> bytes, int variant) {
  ensure_sodium();
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(), variant);
  out.pop_back();
  return out;
}

}  // namespace

std::string to_hex(std::span<const std::uint8_t> bytes) {
  ensure_sodium();
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes.data(), bytes.size());
  out.pop_back();
  return out;
}

Result<Bytes> from_hex(std::string_view hex) {
  ensure_sodium();
  if (hex.empty()) return Bytes{};  // libsodium must not be handed an empty (null) buffer
  Bytes out(hex.size() / 2);
  std::size_t written = 0;
  const char* end = nullptr;
  if (hex.size() % 2 != 0 ||
      sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &written, &end) !=
          0 ||
      end != hex.data() + hex.size()) {
    return make_error(ErrorCode::kInvalidArgument, "malformed hex");
  }
  out.resize(written);
  return out;
}

std::string to_base64url(std::span<const std::uint8_t> bytes) {
  return encode_base64(bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

std::string to_base64(std::span<const std::uint8_t> bytes) {
  return encode_base64(bytes, sodium_base64_VARIANT_ORIGINAL);
}

Result<Bytes> from_base64url(std::string_view text) {
  return decode_base64(text, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

Result<Bytes> from_base64(std::string_view text) {
  return decode_base64(text, sodium_base64_VARIANT_ORIGINAL);
}

}  // namespace kavach::crypto
