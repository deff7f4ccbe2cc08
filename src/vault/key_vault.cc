#include "vault/key_vault.h"

#include <fmt/format.h>

#include "common/limits.h"
#include "crypto/aead.h"

namespace kavach::vault {
namespace {

std::string wrap_context(std::string_view name, std::string_view kek_id) {
  return fmt::format("kavach/wrapped-key/v1\n{}\n{}", name, kek_id);
}

}  // namespace

std::string key_name_for_partition(std::string_view partition) {
  if (partition.empty()) return std::string(kNodeRecordsKey);
  return fmt::format("patient/{}", partition);
}

Result<crypto::SecretBytes> unwrap_key(const crypto::KeyRing& ring,
                                       const store::WrappedKey& wrapped) {
  if (wrapped.erased()) {
    return make_error(ErrorCode::kGone, "this data was erased and can no longer be read");
  }
  const auto* kek = ring.find(wrapped.kek_id);
  if (kek == nullptr) {
    return make_error(ErrorCode::kFailedPrecondition,
                      fmt::format("a data key is wrapped by key-encryption key {}, which the key "
                                  "file does not hold",
                                  wrapped.kek_id));
  }
  return crypto::open_secret(kek->key, wrapped.wrapped, wrap_context(wrapped.name, wrapped.kek_id));
}

store::WrappedKey wrap_key(const crypto::KeyRing& ring, std::string name,
                           const crypto::SecretBytes& key, std::int64_t created_at_ms) {
  const auto& kek = ring.active();
  store::WrappedKey wrapped;
  wrapped.wrapped = crypto::seal(kek.key, key.view(), wrap_context(name, kek.id));
  wrapped.name = std::move(name);
  wrapped.kek_id = kek.id;
  wrapped.created_at_ms = created_at_ms;
  return wrapped;
}

void KeysToCreate::add_to(store::WriteBatch& batch) {
  for (auto& write : writes_) batch.keys.push_back(std::move(write));
  writes_.clear();
  keys_.clear();
  stored_.clear();
}

Result<crypto::SecretBytes> KeyVault::key_for_batch(const std::string& name,
                                                    KeysToCreate& batch_keys) {
  if (name.starts_with("node/")) return key(name);
  if (const auto made = batch_keys.keys_.find(name); made != batch_keys.keys_.end()) {
    return made->second.clone();
  }
  if (const auto read = batch_keys.stored_.find(name); read != batch_keys.stored_.end()) {
    return read->second.clone();
  }
  ASSIGN_OR_RETURN(auto key, stored_or_new(name, batch_keys));
  if (!batch_keys.keys_.contains(name) &&
      batch_keys.stored_.size() < KeysToCreate::kStoredKeysMax) {
    batch_keys.stored_.emplace(name, key.clone());
  }
  return key;
}

Result<crypto::SecretBytes> KeyVault::stored_or_new(const std::string& name, KeysToCreate& made) {
  ASSIGN_OR_RETURN(const auto wrapped, store_.read_key(name));
  if (wrapped) return unwrap_key(ring_, *wrapped);
  auto fresh = crypto::SecretBytes::random(crypto::kAeadKeyBytes);
  store::KeyWrite write;
  write.kind = store::KeyWrite::Kind::kCreate;
  write.key = wrap_key(ring_, name, fresh, unix_ms(clock_.now()));
  made.writes_.push_back(std::move(write));
  auto copy = fresh.clone();
  made.keys_.emplace(name, std::move(fresh));
  return copy;
}

Result<crypto::SecretBytes> KeyVault::existing_key(const std::string& name) {
  ASSIGN_OR_RETURN(const auto wrapped, store_.read_key(name));
  if (!wrapped) return make_error(ErrorCode::kNotFound, "no such data key");
  return unwrap_key(ring_, *wrapped);
}

Result<crypto::SecretBytes> KeyVault::key(const std::string& name) {
  if (!name.starts_with("node/")) return load_or_create(name);
  ASSIGN_OR_RETURN(const auto shared, node_key(name));
  return shared->clone();
}

Result<std::shared_ptr<const crypto::SecretBytes>> KeyVault::node_key(std::string_view name) {
  if (!name.starts_with("node/")) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("{} is not a node key", name));
  }
  {
    std::lock_guard lock(node_keys_mutex_);
    if (const auto found = node_keys_.find(name); found != node_keys_.end()) return found->second;
  }
  ASSIGN_OR_RETURN(auto loaded, load_or_create(std::string(name)));
  auto shared = std::make_shared<const crypto::SecretBytes>(std::move(loaded));
  std::lock_guard lock(node_keys_mutex_);
  // Two first uses converge on the stored key, so whichever is cached first is the same key.
  return node_keys_.emplace(std::string(name), std::move(shared)).first->second;
}

Result<crypto::SecretBytes> KeyVault::load_or_create(const std::string& name) {
  KeysToCreate made;
  ASSIGN_OR_RETURN(auto key, stored_or_new(name, made));
  if (made.empty()) return key;
  // Committed on its own, nothing sealed under it yet: should another writer have created the
  // key first, whichever is stored is the key.
  for (auto& write : made.writes_) write.kind = store::KeyWrite::Kind::kCreateIfAbsent;
  store::WriteBatch batch;
  made.add_to(batch);
  RETURN_IF_ERROR(store_.commit(std::move(batch)));
  return existing_key(name);
}

Status KeyVault::erase(const std::string& name, store::WriteBatch also) {
  ASSIGN_OR_RETURN(const auto wrapped, store_.read_key(name));
  if (!wrapped) return make_error(ErrorCode::kNotFound, "no such data key");
  if (wrapped->erased()) return make_error(ErrorCode::kGone, "this data key was already erased");
  store::KeyWrite write;
  write.kind = store::KeyWrite::Kind::kErase;
  write.key.name = name;
  write.key.erased_at_ms = unix_ms(clock_.now());
  also.keys.push_back(std::move(write));
  RETURN_IF_ERROR(store_.commit(std::move(also)));
  return {};
}

Result<RotationReport> KeyVault::rewrap_all() {
  RotationReport report;
  const auto& kek = ring_.active();
  std::string after;
  for (;;) {
    ASSIGN_OR_RETURN(const auto page, store_.list_keys(after, limits::kPageSizeMax));
    if (page.empty()) return report;
    store::WriteBatch batch;
    for (const auto& wrapped : page) {
      if (wrapped.erased()) {
        ++report.erased_skipped;
        continue;
      }
      if (wrapped.kek_id == kek.id) {
        ++report.already_current;
        continue;
      }
      ASSIGN_OR_RETURN(const auto plain, unwrap_key(ring_, wrapped));
      store::KeyWrite write;
      write.kind = store::KeyWrite::Kind::kRewrap;
      write.expected_kek_id = wrapped.kek_id;
      write.key.name = wrapped.name;
      write.key.kek_id = kek.id;
      write.key.wrapped = crypto::seal(kek.key, plain.view(), wrap_context(wrapped.name, kek.id));
      batch.keys.push_back(std::move(write));
    }
    report.rewrapped += batch.keys.size();
    RETURN_IF_ERROR(store_.commit(std::move(batch)));
    after = page.back().name;
  }
}

}  // namespace kavach::vault
