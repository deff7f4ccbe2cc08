#include "backup/row_digest.h"

#include <span>
#include <string_view>

#include "crypto/sha256.h"

namespace kavach::backup {
namespace {

// Feeds fields to SHA-256, each with its length first, so that no two rows encode alike.
class RowHasher {
 public:
  explicit RowHasher(std::string_view tag) { bytes(tag); }
  RowHasher& bytes(std::span<const std::uint8_t> value) {
    integer(static_cast<std::int64_t>(value.size()));
    hash_.update(value);
    return *this;
  }
  RowHasher& bytes(std::string_view value) {
    return bytes(std::span(reinterpret_cast<const std::uint8_t*>(value.data()), value.size()));
  }
  RowHasher& integer(std::int64_t value) {
    std::array<std::uint8_t, 8> little{};
    for (std::size_t i = 0; i < little.size(); ++i) {
      little[i] = static_cast<std::uint8_t>(static_cast<std::uint64_t>(value) >> (8 * i));
    }
    hash_.update(little);
    return *this;
  }
  RowDigest::Hash finish() { return hash_.finish(); }

 private:
  crypto::Sha256 hash_;
};

}  // namespace

RowDigest::Hash RowDigest::content_of(const store::RecordVersion& record) {
  return RowHasher("record")
      .bytes(record.partition)
      .bytes(record.type)
      .bytes(record.id)
      .integer(record.version)
      .integer(record.recorded_at_ms)
      .integer(record.deleted ? 1 : 0)
      .bytes(std::span<const std::uint8_t>(record.payload))
      .finish();
}

void RowDigest::add_record(const Hash& content, std::int64_t sequence) {
  add_hash(RowHasher("record-at").bytes(content).integer(sequence).finish());
}

void RowDigest::add(const store::IndexRow& row) {
  add_hash(RowHasher("index")
               .bytes(row.partition)
               .bytes(row.type)
               .bytes(row.id)
               .bytes(row.entry.name)
               .bytes(std::span<const std::uint8_t>(row.entry.value))
               .finish());
}

void RowDigest::add_hash(const Hash& hash) {
  std::uint64_t carry = 0;
  for (std::size_t limb = 0; limb < sum_.size(); ++limb) {
    std::uint64_t part = 0;
    for (std::size_t i = 0; i < 8; ++i) {
      part |= static_cast<std::uint64_t>(hash[limb * 8 + i]) << (8 * i);
    }
    const std::uint64_t before = sum_[limb];
    sum_[limb] = before + part + carry;
    carry = (sum_[limb] < before || (carry != 0 && sum_[limb] == before)) ? 1 : 0;
  }
  ++rows_;
}

}  // namespace kavach::backup
