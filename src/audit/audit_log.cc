#include "audit/audit_log.h"

#include <utility>

#include <fmt/format.h>

#include "common/log.h"
#include "common/time_format.h"
#include "crypto/encoding.h"

namespace kavach::audit {

Status append_entry(store::WriteBatch& batch, const AuditEntry& entry) {
  ASSIGN_OR_RETURN(auto encoded, encode_entry(entry));
  batch.audit.push_back(store::AuditAppend{entry.subject, std::move(encoded)});
  return {};
}

namespace {

thread_local QueuedEntries* queued_entries = nullptr;

}  // namespace

Status record_entries(store::Store& store, std::span<const AuditEntry> entries) {
  store::WriteBatch batch;
  for (const auto& entry : entries) RETURN_IF_ERROR(append_entry(batch, entry));
  if (queued_entries != nullptr) {
    queued_entries->tickets_.push_back(store.commit_queued(std::move(batch)));
    return {};
  }
  RETURN_IF_ERROR(store.commit(std::move(batch)));
  return {};
}

QueuedEntries::QueuedEntries() : outer_(queued_entries) { queued_entries = this; }

QueuedEntries::~QueuedEntries() { queued_entries = outer_; }

std::vector<store::CommitTicket> QueuedEntries::take() { return std::exchange(tickets_, {}); }

Result<NoteSigner> node_audit_signer(vault::KeyVault& keys, std::string origin) {
  ASSIGN_OR_RETURN(const auto seed, keys.key(std::string(kAuditSigningKey)));
  return node_audit_signer_from_seed(seed, std::move(origin));
}

Result<NoteSigner> node_audit_signer_from_seed(const crypto::SecretBytes& seed,
                                               std::string origin) {
  if (!origin.empty()) return NoteSigner::from_seed(origin, seed);
  ASSIGN_OR_RETURN(const auto provisional, NoteSigner::from_seed("kavach", seed));
  const Hash fingerprint = sha256(provisional.public_key());
  return NoteSigner::from_seed(
      "kavach/" + crypto::to_hex(std::span<const std::uint8_t>(fingerprint).first(8)), seed);
}

AuditLog::AuditLog(store::Store& store, NoteSigner signer, const Clock& clock,
                   AuditLogOptions options)
    : store_(store),
      signer_(std::move(signer)),
      clock_(clock),
      options_(options),
      tree_([this](int level, std::uint64_t index) { return read_full_tile(level, index); }) {}

Result<std::unique_ptr<AuditLog>> AuditLog::open(store::Store& store, NoteSigner signer,
                                                 const Clock& clock, AuditLogOptions options) {
  std::unique_ptr<AuditLog> log(new AuditLog(store, std::move(signer), clock, options));
  RETURN_IF_ERROR(log->restore());
  RETURN_IF_ERROR(log->checkpoint_now());
  return log;
}

AuditLog::~AuditLog() {
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_changed_.notify_all();
  if (checkpointer_.joinable()) checkpointer_.join();
}

Status AuditLog::restore() {
  ASSIGN_OR_RETURN(const auto stored, store_.latest_checkpoint());
  if (!stored) return {};
  ASSIGN_OR_RETURN(const auto verifier, NoteVerifier::parse(signer_.verifier_key()));
  auto damaged = [&](std::string what) {
    return make_error(ErrorCode::kDataLoss,
                      fmt::format("the audit log's latest checkpoint (size {}) {}; run `kavach "
                                  "audit verify` to find what changed",
                                  stored->size, what));
  };
  auto text = verifier.open(stored->note);
  if (!text) return damaged("is not signed by this node's key: " + text.error().message);
  ASSIGN_OR_RETURN(const auto checkpoint, parse_checkpoint(*text));
  if (checkpoint.origin != origin() ||
      checkpoint.size != static_cast<std::uint64_t>(stored->size)) {
    return damaged("names another log or size");
  }
  const std::uint64_t edge_begin = checkpoint.size - checkpoint.size % kTileWidth;
  ASSIGN_OR_RETURN(const auto edge_entries,
                   store_.read_audit_entries(static_cast<std::int64_t>(edge_begin), kTileWidth));
  std::vector<Hash> edge;
  for (const auto& entry : edge_entries) {
    if (edge.size() == checkpoint.size % kTileWidth) break;
    edge.push_back(leaf_hash(entry.entry));
  }
  std::unique_lock lock(tree_mutex_);
  if (auto restored = tree_.restore(checkpoint.size, edge); !restored) {
    return damaged(restored.error().message);
  }
  auto root = tree_.root();
  if (!root) return damaged(root.error().message);
  if (*root != checkpoint.root) return damaged("does not match the stored tree");
  latest_ = *stored;
  return {};
}

void AuditLog::start() {
  checkpointer_ = std::thread([this] { run_checkpointer(); });
}

void AuditLog::run_checkpointer() {
  std::unique_lock lock(stop_mutex_);
  while (!stopping_) {
    stop_changed_.wait_for(lock, options_.checkpoint_interval, [&] { return stopping_; });
    if (stopping_) return;
    lock.unlock();
    if (auto done = checkpoint_now(); !done) {
      log::error("audit.checkpoint_failed", {{"error", done.error().message}});
    }
    lock.lock();
  }
}

Result<std::optional<store::StoredCheckpoint>> AuditLog::checkpoint_now() {
  std::lock_guard integrating(integrate_mutex_);
  for (;;) {
    ASSIGN_OR_RETURN(const bool grew, integrate_step());
    if (!grew) break;
  }
  return latest_checkpoint();
}

Result<bool> AuditLog::integrate_step() {
  // Only this thread changes tree_, so it reads it without the lock and grows a copy.
  TiledTree next = tree_;
  std::vector<store::AuditTile> tiles;
  std::size_t integrated = 0;
  while (integrated < kIntegrateEntriesMax) {
    ASSIGN_OR_RETURN(const auto entries,
                     store_.read_audit_entries(static_cast<std::int64_t>(next.size()),
                                               kIntegrateEntriesMax - integrated));
    if (entries.empty()) break;
    std::vector<Hash> leaves;
    leaves.reserve(entries.size());
    for (const auto& entry : entries) {
      if (static_cast<std::uint64_t>(entry.index) != next.size() + leaves.size()) {
        return make_error(ErrorCode::kDataLoss,
                          fmt::format("audit entry {} is missing", next.size() + leaves.size()));
      }
      leaves.push_back(leaf_hash(entry.entry));
    }
    auto completed = next.append(leaves);
    tiles.insert(tiles.end(), std::make_move_iterator(completed.begin()),
                 std::make_move_iterator(completed.end()));
    integrated += entries.size();
  }
  if (integrated == 0) return false;

  ASSIGN_OR_RETURN(const Hash root, next.root());
  ASSIGN_OR_RETURN(auto note,
                   signer_.sign(checkpoint_text(Checkpoint{origin(), next.size(), root})));
  store::StoredCheckpoint checkpoint{static_cast<std::int64_t>(next.size()), std::move(note),
                                     unix_ms(clock_.now())};
  store::WriteBatch batch;
  batch.audit_tiles = tiles;
  batch.checkpoints.push_back(checkpoint);
  RETURN_IF_ERROR(store_.commit(std::move(batch)));
  next.forget_completed();
  std::unique_lock lock(tree_mutex_);
  tree_ = std::move(next);
  latest_ = std::move(checkpoint);
  return true;
}

Result<TileHashes> AuditLog::read_full_tile(int level, std::uint64_t index) const {
  const std::pair key{level, index};
  {
    std::lock_guard lock(cache_mutex_);
    if (const auto found = tile_cache_.find(key); found != tile_cache_.end()) return found->second;
  }
  ASSIGN_OR_RETURN(const auto stored,
                   store_.read_audit_tiles(level, static_cast<std::int64_t>(index), 1));
  if (stored.empty() || stored.front().index != static_cast<std::int64_t>(index)) {
    return make_error(ErrorCode::kDataLoss,
                      fmt::format("audit tile {}/{} is missing from the store", level, index));
  }
  auto hashes = tile_hashes(stored.front().hashes);
  if (!hashes || hashes->size() != kTileWidth) {
    return make_error(ErrorCode::kDataLoss,
                      fmt::format("audit tile {}/{} in the store is malformed", level, index));
  }
  auto tile = std::make_shared<const std::vector<Hash>>(std::move(*hashes));
  std::lock_guard lock(cache_mutex_);
  if (level == 0) {
    // Leaf tiles grow with the log; past the bound the cache starts over (higher levels are
    // 256 times smaller and stay).
    if (cached_leaf_tiles_ >= options_.cached_leaf_tiles_max) {
      std::erase_if(tile_cache_, [](const auto& cached) { return cached.first.first == 0; });
      cached_leaf_tiles_ = 0;
    }
    ++cached_leaf_tiles_;
  }
  tile_cache_.emplace(key, tile);
  return tile;
}

std::optional<store::StoredCheckpoint> AuditLog::latest_checkpoint() const {
  std::shared_lock lock(tree_mutex_);
  return latest_;
}

std::uint64_t AuditLog::size() const {
  std::shared_lock lock(tree_mutex_);
  return tree_.size();
}

Result<std::vector<Hash>> AuditLog::inclusion_proof(std::uint64_t index, std::uint64_t size) const {
  std::shared_lock lock(tree_mutex_);
  if (size > tree_.size()) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("the checkpointed log has {} entries", tree_.size()));
  }
  return audit::inclusion_proof(size, index, tree_.reader());
}

Result<std::vector<Hash>> AuditLog::consistency_proof(std::uint64_t old_size,
                                                      std::uint64_t size) const {
  std::shared_lock lock(tree_mutex_);
  if (size > tree_.size()) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("the checkpointed log has {} entries", tree_.size()));
  }
  return audit::consistency_proof(size, old_size, tree_.reader());
}

Result<store::Bytes> AuditLog::hash_tile(int level, std::uint64_t index,
                                         std::uint64_t width) const {
  std::shared_lock lock(tree_mutex_);
  ASSIGN_OR_RETURN(const auto hashes, tree_.tile(level, index, width));
  return tile_bytes(hashes);
}

Result<store::Bytes> AuditLog::entry_bundle(std::uint64_t index, std::uint64_t width) const {
  if (width == 0 || width > kTileWidth || index > (std::uint64_t{1} << 55) ||
      index * kTileWidth + width > size()) {
    return make_error(ErrorCode::kNotFound,
                      fmt::format("the log has no entry bundle {} of width {}", index, width));
  }
  ASSIGN_OR_RETURN(const auto entries,
                   store_.read_audit_entries(static_cast<std::int64_t>(index * kTileWidth), width));
  if (entries.size() != width) {
    return make_error(ErrorCode::kDataLoss, "audit entries are missing from the store");
  }
  store::Bytes bundle;
  for (const auto& entry : entries) {
    bundle.push_back(static_cast<std::uint8_t>(entry.entry.size() >> 8));
    bundle.push_back(static_cast<std::uint8_t>(entry.entry.size() & 0xff));
    bundle.insert(bundle.end(), entry.entry.begin(), entry.entry.end());
  }
  return bundle;
}

}  // namespace kavach::audit
