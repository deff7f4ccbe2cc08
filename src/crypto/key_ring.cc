#include "crypto/key_ring.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "common/file_descriptor.h"
#include "crypto/encoding.h"
#include "crypto/sodium.h"

namespace kavach::crypto {
namespace {

constexpr std::string_view kHeader = "kavach-key-file v1";
constexpr std::size_t kKekBytes = 32;
constexpr std::size_t kKekIdBytes = 8;
constexpr std::size_t kKeysMax = 16;

Error io_error(const std::filesystem::path& path, std::string_view what) {
  return Error{ErrorCode::kFailedPrecondition,
               fmt::format("key file {}: {}: {}", path.string(), what, std::strerror(errno))};
}

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
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return tl::unexpected(io_error(path, "cannot read"));
  if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return make_error(ErrorCode::kFailedPrecondition,
                      fmt::format("key file {} is readable by group or others (mode {:o}); "
                                  "run chmod 600 on it",
                                  path.string(), info.st_mode & 0777));
  }
  std::ifstream in(path);
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
  // Write a sibling file and rename it over the old one, so a crash leaves either file whole.
  const std::filesystem::path target =
      exclusive ? path : std::filesystem::path(path.string() + ".tmp");
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC);
  FileDescriptor fd(::open(target.c_str(), flags, 0600));
  if (fd.get() < 0) {
    if (errno == EEXIST) {
      return make_error(
          ErrorCode::kAlreadyExists,
          fmt::format("key file {} already exists; refusing to overwrite it", path.string()));
    }
    return tl::unexpected(io_error(target, "cannot create"));
  }
  auto written = write_all(fd.get(), text);
  wipe(text);
  if (!written || ::fsync(fd.get()) != 0) return tl::unexpected(io_error(target, "cannot write"));
  if (!exclusive && ::rename(target.c_str(), path.c_str()) != 0) {
    return tl::unexpected(io_error(path, "cannot replace"));
  }
  const auto parent = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  FileDescriptor dir(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() >= 0) ::fsync(dir.get());
  return {};
}

}  // namespace kavach::crypto
