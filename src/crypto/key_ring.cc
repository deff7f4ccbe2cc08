#include "crypto/key_ring.h"

#include <sstream>

#include <fmt/format.h>

#include "common/private_file.h"
#include "crypto/encoding.h"
#include "crypto/sodium.h"

namespace kavach::crypto {
namespace {

constexpr std::string_view kHeader = "kavach-key-file v1";
constexpr std::size_t kKekBytes = 32;
constexpr std::size_t kKekIdBytes = 8;
constexpr std::size_t kKeysMax = 16;

KeyEncryptionKey fresh_key() {
  const SecretBytes id = SecretBytes::random(kKekIdBytes);
  return KeyEncryptionKey{to_hex(id.view()), SecretBytes::random(kKekBytes)};
}

}  // namespace

Result<KeyRing> KeyRing::create(const std::filesystem::path& path) {
  KeyRing ring;
  ring.keys_.push_back(fresh_key());
  RETURN_IF_ERROR(ring.save(path, /*exclusive=*/true));
  return ring;
}

Result<KeyRing> KeyRing::load(const std::filesystem::path& path) {
  ASSIGN_OR_RETURN(std::string text, read_private_file(path, "key file"));
  std::istringstream in(text);
  wipe(text);
  std::string line;
  if (!std::getline(in, line) || line != kHeader) {
    return make_error(ErrorCode::kFailedPrecondition,
                      fmt::format("key file {} is not a Kavach key file", path.string()));
  }
  KeyRing ring;
  while (std::getline(in, line)) {
    if (line.empty() || line.front() == '#') continue;
    std::istringstream fields(line);
    std::string kind, id, hex;
    fields >> kind >> id >> hex;
    auto key = from_hex(hex);
    if (kind != "kek" || id.size() != kKekIdBytes * 2 || !key || key->size() != kKekBytes ||
        ring.keys_.size() >= kKeysMax) {
      return make_error(ErrorCode::kFailedPrecondition,
                        fmt::format("key file {} has a malformed line", path.string()));
    }
    ring.keys_.push_back(KeyEncryptionKey{id, SecretBytes(*key)});
    wipe(*key);
  }
  if (ring.keys_.empty()) {
    return make_error(ErrorCode::kFailedPrecondition,
                      fmt::format("key file {} holds no key", path.string()));
  }
  return ring;
}

const KeyEncryptionKey* KeyRing::find(std::string_view id) const {
  for (const auto& key : keys_) {
    if (key.id == id) return &key;
  }
  return nullptr;
}

Status KeyRing::add_key(const std::filesystem::path& path) {
  if (keys_.size() >= kKeysMax) {
    return make_error(ErrorCode::kResourceExhausted, "key file holds too many keys; retire first");
  }
  keys_.push_back(fresh_key());
  return save(path, /*exclusive=*/false);
}

Status KeyRing::retire_inactive(const std::filesystem::path& path) {
  keys_.erase(keys_.begin(), keys_.end() - 1);
  return save(path, /*exclusive=*/false);
}

Status KeyRing::save(const std::filesystem::path& path, bool exclusive) const {
  std::string text = fmt::format("{}\n", kHeader);
  for (const auto& key : keys_) text += fmt::format("kek {} {}\n", key.id, to_hex(key.key.view()));
  auto written = write_private_file(path, text, exclusive, "key file");
  wipe(text);
  return written;
}

}  // namespace kavach::crypto
