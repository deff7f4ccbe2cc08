// AuditLog: the node's tamper-evident log of every access and change, as a Merkle tree with
// signed checkpoints.
//
// Entries are appended by the domains themselves, in the same store batch as the action they
// record (append_entry) or, for reads and refusals, committed before the answer leaves the node
// (record_entries): an action that is not logged does not happen. The store numbers entries in
// commit order.
//
// AuditLog integrates what was appended into the tiled tree (audit/tiled_tree.h), stores the new
// full tiles and signs a C2SP tlog-checkpoint over the new size and root, all in one batch; a
// background thread does so every checkpoint interval while there are new entries. It serves
// checkpoints, tiles, entry bundles and RFC 9162 proofs for the checkpointed tree.
//
// At open it restores the tree from the latest stored checkpoint and refuses to start when the
// stored tiles do not hash to that checkpoint's signed root: signing new checkpoints over a
// damaged tree would launder the damage. `kavach audit verify` then finds what was changed.
//
// Thread-safety: safe from any thread. One integration runs at a time; proofs and tiles are read
// concurrently with it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "audit/audit_entry.h"
#include "audit/merkle_tree.h"
#include "audit/signed_note.h"
#include "audit/tiled_tree.h"
#include "common/clock.h"
#include "common/error.h"
#include "store/store.h"
#include "vault/key_vault.h"

namespace kavach::audit {

// The vault key whose 32 bytes are the node's Ed25519 checkpoint-signing seed.
inline constexpr std::string_view kAuditSigningKey = "node/audit-signing";
// Entries integrated per checkpoint at most, so a backlog becomes a series of bounded batches.
inline constexpr std::size_t kIntegrateEntriesMax = 65'536;

// Adds `entry` to `batch`, so that it commits with the action it records.
Status append_entry(store::WriteBatch& batch, const AuditEntry& entry);
// Commits `entries` on their own and returns once they are durable; under a QueuedEntries on this
// thread, once they are queued, leaving their ticket to it.
Status record_entries(store::Store& store, std::span<const AuditEntry> entries);

// While one is alive on a thread, record_entries there queues its commits rather than waiting for
// them, and keeps their tickets. Whoever holds it must see every ticket done before anything the
// entries record reaches the caller: a FHIR read is answered only once its access is logged
// (http::Response::durable_first), but no thread waits for the fsync meanwhile. Only for work that
// does nothing after logging but answer; nested scopes keep their own tickets.
class QueuedEntries {
 public:
  QueuedEntries();
  ~QueuedEntries();
  QueuedEntries(const QueuedEntries&) = delete;
  QueuedEntries& operator=(const QueuedEntries&) = delete;

  // The tickets of the commits queued so far, handed over.
  std::vector<store::CommitTicket> take();

 private:
  friend Status record_entries(store::Store&, std::span<const AuditEntry>);
  std::vector<store::CommitTicket> tickets_;
  QueuedEntries* outer_;
};

// The node's checkpoint signer: the vault's signing seed under `origin`, or, when `origin` is
// empty, under "kavach/<first 16 hex digits of SHA-256 of the public key>", a name that stays the
// same for the life of the node.
Result<NoteSigner> node_audit_signer(vault::KeyVault& keys, std::string origin);
// The same from the signing seed itself (a backup's copy of the node's keys).
Result<NoteSigner> node_audit_signer_from_seed(const crypto::SecretBytes& seed, std::string origin);

struct AuditLogOptions {
  std::chrono::milliseconds checkpoint_interval{1000};  // "at least once a second"
  std::size_t cached_leaf_tiles_max = 1024;             // 8 KiB each
};

class AuditLog {
 public:
  static Result<std::unique_ptr<AuditLog>> open(store::Store& store, NoteSigner signer,
                                                const Clock& clock, AuditLogOptions options = {});
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Starts the background checkpointer; the destructor stops it.
  void start();
  // Integrates every entry appended so far (in bounded steps) and checkpoints each step; returns
  // the latest checkpoint, if the log has any entry.
  Result<std::optional<store::StoredCheckpoint>> checkpoint_now();

  std::optional<store::StoredCheckpoint> latest_checkpoint() const;
  const std::string& origin() const { return signer_.name(); }
  std::string verifier_key() const { return signer_.verifier_key(); }
  std::uint64_t size() const;

  // Proofs within the checkpointed tree; kInvalidArgument for sizes or indexes beyond it.
  Result<std::vector<Hash>> inclusion_proof(std::uint64_t index, std::uint64_t size) const;
  Result<std::vector<Hash>> consistency_proof(std::uint64_t old_size, std::uint64_t size) const;
  // The tlog-tiles resources: hash tile bytes, and entry bundles (each entry prefixed by its
  // length as two big-endian bytes); kNotFound beyond the checkpointed tree.
  Result<store::Bytes> hash_tile(int level, std::uint64_t index, std::uint64_t width) const;
  Result<store::Bytes> entry_bundle(std::uint64_t index, std::uint64_t width) const;

 private:
  AuditLog(store::Store& store, NoteSigner signer, const Clock& clock, AuditLogOptions options);
  Status restore();
  // One bounded step; false when there was nothing new.
  Result<bool> integrate_step();
  Result<TileHashes> read_full_tile(int level, std::uint64_t index) const;
  void run_checkpointer();

  store::Store& store_;
  const NoteSigner signer_;
  const Clock& clock_;
  const AuditLogOptions options_;

  std::mutex integrate_mutex_;  // one integration at a time

  mutable std::shared_mutex tree_mutex_;
  TiledTree tree_;                                 // GUARDED_BY(tree_mutex_)
  std::optional<store::StoredCheckpoint> latest_;  // GUARDED_BY(tree_mutex_)

  mutable std::mutex cache_mutex_;
  mutable std::map<std::pair<int, std::uint64_t>, TileHashes> tile_cache_;  // GUARDED_BY(cache_)
  mutable std::size_t cached_leaf_tiles_ = 0;                               // GUARDED_BY(cache_)

  std::mutex stop_mutex_;
  std::condition_variable stop_changed_;
  bool stopping_ = false;  // GUARDED_BY(stop_mutex_)
  std::thread checkpointer_;
};

}  // namespace kavach::audit
