#include "backup/restorer.h"

#include <chrono>
#include <future>
#include <map>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "backup/backup_writer.h"
#include "backup/row_digest.h"
#include "common/limits.h"
#include "common/log.h"
#include "crypto/sodium.h"
#include "vault/key_vault.h"
#include "vault/record_sealer.h"

namespace kavach::backup {
namespace {

constexpr std::size_t kRecordsPerCommit = limits::kWriteBatchOperationsMax;

Error differs(std::string_view what) {
  return Error{ErrorCode::kDataLoss,
               fmt::format("the restored store differs from the snapshot: {}", what)};
}

bool same_record(const store::RecordVersion& a, const store::RecordVersion& b) {
  return a.partition == b.partition && a.type == b.type && a.id == b.id && a.version == b.version &&
         a.recorded_at_ms == b.recorded_at_ms && a.deleted == b.deleted && a.payload == b.payload;
}

bool same_key_bytes(const crypto::SecretBytes& a, const crypto::SecretBytes& b) {
  return a.size() == b.size() && std::equal(a.view().begin(), a.view().end(), b.view().begin());
}

template <typename Decoded, typename Decoder>
Result<Decoded> fetch_decoded(Repository& repository, const BackupKey& key, const std::string& id,
                              Decoder decode) {
  ASSIGN_OR_RETURN(Bytes plaintext, fetch_object(repository, key, id));
  auto decoded = decode(plaintext);
  crypto::wipe(plaintext);
  return decoded;
}

// Logs how long each step of a restore took (backup.restore_phase), for hospital IT watching a
// long restore and for the benchmark's breakdown.
class PhaseClock {
 public:
  void done(std::string_view phase) {
    const auto now = std::chrono::steady_clock::now();
    log::info(
        "backup.restore_phase",
        {{"phase", std::string(phase)},
         {"seconds", fmt::format("{:.1f}", std::chrono::duration<double>(now - last_).count())}});
    last_ = now;
  }

 private:
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

class Restorer {
 public:
  // `ring` may be null for an audit-only restore, which writes no key.
  Restorer(Repository& repository, const BackupKey& key, store::Store& target,
           const crypto::KeyRing* ring)
      : repository_(repository), key_(key), target_(target), ring_(ring) {}

  Result<RestoreReport> run(const std::string& snapshot, bool audit_only) {
    RETURN_IF_ERROR(check_target_empty());
    ASSIGN_OR_RETURN(const auto chain, snapshot_chain(repository_, key_, snapshot));
    const Manifest& last = chain.back().second;
    report_.snapshot = snapshot;
    report_.snapshot_created_at_ms = last.created_at_ms;
    report_.chain_length = chain.size();
    // Everything goes in through one bulk load (the fast path of an empty store); the records are
    // read back and compared once it is finished, when the index is queryable.
    ASSIGN_OR_RETURN(load_, target_.begin_bulk_load());
    PhaseClock phases;
    if (!audit_only) {
      RETURN_IF_ERROR(find_last_versions(chain));
      phases.done("last_versions");
      ASSIGN_OR_RETURN(const auto erasures, later_erasures(snapshot));
      RETURN_IF_ERROR(restore_keys(last, erasures));
      RETURN_IF_ERROR(for_each_record_segment(
          chain, /*with_hashes=*/true,
          [this](const DecodedSegment& segment) { return load_records(segment); }));
      phases.done("load_records");
    }
    RETURN_IF_ERROR(restore_audit_parts(chain));
    phases.done("load_audit_log");
    RETURN_IF_ERROR(load_->finish());
    phases.done("finish_load");
    if (!audit_only) {
      RETURN_IF_ERROR(verify_records(chain));
      phases.done("verify_records");
    }
    if ((!audit_only && report_.record_versions != last.record_versions) ||
        report_.audit_entries != last.audit_size) {
      return tl::unexpected(differs(fmt::format(
          "the chain holds {} record versions and {} audit entries, its manifest says {} and {}",
          report_.record_versions, report_.audit_entries, last.record_versions, last.audit_size)));
    }
    return report_;
  }

 private:
  Status restore_audit_parts(const std::vector<std::pair<std::string, Manifest>>& chain) {
    for (const auto& [id, manifest] : chain) {
      for (const auto& segment : manifest.audit_segments) RETURN_IF_ERROR(restore_audit(segment));
    }
    for (const auto& [id, manifest] : chain) {
      for (const auto& segment : manifest.tile_segments) RETURN_IF_ERROR(restore_tiles(segment));
      for (const auto& segment : manifest.checkpoint_segments) {
        RETURN_IF_ERROR(restore_checkpoints(segment));
      }
    }
    return {};
  }

  Status check_target_empty() {
    ASSIGN_OR_RETURN(const auto records, target_.changes_since(0, 1));
    ASSIGN_OR_RETURN(const auto keys, target_.list_keys("", 1));
    ASSIGN_OR_RETURN(const auto audit_size, target_.audit_size());
    if (!records.empty() || !keys.empty() || audit_size != 0) {
      return make_error(ErrorCode::kFailedPrecondition,
                        "a restore needs an empty store; choose a new directory or database");
    }
    return {};
  }

  // Keys erased in snapshots listed after `snapshot`, with when they were erased.
  Result<std::map<std::string, std::int64_t>> later_erasures(const std::string& snapshot) {
    std::map<std::string, std::int64_t> erased;
    ASSIGN_OR_RETURN(const auto latest, latest_snapshot(repository_, key_));
    if (!latest || latest->first == snapshot) return erased;
    for (const auto& chunk : latest->second.key_chunks) {
      ASSIGN_OR_RETURN(const auto keys,
                       fetch_decoded<std::vector<KeyEntry>>(repository_, key_, chunk, decode_keys));
      for (const auto& key : keys) {
        if (key.erased_at_ms != 0) erased[key.name] = key.erased_at_ms;
      }
    }
    return erased;
  }

  Status restore_keys(const Manifest& manifest,
                      const std::map<std::string, std::int64_t>& later_erasures) {
    for (const auto& chunk : manifest.key_chunks) {
      ASSIGN_OR_RETURN(auto keys,
                       fetch_decoded<std::vector<KeyEntry>>(repository_, key_, chunk, decode_keys));
      store::WriteBatch batch;
      for (auto& key : keys) {
        if (key.erased_at_ms == 0) {
          if (const auto later = later_erasures.find(key.name); later != later_erasures.end()) {
            key.erased_at_ms = later->second;
            key.key = crypto::SecretBytes();
            ++report_.erased_since_snapshot;
          }
        }
        store::KeyWrite create;
        create.kind = store::KeyWrite::Kind::kCreateIfAbsent;
        if (key.erased_at_ms == 0) {
          create.key = vault::wrap_key(*ring_, key.name, key.key, key.created_at_ms);
        } else {
          create.key = store::WrappedKey{key.name, ring_->active().id, {}, key.created_at_ms, 0};
        }
        batch.keys.push_back(std::move(create));
        if (key.erased_at_ms != 0) {
          store::KeyWrite erase;
          erase.kind = store::KeyWrite::Kind::kErase;
          erase.key.name = key.name;
          erase.key.erased_at_ms = key.erased_at_ms;
          batch.keys.push_back(std::move(erase));
          ++report_.erased_keys;
        }
        ++report_.keys;
      }
      RETURN_IF_ERROR(load_->add(std::move(batch)));
      // Read back: the same names, times and (unwrapped) key bytes.
      for (const auto& key : keys) {
        ASSIGN_OR_RETURN(const auto stored, target_.read_key(key.name));
        if (!stored || stored->created_at_ms != key.created_at_ms ||
            stored->erased_at_ms != key.erased_at_ms) {
          return tl::unexpected(differs(fmt::format("key {}", key.name)));
        }
        if (!stored->erased()) {
          ASSIGN_OR_RETURN(const auto unwrapped, vault::unwrap_key(*ring_, *stored));
          if (!same_key_bytes(unwrapped, key.key)) {
            return tl::unexpected(differs(fmt::format("key {}", key.name)));
          }
        }
      }
    }
    return {};
  }

  static std::string record_key(const store::RecordVersion& record) {
    return record.type + '\n' + record.id;
  }

  // A record segment decoded, with each version's content hash (row_digest.h) when asked for.
  struct DecodedSegment {
    std::vector<RecordEntry> entries;
    std::vector<RowDigest::Hash> contents;
  };

  // Calls `use` with each record segment of the chain, in order, while the next one is decoded
  // (fetched, decrypted, decompressed, parsed and hashed) on another thread, so that decoding
  // overlaps the store's writes. One fetch at a time: the repository is never used concurrently.
  template <typename Use>
  Status for_each_record_segment(const std::vector<std::pair<std::string, Manifest>>& chain,
                                 bool with_hashes, Use use) {
    std::vector<std::string> segments;
    for (const auto& [id, manifest] : chain) {
      segments.insert(segments.end(), manifest.record_segments.begin(),
                      manifest.record_segments.end());
    }
    const auto decode = [this, with_hashes](const std::string& segment) -> Result<DecodedSegment> {
      DecodedSegment decoded;
      ASSIGN_OR_RETURN(decoded.entries, fetch_decoded<std::vector<RecordEntry>>(
                                            repository_, key_, segment, decode_records));
      if (with_hashes) {
        decoded.contents.reserve(decoded.entries.size());
        for (const auto& entry : decoded.entries) {
          decoded.contents.push_back(RowDigest::content_of(entry.record));
        }
      }
      return decoded;
    };
    std::future<Result<DecodedSegment>> next;
    if (!segments.empty()) next = std::async(std::launch::async, decode, segments.front());
    for (std::size_t i = 0; i < segments.size(); ++i) {
      auto current = next.get();
      if (!current) return tl::unexpected(current.error());
      if (i + 1 < segments.size()) next = std::async(std::launch::async, decode, segments[i + 1]);
      RETURN_IF_ERROR(use(*current));  // on failure, `next` waits for its decode as it goes
    }
    return {};
  }

  // The last version of every record in the chain: a bulk load takes a record's index entries
  // once, with that version.
  Status find_last_versions(const std::vector<std::pair<std::string, Manifest>>& chain) {
    return for_each_record_segment(chain, /*with_hashes=*/false,
                                   [this](const DecodedSegment& segment) -> Status {
                                     for (const auto& entry : segment.entries) {
                                       auto& last = last_version_[record_key(entry.record)];
                                       last = std::max(last, entry.record.version);
                                     }
                                     return {};
                                   });
  }

  bool is_last(const store::RecordVersion& record) const {
    const auto found = last_version_.find(record_key(record));
    return found != last_version_.end() && found->second == record.version;
  }

  Status load_records(const DecodedSegment& segment) {
    const auto& entries = segment.entries;
    // As few batches as the store allows: each commit writes every page it touched.
    for (std::size_t start = 0; start < entries.size(); start += kRecordsPerCommit) {
      const std::size_t end = std::min(entries.size(), start + kRecordsPerCommit);
      store::WriteBatch batch;
      for (std::size_t i = start; i < end; ++i) {
        const auto& entry = entries[i];
        if (entry.record.sequence <= last_source_sequence_) {
          return tl::unexpected(differs("record versions are out of change-feed order"));
        }
        last_source_sequence_ = entry.record.sequence;
        batch.records.push_back(store::RecordWrite{
            entry.record, store::kAnyVersion,
            is_last(entry.record) ? entry.index : std::vector<store::IndexEntry>{}});
        // A snapshot holds the sealed payloads alone; the digest beside each is derived again.
        vault::attach_payload_digest(batch.records.back().record);
      }
      ASSIGN_OR_RETURN(const auto receipt, load_->add(std::move(batch)));
      // What the store must then hold: each version at the change-feed position it was given
      // (in order, one after another), and the index rows of each record's last version.
      if (receipt.last_sequence - receipt.first_sequence + 1 !=
          static_cast<std::int64_t>(end - start)) {
        return tl::unexpected(differs("the store numbered the versions with gaps"));
      }
      for (std::size_t i = start; i < end; ++i) {
        const auto& record = entries[i].record;
        expected_records_.add_record(segment.contents[i],
                                     receipt.first_sequence + static_cast<std::int64_t>(i - start));
        if (!is_last(record) || record.deleted) continue;
        for (const auto& index_entry : sorted(entries[i].index)) {
          expected_index_.add(
              store::IndexRow{record.partition, record.type, record.id, index_entry});
        }
      }
    }
    return {};
  }

  // The digest of every row a paged store scan returns (`scan(after, limit)`, after the last row
  // of the previous page).
  template <typename Row, typename Scan>
  static Result<RowDigest> digest_of_scan(Scan scan) {
    RowDigest digest;
    for (std::optional<Row> after;;) {
      ASSIGN_OR_RETURN(auto page, scan(after, limits::kPageSizeMax));
      if (page.empty()) return digest;
      for (const auto& row : page) digest.add(row);
      after = std::move(page.back());
    }
  }

  // Reads the loaded records and index back in the store's own key order (sequential reads) and
  // compares their digests with what was loaded. Only when they differ is each segment read back
  // row by row, in change-feed order, to name what differs.
  Status verify_records(const std::vector<std::pair<std::string, Manifest>>& chain) {
    ASSIGN_OR_RETURN(const auto records, digest_of_scan<store::RecordVersion>(
                                             [this](const auto& after, std::size_t limit) {
                                               return target_.scan_records(after, limit);
                                             }));
    ASSIGN_OR_RETURN(const auto index,
                     digest_of_scan<store::IndexRow>([this](const auto& after, std::size_t limit) {
                       return target_.scan_index(after, limit);
                     }));
    report_.record_versions = expected_records_.rows();
    if (records == expected_records_ && index == expected_index_) return {};
    for (const auto& [id, manifest] : chain) {
      for (const auto& segment : manifest.record_segments) {
        RETURN_IF_ERROR(find_difference(segment));
      }
    }
    return tl::unexpected(differs(fmt::format(
        "read back in key order, {} record versions and {} index rows do not match the {} and {} "
        "loaded",
        records.rows(), index.rows(), expected_records_.rows(), expected_index_.rows())));
  }

  // Reads back what was loaded, in change-feed order: every field and payload, and the index of
  // each record's last version; the first difference is the error.
  Status find_difference(const std::string& segment) {
    ASSIGN_OR_RETURN(const auto entries, fetch_decoded<std::vector<RecordEntry>>(
                                             repository_, key_, segment, decode_records));
    std::size_t next = 0;
    while (next < entries.size()) {
      ASSIGN_OR_RETURN(const auto page,
                       target_.changes_since(verified_through_, limits::kPageSizeMax));
      if (page.empty()) return tl::unexpected(differs("record versions are missing"));
      for (const auto& stored : page) {
        if (next >= entries.size()) break;
        const auto& entry = entries[next++];
        if (!same_record(stored, entry.record)) {
          return tl::unexpected(differs(fmt::format("{}/{} version {}", entry.record.type,
                                                    entry.record.id, entry.record.version)));
        }
        verified_through_ = stored.sequence;
        if (entry.has_index && is_last(entry.record)) {
          ASSIGN_OR_RETURN(const auto index,
                           target_.index_entries(entry.record.type, entry.record.id));
          if (index != sorted(entry.index)) {
            return tl::unexpected(
                differs(fmt::format("the index of {}/{}", entry.record.type, entry.record.id)));
          }
        }
      }
    }
    return {};
  }

  static std::vector<store::IndexEntry> sorted(std::vector<store::IndexEntry> entries) {
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
      return std::tie(a.name, a.value) < std::tie(b.name, b.value);
    });
    entries.erase(std::unique(entries.begin(), entries.end()), entries.end());
    return entries;
  }

  Status restore_audit(const std::string& segment) {
    ASSIGN_OR_RETURN(const auto entries, fetch_decoded<std::vector<store::StoredAuditEntry>>(
                                             repository_, key_, segment, decode_audit_entries));
    if (entries.empty()) return {};
    const std::int64_t first = entries.front().index;
    for (std::size_t start = 0; start < entries.size(); start += limits::kPageSizeMax) {
      const std::size_t end = std::min(entries.size(), start + limits::kPageSizeMax);
      store::WriteBatch batch;
      for (std::size_t i = start; i < end; ++i) {
        if (entries[i].index != report_.audit_entries + static_cast<std::int64_t>(i - start)) {
          return tl::unexpected(differs("audit entries are not consecutive"));
        }
        batch.audit.push_back(store::AuditAppend{entries[i].subject, entries[i].entry});
      }
      ASSIGN_OR_RETURN(const auto receipt, load_->add(std::move(batch)));
      if (receipt.first_audit_index != report_.audit_entries) {
        return tl::unexpected(differs("audit entries landed at other indexes"));
      }
      report_.audit_entries += static_cast<std::int64_t>(end - start);
    }
    for (std::int64_t at = first; at < report_.audit_entries;) {
      ASSIGN_OR_RETURN(const auto page, target_.read_audit_entries(at, limits::kPageSizeMax));
      if (page.empty()) return tl::unexpected(differs("audit entries are missing"));
      for (const auto& stored : page) {
        const auto& expected = entries[static_cast<std::size_t>(stored.index - first)];
        if (stored.index != expected.index || stored.subject != expected.subject ||
            stored.entry != expected.entry) {
          return tl::unexpected(differs(fmt::format("audit entry {}", stored.index)));
        }
      }
      at = page.back().index + 1;
    }
    return {};
  }

  Status restore_tiles(const std::string& segment) {
    ASSIGN_OR_RETURN(const auto tiles, fetch_decoded<std::vector<store::AuditTile>>(
                                           repository_, key_, segment, decode_tiles));
    for (std::size_t start = 0; start < tiles.size(); start += limits::kPageSizeMax) {
      store::WriteBatch batch;
      const std::size_t end = std::min(tiles.size(), start + limits::kPageSizeMax);
      batch.audit_tiles.assign(tiles.begin() + static_cast<std::ptrdiff_t>(start),
                               tiles.begin() + static_cast<std::ptrdiff_t>(end));
      RETURN_IF_ERROR(load_->add(std::move(batch)));
    }
    for (const auto& tile : tiles) {
      ASSIGN_OR_RETURN(const auto stored, target_.read_audit_tiles(tile.level, tile.index, 1));
      if (stored.empty() || stored.front() != tile) {
        return tl::unexpected(differs(fmt::format("audit tile {}/{}", tile.level, tile.index)));
      }
    }
    report_.tiles += static_cast<std::int64_t>(tiles.size());
    return {};
  }

  Status restore_checkpoints(const std::string& segment) {
    ASSIGN_OR_RETURN(const auto checkpoints, fetch_decoded<std::vector<store::StoredCheckpoint>>(
                                                 repository_, key_, segment, decode_checkpoints));
    if (checkpoints.empty()) return {};
    store::WriteBatch batch;
    batch.checkpoints = checkpoints;
    RETURN_IF_ERROR(load_->add(std::move(batch)));
    ASSIGN_OR_RETURN(const auto stored,
                     target_.read_checkpoints(checkpoints.front().size - 1, checkpoints.size()));
    if (stored != checkpoints) return tl::unexpected(differs("signed checkpoints"));
    report_.checkpoints += static_cast<std::int64_t>(checkpoints.size());
    return {};
  }

  Repository& repository_;
  const BackupKey& key_;
  store::Store& target_;
  const crypto::KeyRing* ring_;
  std::unique_ptr<store::BulkLoad> load_;
  std::unordered_map<std::string, std::int64_t> last_version_;  // "type\nid" -> last version
  std::int64_t last_source_sequence_ = 0;
  std::int64_t verified_through_ = 0;  // the target's change-feed position read back so far
  RowDigest expected_records_;         // every version loaded, at its target sequence
  RowDigest expected_index_;           // the index rows of every record's last version
  RestoreReport report_;
};

}  // namespace

Result<std::vector<std::pair<std::string, Manifest>>> snapshot_chain(Repository& repository,
                                                                     const BackupKey& key,
                                                                     const std::string& snapshot) {
  std::vector<std::pair<std::string, Manifest>> chain;
  std::set<std::string> seen;
  for (std::string id = snapshot; !id.empty();) {
    if (!seen.insert(id).second) {
      return make_error(ErrorCode::kDataLoss, "the snapshot chain loops back on itself");
    }
    ASSIGN_OR_RETURN(const Bytes bytes, fetch_object(repository, key, id));
    ASSIGN_OR_RETURN(auto manifest, decode_manifest(bytes));
    if (!chain.empty()) {
      const Manifest& child = chain.back().second;
      if (child.records_through_sequence < manifest.records_through_sequence ||
          child.audit_size < manifest.audit_size ||
          child.record_versions < manifest.record_versions) {
        return make_error(
            ErrorCode::kDataLoss,
            fmt::format("snapshot {} holds less than its parent {}", chain.back().first, id));
      }
    }
    std::string parent = manifest.parent;
    chain.emplace_back(std::move(id), std::move(manifest));
    id = std::move(parent);
  }
  std::reverse(chain.begin(), chain.end());
  return chain;
}

Result<std::string> choose_snapshot(Repository& repository, const std::string& id,
                                    std::optional<std::int64_t> at_ms) {
  ASSIGN_OR_RETURN(const auto snapshots, repository.snapshots());
  if (!id.empty()) {
    std::vector<std::string> matches;
    for (const auto& snapshot : snapshots) {
      if (snapshot.id.starts_with(id)) matches.push_back(snapshot.id);
    }
    if (matches.size() > 1) {
      return make_error(
          ErrorCode::kInvalidArgument,
          fmt::format("{} names {} snapshots; give more of the id", id, matches.size()));
    }
    if (matches.empty()) return make_error(ErrorCode::kNotFound, fmt::format("no snapshot {}", id));
    return matches.front();
  }
  for (auto it = snapshots.rbegin(); it != snapshots.rend(); ++it) {
    if (!at_ms || it->registered_at_ms <= *at_ms) return it->id;
  }
  return make_error(ErrorCode::kNotFound, at_ms ? "no snapshot at or before that time"
                                                : "the repository holds no snapshot");
}

Result<RestoreReport> restore_snapshot(Repository& repository, const BackupKey& key,
                                       const std::string& snapshot, store::Store& target,
                                       const crypto::KeyRing& target_ring) {
  return Restorer(repository, key, target, &target_ring).run(snapshot, /*audit_only=*/false);
}

Result<RestoreReport> restore_audit_log(Repository& repository, const BackupKey& key,
                                        const std::string& snapshot, store::Store& target) {
  return Restorer(repository, key, target, nullptr).run(snapshot, /*audit_only=*/true);
}

}  // namespace kavach::backup
