#include "vault/record_sealer.h"

#include <fmt/format.h>

#include <algorithm>

#include "crypto/aead.h"
#include "crypto/keyed_hash.h"

namespace kavach::vault {
namespace {

// Built by appending rather than by fmt::format: a search builds one per record it opens, and
// formatting them was about 1% of a search.
std::string record_context(const store::RecordVersion& record) {
  constexpr std::string_view kPrefix = "kavach/record/v1\n";
  const auto version = fmt::format_int(record.version);
  std::string context;
  context.reserve(kPrefix.size() + record.partition.size() + record.type.size() + record.id.size() +
                  version.size() + 3);
  context.append(kPrefix)
      .append(record.partition)
      .append(1, '\n')
      .append(record.type)
      .append(1, '\n')
      .append(record.id)
      .append(1, '\n')
      .append(version.data(), version.size());
  return context;
}

void seal_under(const crypto::SecretBytes& key, store::RecordVersion& record,
                std::string_view plaintext) {
  record.payload = crypto::seal(key, crypto::as_bytes(plaintext), record_context(record));
  attach_payload_digest(record);
}

}  // namespace

crypto::Sha256Digest payload_digest(const store::RecordVersion& record) {
  crypto::Sha256Digest digest{};
  if (record.payload_sha256.size() == digest.size()) {
    std::copy(record.payload_sha256.begin(), record.payload_sha256.end(), digest.begin());
    return digest;
  }
  return crypto::sha256(record.payload);
}

void attach_payload_digest(store::RecordVersion& record) {
  const auto digest = crypto::sha256(record.payload);
  record.payload_sha256.assign(digest.begin(), digest.end());
}

bool payload_digest_holds(const store::RecordVersion& record) {
  if (record.payload_sha256.empty()) return true;
  const auto digest = crypto::sha256(record.payload);
  return std::equal(digest.begin(), digest.end(), record.payload_sha256.begin(),
                    record.payload_sha256.end());
}

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
  auto found = opened.keys_.find(record.partition);
  if (found == opened.keys_.end()) {
    ASSIGN_OR_RETURN(auto key, keys_.existing_key(key_name_for_partition(record.partition)));
    if (opened.keys_.size() == OpenedKeys::kKeysMax) opened.keys_.clear();
    found = opened.keys_.emplace(record.partition, std::move(key)).first;
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
