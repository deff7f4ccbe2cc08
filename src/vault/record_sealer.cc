#include "vault/record_sealer.h"

#include <fmt/format.h>

#include "crypto/aead.h"
#include "crypto/keyed_hash.h"

namespace kavach::vault {
namespace {

std::string record_context(const store::RecordVersion& record) {
  return fmt::format("kavach/record/v1\n{}\n{}\n{}\n{}", record.partition, record.type, record.id,
                     record.version);
}

void seal_under(const crypto::SecretBytes& key, store::RecordVersion& record,
                std::string_view plaintext) {
  record.payload = crypto::seal(key, crypto::as_bytes(plaintext), record_context(record));
}

}  // namespace

Status RecordSealer::seal(store::RecordVersion& record, std::string_view plaintext) {
  ASSIGN_OR_RETURN(const auto key, keys_.key(key_name_for_partition(record.partition)));
  seal_under(key, record, plaintext);
  return {};
}

Status RecordSealer::seal(store::RecordVersion& record, std::string_view plaintext,
                          KeysToCreate& batch_keys) {
  ASSIGN_OR_RETURN(const auto key,
                   keys_.key_for_batch(key_name_for_partition(record.partition), batch_keys));
  seal_under(key, record, plaintext);
  return {};
}

Result<std::string> RecordSealer::open(const store::RecordVersion& record) {
  OpenedKeys opened;
  return open(record, opened);
}

Result<std::string> RecordSealer::open(const store::RecordVersion& record, OpenedKeys& opened) {
  auto name = key_name_for_partition(record.partition);
  auto found = opened.keys_.find(name);
  if (found == opened.keys_.end()) {
    ASSIGN_OR_RETURN(auto key, keys_.existing_key(name));
    if (opened.keys_.size() == OpenedKeys::kKeysMax) opened.keys_.clear();
    found = opened.keys_.emplace(std::move(name), std::move(key)).first;
  }
  ASSIGN_OR_RETURN(const auto plain,
                   crypto::open(found->second, record.payload, record_context(record)));
  return std::string(crypto::as_text(plain));
}

Result<store::IndexEntry> RecordSealer::blind_index(std::string_view type, std::string_view name,
                                                    std::string_view value) {
  ASSIGN_OR_RETURN(const auto key, keys_.node_key(kNodeBlindIndexKey));
  const auto tag = crypto::blind_index(*key, fmt::format("{}.{}", type, name), value);
  return store::IndexEntry{std::string(name), store::Bytes(tag.begin(), tag.end())};
}

}  // namespace kavach::vault
