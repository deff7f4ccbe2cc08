// KeyVault: the node's data keys, stored wrapped under the key-encryption keys of the key file.
//
// Each patient has one 32-byte data key ("patient/<id>") that seals every payload of that patient;
// node-wide keys ("node/<purpose>") seal records that belong to no patient, key the blind indexes
// and authenticate access tokens. A key is created on first use, wrapped with the active KEK and
// associated data naming the key and the KEK, so a wrapped key moved to another name fails to open.
// erase() destroys a patient's key for good (crypto-shredding); rotate_kek() re-wraps every key
// under a new KEK without touching records.
//
// Node keys are never erased, so they are cached once unwrapped; patient keys are read from the
// store on every use (or once per request, see OpenedKeys), so an erasure by another process (the
// CLI) takes effect at once, or from a request's end.
// Thread-safety: safe from any thread; concurrent first uses of one key converge on one key.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/error.h"
#include "crypto/key_ring.h"
#include "crypto/secret_bytes.h"
#include "store/store.h"

namespace kavach::vault {

// Names of the node-wide keys.
inline constexpr std::string_view kNodeRecordsKey = "node/records";
inline constexpr std::string_view kNodeBlindIndexKey = "node/blind-index";
inline constexpr std::string_view kNodeTokenKey = "node/token";

// The key name of a partition: "patient/<id>", or the node records key for the empty partition.
std::string key_name_for_partition(std::string_view partition);

// The data key in `wrapped`, opened with the ring's KEK that wrapped it: kGone if it was erased,
// kFailedPrecondition if the ring lacks that KEK, kDataLoss if it fails authentication.
Result<crypto::SecretBytes> unwrap_key(const crypto::KeyRing& ring,
                                       const store::WrappedKey& wrapped);
// `key` wrapped under the ring's active KEK, bound to `name` and that KEK.
store::WrappedKey wrap_key(const crypto::KeyRing& ring, std::string name,
                           const crypto::SecretBytes& key, std::int64_t created_at_ms);

// Data keys made for one batch and not yet stored. A first write to a partition (a new patient's
// record) is sealed under a fresh key whose creation commits in the same batch as the record: one
// durable commit rather than two, and no key is ever stored without the record that needed it.
// Every record of the batch in that partition shares the key. If another writer stores a key
// under the same name first, the commit fails with kAlreadyExists and the write is to be prepared
// again (the stored key is then found).
//
// It also keeps the stored keys the batch has used (at most kStoredKeysMax), each read and
// unwrapped once: a transaction of a hundred records of one patient read the patient's key a
// hundred times. As with OpenedKeys, an erasure committed while the batch is prepared takes effect
// at the next request.
class KeysToCreate {
 public:
  static constexpr std::size_t kStoredKeysMax = 64;

  bool empty() const { return writes_.empty(); }
  // Moves the key creations into `batch`.
  void add_to(store::WriteBatch& batch);

 private:
  friend class KeyVault;
  std::map<std::string, crypto::SecretBytes, std::less<>> keys_;  // made for this batch
  std::vector<store::KeyWrite> writes_;
  std::map<std::string, crypto::SecretBytes, std::less<>> stored_;  // read from the store
};

// Partition keys opened during one request, each read from the store and unwrapped once: a search
// opens up to hundreds of records, most of them one patient's. Keep it for one request only: an
// erasure committed meanwhile takes effect at the caller's next request, as if this one had read
// the records a moment earlier. It holds at most kKeysMax keys (a scan over many patients starts
// over when full), so a request never holds thousands of keys in locked memory at once.
class OpenedKeys {
 public:
  static constexpr std::size_t kKeysMax = 64;

 private:
  friend class RecordSealer;
  // By partition, so a hit needs no key name formatted.
  std::map<std::string, crypto::SecretBytes, std::less<>> keys_;
};

struct RotationReport {
  std::size_t rewrapped = 0;
  std::size_t already_current = 0;
  std::size_t erased_skipped = 0;
};

class KeyVault {
 public:
  KeyVault(store::Store& store, const crypto::KeyRing& ring, const Clock& clock)
      : store_(store), ring_(ring), clock_(clock) {}

  // The key under `name`, created if it does not exist; kGone if it was erased.
  Result<crypto::SecretBytes> key(const std::string& name);
  // The key under `name` for sealing a record of a batch not yet committed: the stored key, or the
  // one `batch_keys` made earlier for the name, or a new one that `batch_keys` then holds until
  // the batch commits it. kGone if erased.
  Result<crypto::SecretBytes> key_for_batch(const std::string& name, KeysToCreate& batch_keys);
  // The key under `name` without creating it: kNotFound if absent, kGone if erased.
  Result<crypto::SecretBytes> existing_key(const std::string& name);
  // A node-wide key ("node/..."), created on first use and shared from the cache rather than
  // copied: a blind-index term or a token check costs no allocation and no mlock.
  Result<std::shared_ptr<const crypto::SecretBytes>> node_key(std::string_view name);

  // Destroys the key under `name`; everything sealed with it becomes unreadable for good. `also`
  // commits in the same batch (the audit entry that records the erasure).
  Status erase(const std::string& name, store::WriteBatch also = {});

  // Re-wraps every live key under the ring's active KEK (call after KeyRing::add_key).
  Result<RotationReport> rewrap_all();

 private:
  Result<crypto::SecretBytes> load_or_create(const std::string& name);
  // The stored key under `name`, or a fresh one whose creation (strict) `made` then holds.
  Result<crypto::SecretBytes> stored_or_new(const std::string& name, KeysToCreate& made);

  store::Store& store_;
  const crypto::KeyRing& ring_;
  const Clock& clock_;
  std::mutex node_keys_mutex_;
  std::map<std::string, std::shared_ptr<const crypto::SecretBytes>, std::less<>>
      node_keys_;  // GUARDED_BY(node_keys_mutex_)
};

}  // namespace kavach::vault
