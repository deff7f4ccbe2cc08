// The node's key-encryption keys (KEKs), kept in a key file outside the data directory.
//
// The file holds one or more KEKs; the last is active and wraps new data keys, the others only
// unwrap keys not yet re-wrapped. Rotation appends a KEK, re-wraps every data key (see
// vault/key_vault.h), then retires the old ones, so a crash at any point leaves every wrapped key
// openable. The file must be mode 0600 (no group or world bits) or it is refused.
//
// File format (text, one KEK per line, last active):
//   kavach-key-file v1
//   kek <16 hex id> <64 hex key>
//
// Thread-safety: a loaded KeyRing is immutable; concurrent reads are safe.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/error.h"
#include "crypto/secret_bytes.h"

namespace kavach::crypto {

struct KeyEncryptionKey {
  std::string id;
  SecretBytes key;
};

class KeyRing {
 public:
  // Creates a key file with one fresh KEK; refuses to overwrite an existing file.
  static Result<KeyRing> create(const std::filesystem::path& path);
  // Loads a key file; refuses files readable by group or others, and malformed files.
  static Result<KeyRing> load(const std::filesystem::path& path);

  const KeyEncryptionKey& active() const { return keys_.back(); }
  // nullptr when the ring holds no KEK with that id.
  const KeyEncryptionKey* find(std::string_view id) const;
  const std::vector<KeyEncryptionKey>& keys() const { return keys_; }

  // Appends a fresh KEK, makes it active and rewrites the file atomically.
  Status add_key(const std::filesystem::path& path);
  // Drops every KEK but the active one and rewrites the file atomically.
  Status retire_inactive(const std::filesystem::path& path);

 private:
  KeyRing() = default;
  Status save(const std::filesystem::path& path, bool exclusive) const;
  std::vector<KeyEncryptionKey> keys_;
};

}  // namespace kavach::crypto
