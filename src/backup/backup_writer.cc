#include "backup/backup_writer.h"

#include <set>

#include <fmt/format.h>

#include "common/limits.h"
#include "crypto/sodium.h"
#include "vault/key_vault.h"

namespace kavach::backup {
namespace {

// Key chunks are cut at content-defined boundaries (ends_key_chunk) and at this many keys at most.
constexpr std::size_t kKeysPerChunkMax = 4 * kKeysPerChunk;

std::size_t encoded_size(const RecordEntry& entry) {
  std::size_t size = entry.record.partition.size() + entry.record.type.size() +
                     entry.record.id.size() + entry.record.payload.size() + 96;
  for (const auto& index : entry.index) size += index.name.size() + index.value.size() + 16;
  return size;
}

}  // namespace

Result<Bytes> fetch_object(Repository& repository, const BackupKey& key, const std::string& id) {
  ASSIGN_OR_RETURN(const Bytes object, repository.get_object(id));
  if (object_id(object) != id) {
    return make_error(ErrorCode::kDataLoss,
                      fmt::format("backup object {} does not hash to its id: it was changed or "
                                  "damaged in the repository",
                                  id));
  }
  auto opened = key.open_object(object);
  if (!opened) {
    return make_error(
        ErrorCode::kDataLoss,
        fmt::format("backup object {} failed authentication: {}", id, opened.error().message));
  }
  return opened;
}

Result<std::optional<std::pair<std::string, Manifest>>> latest_snapshot(Repository& repository,
                                                                        const BackupKey& key) {
  ASSIGN_OR_RETURN(const auto snapshots, repository.snapshots());
  if (snapshots.empty()) return std::nullopt;
  const std::string& id = snapshots.back().id;
  ASSIGN_OR_RETURN(const Bytes bytes, fetch_object(repository, key, id));
  ASSIGN_OR_RETURN(auto manifest, decode_manifest(bytes));
  return std::make_pair(id, std::move(manifest));
}

// One snapshot in the making: the objects it sends and the manifest it builds.
class BackupWriter::Session {
 public:
  Session(BackupWriter& writer, const SnapshotOptions& options)
      : writer_(writer), options_(options) {}

  Result<SnapshotSummary> run() {
    std::optional<std::pair<std::string, Manifest>> parent;
    if (!options_.full) {
      ASSIGN_OR_RETURN(parent, latest_snapshot(writer_.repository_, writer_.key_));
    }
    if (parent) {
      manifest_ = parent->second;
      manifest_.parent = parent->first;
      parent_key_chunks_ = manifest_.key_chunks;
      parent_objects_ = {manifest_.key_chunks.begin(), manifest_.key_chunks.end()};
      manifest_.record_segments.clear();
      manifest_.audit_segments.clear();
      manifest_.tile_segments.clear();
      manifest_.checkpoint_segments.clear();
      manifest_.key_chunks.clear();
    }
    manifest_.source_backend = std::string(writer_.store_.backend_name());
    RETURN_IF_ERROR(copy_records());
    RETURN_IF_ERROR(copy_keys());
    RETURN_IF_ERROR(copy_checkpoints());
    RETURN_IF_ERROR(copy_tiles());
    RETURN_IF_ERROR(copy_audit_entries());
    if (parent && nothing_new()) {
      // The repository's latest snapshot already is this state: list nothing.
      summary_.id = parent->first;
      summary_.manifest = parent->second;
      summary_.unchanged = true;
      return summary_;
    }
    manifest_.created_at_ms = unix_ms(writer_.clock_.now());

    ASSIGN_OR_RETURN(summary_.id, send(encode_manifest(manifest_)));
    added_.push_back(summary_.id);
    RETURN_IF_ERROR(
        writer_.repository_.add_snapshot(SnapshotEntry{summary_.id, manifest_.parent, added_, 0}));
    summary_.manifest = manifest_;
    return summary_;
  }

 private:
  bool nothing_new() const {
    return manifest_.record_segments.empty() && manifest_.audit_segments.empty() &&
           manifest_.tile_segments.empty() && manifest_.checkpoint_segments.empty() &&
           manifest_.key_chunks == parent_key_chunks_;
  }

  // Seals, and sends unless the repository holds it; returns the object's id.
  Result<std::string> send(Bytes plaintext) {
    const Bytes object = writer_.key_.seal_object(plaintext);
    crypto::wipe(plaintext);
    std::string id = object_id(object);
    ASSIGN_OR_RETURN(const auto missing, writer_.repository_.missing_objects({id}));
    if (missing.empty()) {
      ++summary_.objects_reused;
    } else {
      RETURN_IF_ERROR(writer_.repository_.put_object(id, object));
      ++summary_.objects_sent;
      summary_.bytes_sent += static_cast<std::int64_t>(object.size());
    }
    if (!parent_objects_.contains(id)) added_.push_back(id);
    return id;
  }

  Status copy_records() {
    std::vector<RecordEntry> segment;
    std::size_t segment_size = 0;
    auto flush = [&]() -> Status {
      if (segment.empty()) return {};
      ASSIGN_OR_RETURN(auto id, send(encode_records(segment)));
      manifest_.record_segments.push_back(std::move(id));
      segment.clear();
      segment_size = 0;
      return {};
    };
    // Read to the end of the feed: a version replaced meanwhile has its successor further on.
    for (;;) {
      ASSIGN_OR_RETURN(auto page, writer_.store_.changes_since(manifest_.records_through_sequence,
                                                               limits::kPageSizeMax));
      if (page.empty()) break;
      for (auto& record : page) {
        RecordEntry entry;
        if (record.deleted) {
          entry.has_index = true;  // a tombstone has none
        } else {
          ASSIGN_OR_RETURN(entry.index, writer_.store_.index_entries(record.type, record.id));
          // Read after the index: if this version is still current, the index was its own.
          ASSIGN_OR_RETURN(const auto current, writer_.store_.read_current(record.type, record.id));
          entry.has_index = current && current->version == record.version;
          if (!entry.has_index) entry.index.clear();
        }
        manifest_.records_through_sequence = record.sequence;
        ++manifest_.record_versions;
        ++summary_.new_record_versions;
        entry.record = std::move(record);
        segment_size += encoded_size(entry);
        segment.push_back(std::move(entry));
        if (segment_size >= options_.segment_bytes) RETURN_IF_ERROR(flush());
      }
    }
    return flush();
  }

  Status copy_keys() {
    manifest_.keys = 0;
    manifest_.erased_keys = 0;
    std::vector<KeyEntry> chunk;
    auto flush = [&]() -> Status {
      if (chunk.empty()) return {};
      ASSIGN_OR_RETURN(auto id, send(encode_keys(chunk)));
      manifest_.key_chunks.push_back(std::move(id));
      chunk.clear();
      return {};
    };
    std::string after;
    for (;;) {
      ASSIGN_OR_RETURN(const auto page, writer_.store_.list_keys(after, limits::kPageSizeMax));
      if (page.empty()) break;
      for (const auto& wrapped : page) {
        KeyEntry entry{wrapped.name, {}, wrapped.created_at_ms, wrapped.erased_at_ms};
        if (wrapped.erased()) {
          ++manifest_.erased_keys;
        } else {
          ASSIGN_OR_RETURN(entry.key, vault::unwrap_key(writer_.ring_, wrapped));
        }
        ++manifest_.keys;
        chunk.push_back(std::move(entry));
        if (ends_key_chunk(wrapped.name) || chunk.size() >= kKeysPerChunkMax) {
          RETURN_IF_ERROR(flush());
        }
      }
      after = page.back().name;
    }
    return flush();
  }

  Status copy_checkpoints() {
    std::vector<store::StoredCheckpoint> all;
    for (;;) {
      ASSIGN_OR_RETURN(auto page, writer_.store_.read_checkpoints(
                                      manifest_.checkpoints_through_size, limits::kPageSizeMax));
      if (page.empty()) break;
      manifest_.checkpoints_through_size = page.back().size;
      all.insert(all.end(), std::make_move_iterator(page.begin()),
                 std::make_move_iterator(page.end()));
      if (all.size() >= 4096) {
        ASSIGN_OR_RETURN(auto id, send(encode_checkpoints(all)));
        manifest_.checkpoint_segments.push_back(std::move(id));
        all.clear();
      }
    }
    if (all.empty()) return {};
    ASSIGN_OR_RETURN(auto id, send(encode_checkpoints(all)));
    manifest_.checkpoint_segments.push_back(std::move(id));
    return {};
  }

  Status copy_tiles() {
    std::vector<store::AuditTile> all;
    for (int level = 0;; ++level) {
      if (manifest_.tiles_per_level.size() <= static_cast<std::size_t>(level)) {
        manifest_.tiles_per_level.push_back(0);
      }
      auto& stored = manifest_.tiles_per_level[level];
      for (;;) {
        ASSIGN_OR_RETURN(auto page,
                         writer_.store_.read_audit_tiles(level, stored, limits::kPageSizeMax));
        if (page.empty()) break;
        stored = page.back().index + 1;
        all.insert(all.end(), std::make_move_iterator(page.begin()),
                   std::make_move_iterator(page.end()));
        if (all.size() >= 1024) {
          ASSIGN_OR_RETURN(auto id, send(encode_tiles(all)));
          manifest_.tile_segments.push_back(std::move(id));
          all.clear();
        }
      }
      if (stored == 0) {
        manifest_.tiles_per_level.resize(level);  // no tile at this level, nor above it
        break;
      }
    }
    if (all.empty()) return {};
    ASSIGN_OR_RETURN(auto id, send(encode_tiles(all)));
    manifest_.tile_segments.push_back(std::move(id));
    return {};
  }

  Status copy_audit_entries() {
    std::vector<store::StoredAuditEntry> segment;
    std::size_t segment_size = 0;
    auto flush = [&]() -> Status {
      if (segment.empty()) return {};
      ASSIGN_OR_RETURN(auto id, send(encode_audit_entries(segment)));
      manifest_.audit_segments.push_back(std::move(id));
      segment.clear();
      segment_size = 0;
      return {};
    };
    for (;;) {
      ASSIGN_OR_RETURN(
          auto page, writer_.store_.read_audit_entries(manifest_.audit_size, limits::kPageSizeMax));
      if (page.empty()) break;
      for (auto& entry : page) {
        if (entry.index != manifest_.audit_size) {
          return make_error(ErrorCode::kDataLoss,
                            fmt::format("the audit log has no entry {} (the next is {}); run "
                                        "kavach audit verify",
                                        manifest_.audit_size, entry.index));
        }
        ++manifest_.audit_size;
        ++summary_.new_audit_entries;
        segment_size += entry.entry.size() + entry.subject.size() + 32;
        segment.push_back(std::move(entry));
        if (segment_size >= options_.segment_bytes) RETURN_IF_ERROR(flush());
      }
    }
    return flush();
  }

  BackupWriter& writer_;
  const SnapshotOptions& options_;
  Manifest manifest_;
  std::vector<std::string> parent_key_chunks_;
  std::set<std::string> parent_objects_;  // objects the parent named, so listed already
  std::vector<std::string> added_;        // objects this snapshot names that its parent did not
  SnapshotSummary summary_;
};

Result<SnapshotSummary> BackupWriter::take_snapshot(const SnapshotOptions& options) {
  return Session(*this, options).run();
}

}  // namespace kavach::backup
