// RecordSealer seals and opens record payloads under their partition's data key, with associated
// data binding partition, type, id and version: a sealed payload copied to another row, patient or
// version fails to open (kDataLoss). It also computes blind-index entries, so identifying values
// are searchable by equality without being stored.
//
// Thread-safety: safe from any thread.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "common/error.h"
#include "crypto/sha256.h"
#include "store/store.h"
#include "vault/key_vault.h"

namespace kavach::vault {

// The SHA-256 of record.payload, which the audit log names as the content of a record read or
// written: the digest stored beside the payload when it was sealed, or, for a version stored
// without one (before schema 8, say), computed. The scrubber checks stored digests against their
// payloads, so one changed beneath Kavach is found like a changed payload.
crypto::Sha256Digest payload_digest(const store::RecordVersion& record);
// Stores record.payload's digest beside it (a restore, which brings sealed payloads as they are).
void attach_payload_digest(store::RecordVersion& record);
// Whether the record's stored digest, if it has one, is its payload's.
bool payload_digest_holds(const store::RecordVersion& record);

class RecordSealer {
 public:
  explicit RecordSealer(KeyVault& keys) : keys_(keys) {}

  // Fills record.payload with the sealed plaintext and record.payload_sha256 with its digest;
  // partition, type, id and version must be set.
  Status seal(store::RecordVersion& record, std::string_view plaintext);
  // The same for a record committed in a batch with `batch_keys` (KeysToCreate): a partition
  // without a key yet gets one created in that batch rather than in a commit of its own.
  Status seal(store::RecordVersion& record, std::string_view plaintext, KeysToCreate& batch_keys);
  // Opens record.payload; kGone if the partition was erased, kDataLoss if it fails authentication.
  Result<std::string> open(const store::RecordVersion& record);
  // The same, taking the partition's key from `opened` when an earlier record of the request
  // opened it.
  Result<std::string> open(const store::RecordVersion& record, OpenedKeys& opened);

  // The index entry for `value` under `name` on resource `type` (a keyed hash of the value).
  Result<store::IndexEntry> blind_index(std::string_view type, std::string_view name,
                                        std::string_view value);

 private:
  KeyVault& keys_;
};

}  // namespace kavach::vault
