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
#include "store/store.h"
#include "vault/key_vault.h"

namespace kavach::vault {

class RecordSealer {
 public:
  explicit RecordSealer(KeyVault& keys) : keys_(keys) {}

  // Fills record.payload with the sealed plaintext; partition, type, id and version must be set.
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
