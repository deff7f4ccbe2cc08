#include "backup/repository.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "common/file_descriptor.h"
#include "crypto/encoding.h"
#include "crypto/secret_bytes.h"

namespace kavach::backup {
namespace {

namespace json = boost::json;

constexpr std::string_view kSnapshotsFile = "snapshots.jsonl";
constexpr std::string_view kRetentionFile = "retention";
constexpr int kDefaultRetentionDays = 30;
constexpr std::int64_t kDayMs = 24LL * 60 * 60 * 1000;

Error io_error(const std::filesystem::path& path, std::string_view what) {
  return Error{ErrorCode::kUnavailable, fmt::format("backup repository {}: {}: {}", path.string(),
                                                    what, std::strerror(errno))};
}

Status fsync_directory(const std::filesystem::path& dir) {
  FileDescriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0 || ::fsync(fd.get()) != 0) return tl::unexpected(io_error(dir, "cannot sync"));
  return {};
}

Status write_file_synced(const std::filesystem::path& path, std::span<const std::uint8_t> bytes,
                         mode_t mode) {
  FileDescriptor fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (fd.get() < 0) return tl::unexpected(io_error(path, "cannot create"));
  RETURN_IF_ERROR(write_all(
      fd.get(), std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size())));
  if (::fsync(fd.get()) != 0) return tl::unexpected(io_error(path, "cannot sync"));
  return {};
}

}  // namespace

json::object snapshot_entry_json(const SnapshotEntry& entry) {
  json::array objects;
  for (const auto& id : entry.objects) objects.emplace_back(id);
  return json::object{{"id", entry.id},
                      {"parent", entry.parent},
                      {"objects", std::move(objects)},
                      {"registered_at_ms", entry.registered_at_ms}};
}

std::optional<SnapshotEntry> snapshot_entry_from_json(const json::value& value) {
  if (!value.is_object()) return std::nullopt;
  const auto& object = value.as_object();
  const auto* id = object.if_contains("id");
  const auto* parent = object.if_contains("parent");
  const auto* objects = object.if_contains("objects");
  const auto* at = object.if_contains("registered_at_ms");
  if (id == nullptr || !id->is_string() || parent == nullptr || !parent->is_string() ||
      objects == nullptr || !objects->is_array() || at == nullptr || !at->is_int64()) {
    return std::nullopt;
  }
  SnapshotEntry entry{
      std::string(id->as_string()), std::string(parent->as_string()), {}, at->as_int64()};
  for (const auto& object_id : objects->as_array()) {
    if (!object_id.is_string()) return std::nullopt;
    entry.objects.emplace_back(object_id.as_string());
  }
  return entry;
}

Result<std::unique_ptr<DirectoryRepository>> DirectoryRepository::open(
    const std::filesystem::path& root, const Clock& clock) {
  std::error_code error;
  std::filesystem::create_directories(root / "objects", error);
  std::filesystem::create_directories(root / "incoming", error);
  if (error) {
    return make_error(
        ErrorCode::kFailedPrecondition,
        fmt::format("cannot create the backup repository {}: {}", root.string(), error.message()));
  }
  std::unique_ptr<DirectoryRepository> repository(new DirectoryRepository(root, clock));
  // A crash between writing an incoming object and linking it leaves a stray file; it was never
  // acknowledged, so it is removed.
  for (const auto& stray : std::filesystem::directory_iterator(root / "incoming", error)) {
    std::filesystem::remove(stray.path(), error);
  }
  return repository;
}

std::filesystem::path DirectoryRepository::object_path(const std::string& id) const {
  return root_ / "objects" / id.substr(0, 2) / id;
}

Status DirectoryRepository::put_object(const std::string& id,
                                       std::span<const std::uint8_t> object) {
  if (!is_object_id(id) || object_id(object) != id) {
    return make_error(ErrorCode::kInvalidArgument,
                      "the object's bytes do not hash to its id; nothing was stored");
  }
  const auto target = object_path(id);
  if (std::filesystem::exists(target)) return {};
  std::error_code error;
  std::filesystem::create_directories(target.parent_path(), error);
  if (error) return tl::unexpected(io_error(target.parent_path(), "cannot create"));
  // Written whole and synced under a unique name, then linked into place: link() never replaces
  // an existing file, so two uploads of one object race harmlessly and a reader never sees a
  // partial object. The file is read-only from the start.
  const auto incoming =
      root_ / "incoming" /
      fmt::format("{}.{}", id, crypto::to_hex(crypto::SecretBytes::random(8).view()));
  RETURN_IF_ERROR(write_file_synced(incoming, object, 0444));
  const int linked = ::link(incoming.c_str(), target.c_str());
  const int link_errno = errno;
  std::filesystem::remove(incoming, error);
  if (linked != 0 && link_errno != EEXIST) {
    errno = link_errno;
    return tl::unexpected(io_error(target, "cannot store"));
  }
  return fsync_directory(target.parent_path());
}

Result<std::vector<std::string>> DirectoryRepository::missing_objects(
    const std::vector<std::string>& ids) {
  std::vector<std::string> missing;
  for (const auto& id : ids) {
    if (!is_object_id(id)) {
      return make_error(ErrorCode::kInvalidArgument, fmt::format("{} is not an object id", id));
    }
    if (!std::filesystem::exists(object_path(id))) missing.push_back(id);
  }
  return missing;
}

Result<Bytes> DirectoryRepository::get_object(const std::string& id) {
  if (!is_object_id(id)) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("{} is not an object id", id));
  }
  std::ifstream in(object_path(id), std::ios::binary | std::ios::ate);
  if (!in) return make_error(ErrorCode::kNotFound, fmt::format("no object {}", id));
  Bytes object(static_cast<std::size_t>(in.tellg()));
  in.seekg(0);
  if (!in.read(reinterpret_cast<char*>(object.data()),
               static_cast<std::streamsize>(object.size()))) {
    return tl::unexpected(io_error(object_path(id), "cannot read"));
  }
  return object;
}

Result<std::vector<SnapshotEntry>> DirectoryRepository::read_snapshots_locked() {
  std::vector<SnapshotEntry> entries;
  std::ifstream in(root_ / kSnapshotsFile);
  std::string line;
  while (std::getline(in, line)) {
    // Only a crash during the last append can leave a torn line; that snapshot was never
    // acknowledged, so it is skipped.
    boost::system::error_code error;
    const auto value = json::parse(line, error);
    if (error) continue;
    if (auto entry = snapshot_entry_from_json(value)) entries.push_back(std::move(*entry));
  }
  return entries;
}

Result<std::vector<SnapshotEntry>> DirectoryRepository::snapshots() {
  std::lock_guard lock(snapshots_mutex_);
  return read_snapshots_locked();
}

Status DirectoryRepository::add_snapshot(const SnapshotEntry& entry) {
  if (!is_object_id(entry.id) || (!entry.parent.empty() && !is_object_id(entry.parent))) {
    return make_error(ErrorCode::kInvalidArgument, "a snapshot needs valid object ids");
  }
  ASSIGN_OR_RETURN(const auto missing, missing_objects(entry.objects));
  if (!missing.empty() || std::filesystem::exists(object_path(entry.id)) == false) {
    return make_error(ErrorCode::kFailedPrecondition,
                      "a snapshot may name only objects already stored");
  }
  std::lock_guard lock(snapshots_mutex_);
  ASSIGN_OR_RETURN(const auto listed, read_snapshots_locked());
  bool parent_listed = entry.parent.empty();
  for (const auto& existing : listed) {
    if (existing.id == entry.id) return {};  // listed already: the retry of an acknowledged add
    parent_listed |= existing.id == entry.parent;
  }
  if (!parent_listed) {
    return make_error(
        ErrorCode::kFailedPrecondition,
        fmt::format("snapshot {} extends {}, which is not listed", entry.id, entry.parent));
  }
  SnapshotEntry stamped = entry;
  stamped.registered_at_ms = unix_ms(clock_.now());
  const std::string line = json::serialize(snapshot_entry_json(stamped)) + "\n";
  const auto path = root_ / kSnapshotsFile;
  FileDescriptor fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (fd.get() < 0) return tl::unexpected(io_error(path, "cannot open"));
  RETURN_IF_ERROR(write_all(fd.get(), line));
  if (::fsync(fd.get()) != 0) return tl::unexpected(io_error(path, "cannot sync"));
  return fsync_directory(root_);
}

int DirectoryRepository::retention_days() {
  std::ifstream in(root_ / kRetentionFile);
  int days = 0;
  if (in >> days && days >= 0) return days;
  return kDefaultRetentionDays;
}

Status DirectoryRepository::set_retention_days(int days) {
  if (days < 0) return make_error(ErrorCode::kInvalidArgument, "retention must be 0 days or more");
  std::lock_guard lock(snapshots_mutex_);
  const auto path = root_ / kRetentionFile;
  const auto temporary = root_ / fmt::format("{}.tmp", kRetentionFile);
  std::filesystem::remove(temporary);
  const std::string text = fmt::format("{}\n", days);
  RETURN_IF_ERROR(write_file_synced(
      temporary, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), 0644));
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    return tl::unexpected(io_error(path, "cannot replace"));
  }
  return fsync_directory(root_);
}

Result<PruneReport> DirectoryRepository::prune(std::int64_t before_ms) {
  const std::int64_t newest_allowed = unix_ms(clock_.now()) - retention_days() * kDayMs;
  if (before_ms > newest_allowed) {
    return make_error(ErrorCode::kFailedPrecondition,
                      fmt::format("the repository keeps every snapshot for {} days; prune only "
                                  "before {} ms",
                                  retention_days(), newest_allowed));
  }
  std::lock_guard lock(snapshots_mutex_);
  ASSIGN_OR_RETURN(const auto listed, read_snapshots_locked());
  std::map<std::string, const SnapshotEntry*> by_id;
  for (const auto& entry : listed) by_id[entry.id] = &entry;
  // Keep every snapshot listed since `before_ms`, and every snapshot they extend.
  std::set<std::string> kept;
  for (const auto& entry : listed) {
    if (entry.registered_at_ms < before_ms) continue;
    for (const SnapshotEntry* at = &entry; at != nullptr && kept.insert(at->id).second;) {
      const auto parent = by_id.find(at->parent);
      at = parent == by_id.end() ? nullptr : parent->second;
    }
  }
  std::set<std::string> objects_kept;
  std::vector<const SnapshotEntry*> removed;
  std::string remaining;
  for (const auto& entry : listed) {
    if (kept.contains(entry.id)) {
      objects_kept.insert(entry.objects.begin(), entry.objects.end());
      remaining += json::serialize(snapshot_entry_json(entry)) + "\n";
    } else {
      removed.push_back(&entry);
    }
  }
  PruneReport report;
  if (removed.empty()) return report;
  // The list is rewritten first: a crash after it leaves unreferenced objects, never a listed
  // snapshot whose objects are gone.
  const auto path = root_ / kSnapshotsFile;
  const auto temporary = root_ / fmt::format("{}.tmp", kSnapshotsFile);
  std::filesystem::remove(temporary);
  RETURN_IF_ERROR(write_file_synced(
      temporary,
      std::span(reinterpret_cast<const std::uint8_t*>(remaining.data()), remaining.size()), 0644));
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    return tl::unexpected(io_error(path, "cannot replace"));
  }
  RETURN_IF_ERROR(fsync_directory(root_));
  report.snapshots_removed = removed.size();
  for (const auto* entry : removed) {
    for (const auto& id : entry->objects) {
      if (objects_kept.contains(id)) continue;
      std::error_code error;
      if (std::filesystem::remove(object_path(id), error)) ++report.objects_removed;
    }
  }
  return report;
}

}  // namespace kavach::backup
