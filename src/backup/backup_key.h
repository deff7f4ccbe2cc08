// BackupKey: the key of a backup repository, kept apart from the node key file (issue 7).
//
// A ransomware attack that destroys the node, its data directory and its key file must not take
// the backups' key with it, so this key lives in its own file, and its owner keeps a copy offline
// (printed, or on a hospital IT officer's token). Everything a snapshot holds, data keys included,
// is sealed under it: the data keys inside a backup are wrapped by this key, not by the node's
// KEK, so a restore needs only the repository and this file.
//
// Objects are compressed (zstd) and then sealed deterministically (crypto::seal_deterministic),
// so equal contents give equal objects and the repository stores them once; an object's id is
// the SHA-256 of its sealed bytes, which anyone (the backup server included) can check without
// the key, while only the key's holder can read or forge one.
//
// File format (text, mode 0600):
//   kavach-backup-key v1
//   key <64 hex>
// Thread-safety: immutable after loading; safe from any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "common/error.h"
#include "crypto/secret_bytes.h"

namespace kavach::backup {

using Bytes = std::vector<std::uint8_t>;

// The largest plaintext an object may hold once decompressed (a record segment is cut well
// below it); a larger frame is refused rather than allocated.
inline constexpr std::size_t kObjectPlaintextMax = 64 * 1024 * 1024;

class BackupKey {
 public:
  // Writes a fresh key to `path`; refuses to overwrite an existing file.
  static Result<BackupKey> create(const std::filesystem::path& path);
  static Result<BackupKey> load(const std::filesystem::path& path);

  // zstd, then sealed; the same plaintext always gives the same object.
  Bytes seal_object(std::span<const std::uint8_t> plaintext) const;
  // Opens and decompresses an object: kDataLoss if it fails authentication or is malformed.
  Result<Bytes> open_object(std::span<const std::uint8_t> object) const;

 private:
  explicit BackupKey(const crypto::SecretBytes& master);
  crypto::SecretBytes encryption_key_;
  crypto::SecretBytes nonce_key_;
};

// The hex SHA-256 of an object's sealed bytes: its name in the repository.
std::string object_id(std::span<const std::uint8_t> object);
// True for 64 lowercase hex digits (what object_id() returns).
bool is_object_id(std::string_view text);

}  // namespace kavach::backup
