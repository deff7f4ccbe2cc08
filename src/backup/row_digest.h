// RowDigest: an order-independent digest of a set of stored rows (record versions, index rows),
// so that a restore can compare what it loaded with what the store holds by reading the store
// sequentially, in the store's own key order, rather than one row at a time in change-feed order
// (which is random order on disk once a table is keyed by record id).
//
// Each row is hashed (SHA-256 over a tagged, length-prefixed encoding of every field) and the
// hashes are added modulo 2^256, with a count of rows: a missing, extra, duplicated or changed row
// changes the digest except with negligible probability. It guards against faults (a lost or torn
// write, a store that drops or alters a row); an additive hash is not meant to resist someone who
// picks rows to collide, and whoever can write the target store during a restore could change it
// afterwards anyway.
// Thread-safety: a value; not shared.
#pragma once

#include <array>
#include <cstdint>

#include "store/store.h"

namespace kavach::backup {

class RowDigest {
 public:
  using Hash = std::array<std::uint8_t, 32>;

  // The hash of a record version's content: every field but its change-feed position, which a
  // restore learns only when the store has taken the version. (The expensive part, over the
  // payload, so a restore can compute it on another thread beforehand.)
  static Hash content_of(const store::RecordVersion& record);

  void add(const store::RecordVersion& record) { add_record(content_of(record), record.sequence); }
  // A record version by its content hash and the change-feed position the store gave it.
  void add_record(const Hash& content, std::int64_t sequence);
  void add(const store::IndexRow& row);

  std::int64_t rows() const { return rows_; }
  bool operator==(const RowDigest&) const = default;

 private:
  void add_hash(const Hash& hash);

  std::array<std::uint64_t, 4> sum_{};  // little-endian limbs of a 256-bit number
  std::int64_t rows_ = 0;
};

}  // namespace kavach::backup
