// Repository: where backup objects and the list of snapshots live (issue 7).
//
// The repository is append-only to its clients: an object, once stored, is never overwritten
// (its name is the SHA-256 of its bytes, so a second upload under that name is the same bytes),
// and a snapshot, once listed, stays listed. Only prune(), which the backup server runs for a
// request signed by the offline admin key, removes anything. The node reaches a repository over
// HTTP (http/backup_client.h) served by `kavach backup-server` on another machine; the
// DirectoryRepository below is the server's own storage, and a local repository for tests and
// for a backup to a mounted disk.
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "backup/backup_key.h"
#include "common/clock.h"
#include "common/error.h"

namespace kavach::backup {

struct SnapshotEntry {
  std::string id;                     // the snapshot's manifest object
  std::string parent;                 // the snapshot it extends; "" for a full snapshot
  std::vector<std::string> objects;   // the objects it added, its manifest included
  std::int64_t registered_at_ms = 0;  // set by the repository when it is listed
};

// A snapshot entry's JSON form: a line of the snapshot list, and the backup server's answer.
boost::json::object snapshot_entry_json(const SnapshotEntry& entry);
// nullopt for anything that is not a whole entry.
std::optional<SnapshotEntry> snapshot_entry_from_json(const boost::json::value& value);

class Repository {
 public:
  virtual ~Repository() = default;
  // Stores `object` under `id`, which must be object_id(object) (kInvalidArgument otherwise); an
  // object already present is left as it is.
  virtual Status put_object(const std::string& id, std::span<const std::uint8_t> object) = 0;
  // The ids among `ids` that the repository does not hold, so a client sends only those.
  virtual Result<std::vector<std::string>> missing_objects(const std::vector<std::string>& ids) = 0;
  // kNotFound if absent. The bytes are as stored; callers check them against the id.
  virtual Result<Bytes> get_object(const std::string& id) = 0;
  // Lists a snapshot: its objects must all be present and its parent listed (kFailedPrecondition).
  virtual Status add_snapshot(const SnapshotEntry& entry) = 0;
  // Every listed snapshot, oldest first.
  virtual Result<std::vector<SnapshotEntry>> snapshots() = 0;
};

struct PruneReport {
  std::size_t snapshots_removed = 0;
  std::size_t objects_removed = 0;
};

// A repository in a directory: objects/<2 hex>/<id> (read-only files), snapshots.jsonl (one JSON
// line per snapshot, appended and fsynced) and retention (the minimum age, in days, of anything
// prune may remove).
class DirectoryRepository final : public Repository {
 public:
  // Creates the layout if `root` is empty or absent.
  static Result<std::unique_ptr<DirectoryRepository>> open(const std::filesystem::path& root,
                                                           const Clock& clock);

  Status put_object(const std::string& id, std::span<const std::uint8_t> object) override;
  Result<std::vector<std::string>> missing_objects(const std::vector<std::string>& ids) override;
  Result<Bytes> get_object(const std::string& id) override;
  Status add_snapshot(const SnapshotEntry& entry) override;
  Result<std::vector<SnapshotEntry>> snapshots() override;

  // Removes snapshots listed before `before_ms` that no later snapshot extends, and the objects
  // no remaining snapshot added. Refused (kFailedPrecondition) when `before_ms` is inside the
  // retention period. Called only for a request signed by the admin key.
  Result<PruneReport> prune(std::int64_t before_ms);
  int retention_days();
  // Sets the retention period; only for a request signed by the admin key.
  Status set_retention_days(int days);

 private:
  DirectoryRepository(std::filesystem::path root, const Clock& clock)
      : root_(std::move(root)), clock_(clock) {}
  std::filesystem::path object_path(const std::string& id) const;
  Result<std::vector<SnapshotEntry>> read_snapshots_locked();

  std::filesystem::path root_;
  const Clock& clock_;
  std::mutex snapshots_mutex_;  // serialises the snapshot list and the retention file
};

}  // namespace kavach::backup
