#include "store/sqlite/sqlite_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <iterator>
#include <limits>
#include <map>

#include "common/check.h"
#include "common/limits.h"

namespace kavach::store::sqlite {
namespace {

// Migration i brings the schema from version i to version i + 1. Append only; never edit one that
// has shipped.
constexpr auto kMigrations = std::to_array<std::string_view>({
    R"sql(
CREATE TABLE records (
  type TEXT NOT NULL,
  id TEXT NOT NULL,
  version INTEGER NOT NULL,
  partition_key TEXT NOT NULL,
  sequence INTEGER NOT NULL UNIQUE,
  recorded_at_ms INTEGER NOT NULL,
  deleted INTEGER NOT NULL,
  payload BLOB NOT NULL,
  PRIMARY KEY (type, id, version)
) WITHOUT ROWID;
CREATE TABLE record_index (
  type TEXT NOT NULL,
  name TEXT NOT NULL,
  value BLOB NOT NULL,
  id TEXT NOT NULL,
  partition_key TEXT NOT NULL,
  PRIMARY KEY (type, name, value, id)
) WITHOUT ROWID;
CREATE INDEX record_index_by_record ON record_index (type, id);
CREATE TABLE data_keys (
  name TEXT PRIMARY KEY,
  kek_id TEXT NOT NULL,
  wrapped BLOB NOT NULL,
  created_at_ms INTEGER NOT NULL,
  erased_at_ms INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
-- History is append-only: the database itself refuses to change or remove a stored version.
CREATE TRIGGER records_are_append_only_update BEFORE UPDATE ON records
BEGIN SELECT RAISE(ABORT, 'records are append-only'); END;
CREATE TRIGGER records_are_append_only_delete BEFORE DELETE ON records
BEGIN SELECT RAISE(ABORT, 'records are append-only'); END;
)sql",
    R"sql(
CREATE TABLE audit_entries (
  idx INTEGER PRIMARY KEY,
  subject TEXT NOT NULL,
  entry BLOB NOT NULL
);
CREATE INDEX audit_entries_by_subject ON audit_entries (subject, idx);
CREATE TABLE audit_tiles (
  level INTEGER NOT NULL,
  tile INTEGER NOT NULL,
  hashes BLOB NOT NULL,
  PRIMARY KEY (level, tile)
) WITHOUT ROWID;
CREATE TABLE audit_checkpoints (
  size INTEGER PRIMARY KEY,
  note TEXT NOT NULL,
  recorded_at_ms INTEGER NOT NULL
);
-- The audit log is append-only; an edit made past these triggers is what `kavach audit verify`
-- finds.
CREATE TRIGGER audit_entries_are_append_only_update BEFORE UPDATE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_entries_are_append_only_delete BEFORE DELETE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_tiles_are_append_only_update BEFORE UPDATE ON audit_tiles
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_tiles_are_append_only_delete BEFORE DELETE ON audit_tiles
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_checkpoints_are_append_only_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_checkpoints_are_append_only_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
)sql",
    R"sql(
CREATE INDEX records_by_type_sequence ON records (type, sequence);
CREATE INDEX records_by_partition ON records (partition_key, type, id, version);
)sql",
    // Records keyed by their change-feed position (the rowid): a new version is appended at the
    // end of the table rather than on a random page (ids are random), and its payload stays on the
    // page. The WITHOUT ROWID table above kept a payload of more than about 1,000 bytes in an
    // overflow page of its own, 4 KiB for every record of 1 to 4 KB, and a restore of a million
    // records spent most of its time inserting them at random places.
    R"sql(
CREATE TABLE records_by_sequence (
  sequence INTEGER PRIMARY KEY,
  type TEXT NOT NULL,
  id TEXT NOT NULL,
  version INTEGER NOT NULL,
  partition_key TEXT NOT NULL,
  recorded_at_ms INTEGER NOT NULL,
  deleted INTEGER NOT NULL,
  payload BLOB NOT NULL
);
INSERT INTO records_by_sequence
  (sequence, type, id, version, partition_key, recorded_at_ms, deleted, payload)
  SELECT sequence, type, id, version, partition_key, recorded_at_ms, deleted, payload
  FROM records ORDER BY sequence;
DROP TABLE records;
ALTER TABLE records_by_sequence RENAME TO records;
CREATE UNIQUE INDEX records_by_version ON records (type, id, version);
CREATE INDEX records_by_type_sequence ON records (type, sequence);
CREATE INDEX records_by_partition ON records (partition_key, type, id, version);
CREATE TRIGGER records_are_append_only_update BEFORE UPDATE ON records
BEGIN SELECT RAISE(ABORT, 'records are append-only'); END;
CREATE TRIGGER records_are_append_only_delete BEFORE DELETE ON records
BEGIN SELECT RAISE(ABORT, 'records are append-only'); END;
)sql",
    // The index journal (index_journal.h): each record write's index entries, appended in
    // change-feed order, until the writer merges them into record_index. merged_through is the last
    // sequence merged.
    R"sql(
CREATE TABLE index_journal (
  sequence INTEGER PRIMARY KEY,
  type TEXT NOT NULL,
  id TEXT NOT NULL,
  partition_key TEXT NOT NULL,
  entries BLOB NOT NULL
);
CREATE TABLE index_journal_state (merged_through INTEGER NOT NULL);
INSERT INTO index_journal_state (merged_through) VALUES (0);
)sql",
    // Each record's current index entries in one row (the journal's encoding), in place of an
    // index of record_index by (type, id): a merge finds the rows a record replaces from that one
    // row, and each merged index row costs one B-tree insert instead of two (the secondary index
    // was as large as the table). kavach_index_entries is the aggregate registered on the writer.
    R"sql(
CREATE TABLE record_index_entries (
  type TEXT NOT NULL,
  id TEXT NOT NULL,
  entries BLOB NOT NULL,
  PRIMARY KEY (type, id)
) WITHOUT ROWID;
INSERT INTO record_index_entries (type, id, entries)
  SELECT type, id, kavach_index_entries(name, value) FROM record_index GROUP BY type, id;
DROP INDEX record_index_by_record;
)sql",
    // A record's type and last-updated time are no longer repeated in the index (5 of an
    // Observation's 15 rows, a third of what a write merges): searches by neither or by
    // _lastUpdated take their candidates from the records, by the index added here
    // (Store::find_recorded). kavach_drop_index_name is the function registered on the writer. A
    // record left with no entries (a Binary has no others) keeps no entries row, as merges leave
    // it.
    R"sql(
CREATE INDEX records_by_type_time ON records (type, recorded_at_ms);
DELETE FROM record_index WHERE name IN ('_type', '_lastUpdated');
UPDATE record_index_entries
  SET entries = kavach_drop_index_name(kavach_drop_index_name(entries, '_type'), '_lastUpdated');
DELETE FROM record_index_entries WHERE length(entries) = 0;
UPDATE index_journal
  SET entries = kavach_drop_index_name(kavach_drop_index_name(entries, '_type'), '_lastUpdated');
)sql",
    // The sealed payload's SHA-256 beside it (RecordVersion::payload_sha256). Versions written
    // before have none; their readers hash the payload.
    R"sql(
ALTER TABLE records ADD COLUMN payload_sha256 BLOB;
)sql",
});
static_assert(kMigrations.size() == SqliteStore::kSchemaVersion);

// A record's columns but its digest (payload_sha256, schema 8), in read_record's order.
constexpr std::string_view kRecordColumnsBeforeDigests =
    "partition_key, type, id, version, sequence, recorded_at_ms, deleted, payload";

constexpr std::size_t kRowsPerStatement = 32;

// The statements insert_rows runs for one kind of row, `insert` ("INSERT ... VALUES ") followed
// by one row's or kRowsPerStatement rows' placeholders; written out once, at first use.
struct RowInsert {
  RowInsert(std::string_view insert, int column_count) : columns(column_count) {
    std::string tuple = "(?";
    for (int column = 1; column < column_count; ++column) tuple += ",?";
    tuple += ")";
    one = std::string(insert) + tuple;
    many = one;
    for (std::size_t i = 1; i < kRowsPerStatement; ++i) (many += ",") += tuple;
  }
  int columns;
  std::string one;
  std::string many;
};

// Inserts `rows` rows, kRowsPerStatement to a statement and the rest one at a time;
// bind_row(statement, first, row) binds row `row`'s values from parameter `first` on. A row costs
// SQLite a few microseconds of statement overhead (reset, binds, a step through the program)
// besides its B-tree insert, as much again as the insert when rows append to a few pages; a
// statement of many rows pays it once for them all. Values are bound without copies
// (Statement::bind), so they must outlive the call.
// When a statement inserted fewer rows than it held (a conflict clause skipped some),
// settle_skipped(first, count) is told the rows it held, to settle the skipped ones.
template <typename BindRow, typename SettleSkipped>
Status insert_rows(Connection& connection, const RowInsert& insert, std::size_t rows,
                   const BindRow& bind_row, const SettleSkipped& settle_skipped) {
  auto run = [&](Statement& statement, std::size_t first, std::size_t count) -> Status {
    RETURN_IF_ERROR(statement.run());
    if (static_cast<std::size_t>(sqlite3_changes64(connection.get())) == count) return {};
    return settle_skipped(first, count);
  };
  std::size_t next = 0;
  if (rows >= kRowsPerStatement) {
    ASSIGN_OR_RETURN(auto many, connection.prepare(insert.many));
    for (; rows - next >= kRowsPerStatement; next += kRowsPerStatement) {
      many.reset();
      for (std::size_t i = 0; i < kRowsPerStatement; ++i) {
        bind_row(many, static_cast<int>(i) * insert.columns + 1, next + i);
      }
      RETURN_IF_ERROR(run(many, next, kRowsPerStatement));
    }
  }
  if (next == rows) return {};
  ASSIGN_OR_RETURN(auto one, connection.prepare(insert.one));
  for (; next < rows; ++next) {
    one.reset();
    bind_row(one, 1, next);
    RETURN_IF_ERROR(run(one, next, 1));
  }
  return {};
}

template <typename BindRow>
Status insert_rows(Connection& connection, const RowInsert& insert, std::size_t rows,
                   const BindRow& bind_row) {
  return insert_rows(connection, insert, rows, bind_row,
                     [](std::size_t, std::size_t) -> Status { return {}; });
}

// Live records of type ?1 after id ?2 whose current version (the largest version number; an
// earlier version within a range does not make its record a match) was recorded ever, or within
// [?4, ?5), in id order, at most ?3 (Store::find_recorded). Ever walks records_by_version in id
// order up to the limit; a range reads records_by_type_time and sorts.
constexpr std::string_view kCurrentAndLive =
    "deleted = 0 AND version = (SELECT max(version) FROM records WHERE type = ?1 AND id = r.id)";
const std::string& recorded_ever_sql() {
  static const std::string sql = fmt::format(
      "SELECT id FROM records AS r INDEXED BY records_by_version WHERE type = ?1 AND id > ?2 AND "
      "{} ORDER BY id LIMIT ?3",
      kCurrentAndLive);
  return sql;
}
const std::string& recorded_within_sql() {
  static const std::string sql = fmt::format(
      "SELECT id FROM records AS r INDEXED BY records_by_type_time WHERE type = ?1 AND "
      "recorded_at_ms >= ?4 AND recorded_at_ms < ?5 AND id > ?2 AND {} ORDER BY id LIMIT ?3",
      kCurrentAndLive);
  return sql;
}

RecordVersion read_record(const Statement& row) {
  RecordVersion record;
  record.partition = row.column_text(0);
  record.type = row.column_text(1);
  record.id = row.column_text(2);
  record.version = row.column_int(3);
  record.sequence = row.column_int(4);
  record.recorded_at_ms = row.column_int(5);
  record.deleted = row.column_int(6) != 0;
  const auto payload = row.column_blob(7);
  record.payload.assign(payload.begin(), payload.end());
  const auto digest = row.column_blob(8);
  record.payload_sha256.assign(digest.begin(), digest.end());
  return record;
}

WrappedKey read_wrapped_key(const Statement& row) {
  WrappedKey key;
  key.name = row.column_text(0);
  key.kek_id = row.column_text(1);
  const auto wrapped = row.column_blob(2);
  key.wrapped.assign(wrapped.begin(), wrapped.end());
  key.created_at_ms = row.column_int(3);
  key.erased_at_ms = row.column_int(4);
  return key;
}

Result<std::vector<RecordVersion>> collect_records(Statement& statement) {
  std::vector<RecordVersion> records;
  for (;;) {
    ASSIGN_OR_RETURN(const auto step, statement.step());
    if (step == Statement::Step::kDone) return records;
    records.push_back(read_record(statement));
  }
}

Result<std::vector<StoredAuditEntry>> collect_audit_entries(Statement& statement) {
  std::vector<StoredAuditEntry> entries;
  for (;;) {
    ASSIGN_OR_RETURN(const auto step, statement.step());
    if (step == Statement::Step::kDone) return entries;
    const auto entry = statement.column_blob(2);
    entries.push_back(StoredAuditEntry{statement.column_int(0), statement.column_text(1),
                                       Bytes(entry.begin(), entry.end())});
  }
}

Result<std::vector<StoredCheckpoint>> collect_checkpoints(Statement& statement) {
  std::vector<StoredCheckpoint> checkpoints;
  for (;;) {
    ASSIGN_OR_RETURN(const auto step, statement.step());
    if (step == Statement::Step::kDone) return checkpoints;
    checkpoints.push_back(StoredCheckpoint{statement.column_int(0), statement.column_text(1),
                                           statement.column_int(2)});
  }
}

// The union of two id lists, each in id order, in id order, each id once, at most `limit`.
std::vector<std::string> merge_ids(std::vector<std::string> a, std::vector<std::string> b,
                                   std::size_t limit) {
  if (b.empty()) return a;
  std::vector<std::string> merged;
  merged.reserve(a.size() + b.size());
  std::set_union(std::make_move_iterator(a.begin()), std::make_move_iterator(a.end()),
                 std::make_move_iterator(b.begin()), std::make_move_iterator(b.end()),
                 std::back_inserter(merged));
  if (merged.size() > limit) merged.resize(limit);
  return merged;
}

// kavach_index_entries(name, value): the aggregate that encodes a record's index rows as
// encode_index_entries does, for the migration to schema 6 and the end of a bulk load.
void index_entries_step(sqlite3_context* context, int, sqlite3_value** arguments) {
  auto** entries = static_cast<std::vector<IndexEntry>**>(
      sqlite3_aggregate_context(context, sizeof(std::vector<IndexEntry>*)));
  if (entries == nullptr) return sqlite3_result_error_nomem(context);
  if (*entries == nullptr) *entries = new std::vector<IndexEntry>();
  const auto* name = sqlite3_value_text(arguments[0]);
  const auto* value = static_cast<const std::uint8_t*>(sqlite3_value_blob(arguments[1]));
  const auto value_size = static_cast<std::size_t>(sqlite3_value_bytes(arguments[1]));
  (*entries)->push_back(IndexEntry{name == nullptr ? "" : reinterpret_cast<const char*>(name),
                                   Bytes(value, value + value_size)});
}

void index_entries_final(sqlite3_context* context) {
  auto** entries = static_cast<std::vector<IndexEntry>**>(sqlite3_aggregate_context(context, 0));
  std::unique_ptr<std::vector<IndexEntry>> owned(entries == nullptr ? nullptr : *entries);
  const Bytes encoded = encode_index_entries(owned ? std::move(*owned) : std::vector<IndexEntry>{});
  sqlite3_result_blob64(context, encoded.data(), encoded.size(), SQLITE_TRANSIENT);
}

// kavach_drop_index_name(entries, name): the encoded entries without those under `name`, for the
// migration to schema 7.
void drop_index_name(sqlite3_context* context, int, sqlite3_value** arguments) {
  const auto* bytes = static_cast<const std::uint8_t*>(sqlite3_value_blob(arguments[0]));
  const auto size = static_cast<std::size_t>(sqlite3_value_bytes(arguments[0]));
  const auto* name = sqlite3_value_text(arguments[1]);
  auto entries = decode_index_entries(std::span(bytes, size));
  if (!entries) return sqlite3_result_error(context, entries.error().message.c_str(), -1);
  const std::string_view dropped = name == nullptr ? "" : reinterpret_cast<const char*>(name);
  std::erase_if(*entries, [&](const IndexEntry& entry) { return entry.name == dropped; });
  const Bytes encoded = encode_index_entries(std::move(*entries));
  // An empty vector's data() may be null, which SQLite would take for NULL rather than a blob.
  if (encoded.empty()) return sqlite3_result_zeroblob(context, 0);
  sqlite3_result_blob64(context, encoded.data(), encoded.size(), SQLITE_TRANSIENT);
}

// The functions migrations and bulk loads call on the writer.
Status register_index_entries_functions(Connection& connection) {
  if (sqlite3_create_function_v2(connection.get(), "kavach_index_entries", 2,
                                 SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr, nullptr,
                                 &index_entries_step, &index_entries_final, nullptr) != SQLITE_OK ||
      sqlite3_create_function_v2(connection.get(), "kavach_drop_index_name", 2,
                                 SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr, &drop_index_name,
                                 nullptr, nullptr, nullptr) != SQLITE_OK) {
    return make_error(ErrorCode::kInternal, "could not register the index entry functions");
  }
  return {};
}

// The span of sequences the index journal holds: an upper bound on its rows, read without
// counting them.
Result<std::int64_t> journal_span(Connection& connection) {
  ASSIGN_OR_RETURN(auto statement,
                   connection.prepare("SELECT coalesce((SELECT max(sequence) FROM index_journal) - "
                                      "(SELECT min(sequence) FROM index_journal) + 1, 0)"));
  RETURN_IF_ERROR(statement.step());
  return statement.column_int(0);
}

std::int64_t clamp_limit(std::size_t limit) {
  return static_cast<std::int64_t>(std::min(limit, limits::kPageSizeMax));
}

// Brings the schema to `target` (the binary's own version outside tests).
Status migrate(Connection& connection, int target, int& schema_version) {
  RETURN_IF_ERROR(connection.execute("BEGIN IMMEDIATE"));
  auto rollback_on_error = [&](Status status) -> Status {
    if (!status) (void)connection.execute("ROLLBACK");
    return status;
  };
  RETURN_IF_ERROR(rollback_on_error(
      connection.execute("CREATE TABLE IF NOT EXISTS kavach_schema (version INTEGER NOT NULL)")));
  int version = 0;
  {
    auto statement = connection.prepare("SELECT coalesce(max(version), 0) FROM kavach_schema");
    if (!statement) return rollback_on_error(tl::unexpected(statement.error()));
    auto step = statement->step();
    if (!step) return rollback_on_error(tl::unexpected(step.error()));
    version = static_cast<int>(statement->column_int(0));
  }
  if (version > SqliteStore::kSchemaVersion) {
    (void)connection.execute("ROLLBACK");
    return make_error(ErrorCode::kFailedPrecondition,
                      fmt::format("the database schema is version {}, newer than this binary's {}; "
                                  "run a newer kavach",
                                  version, SqliteStore::kSchemaVersion));
  }
  for (int next = version; next < target; ++next) {
    RETURN_IF_ERROR(rollback_on_error(connection.execute(std::string(kMigrations[next]))));
    RETURN_IF_ERROR(rollback_on_error(connection.execute(
        fmt::format("INSERT INTO kavach_schema (version) VALUES ({})", next + 1))));
  }
  RETURN_IF_ERROR(rollback_on_error(connection.execute("COMMIT")));
  schema_version = std::max(version, target);
  return {};
}

}  // namespace

// The connection and read transaction that a thread's reads share while it holds a ReadScope.
// Registered in a thread-local list for the scope's life, so the store's methods find it without
// the caller passing it down.
class SqliteStore::HeldReads final : public ReadScope::Holder {
 public:
  explicit HeldReads(SqliteStore& store) : store_(store), outer_(innermost_) { innermost_ = this; }
  HeldReads(const HeldReads&) = delete;
  HeldReads& operator=(const HeldReads&) = delete;
  ~HeldReads() override {
    if (connection_) {
      end_snapshot();
      store_.return_reader(std::move(*connection_));
    }
    innermost_ = outer_;
  }

  static HeldReads* find(const SqliteStore& store) {
    for (HeldReads* held = innermost_; held != nullptr; held = held->outer_) {
      if (&held->store_ == &store) return held;
    }
    return nullptr;
  }

  // The connection, in a read transaction.
  Result<Connection*> connection() {
    if (!connection_) {
      ASSIGN_OR_RETURN(auto taken, store_.take_reader());
      connection_.emplace(std::move(taken));
    }
    if (sqlite3_get_autocommit(connection_->get()) != 0) RETURN_IF_ERROR(connection_->run("BEGIN"));
    return &*connection_;
  }
  void end_snapshot() {
    // A failed statement may have rolled the transaction back already.
    if (connection_ && sqlite3_get_autocommit(connection_->get()) == 0) {
      (void)connection_->run("COMMIT");
    }
  }

 private:
  static thread_local HeldReads* innermost_;

  SqliteStore& store_;
  HeldReads* const outer_;
  std::optional<Connection> connection_;  // taken at the first read
};

thread_local SqliteStore::HeldReads* SqliteStore::HeldReads::innermost_ = nullptr;

// A reader connection: borrowed from the pool and returned when the lease ends, or the thread's
// held one (already in its read transaction, which the lease leaves open).
class SqliteStore::ReaderLease {
 public:
  ReaderLease(SqliteStore* store, Connection connection)
      : store_(store), owned_(std::move(connection)), connection_(&owned_) {}
  explicit ReaderLease(Connection* held) : store_(nullptr), connection_(held), held_(true) {}
  ReaderLease(ReaderLease&& other) noexcept
      : store_(std::exchange(other.store_, nullptr)),
        owned_(std::move(other.owned_)),
        connection_(other.held_ ? other.connection_ : &owned_),
        held_(other.held_) {}
  ReaderLease& operator=(ReaderLease&&) = delete;
  ~ReaderLease() {
    if (store_ != nullptr) store_->return_reader(std::move(owned_));
  }
  Connection* operator->() { return connection_; }
  Connection& operator*() { return *connection_; }

  // A read transaction for the reads that follow (a held connection is in one already).
  Status begin() { return held_ ? Status{} : connection_->run("BEGIN"); }
  void end() {
    if (!held_) (void)connection_->run("COMMIT");
  }
  // Ends the read transaction and begins a new one, held or not.
  Status begin_again() {
    (void)connection_->run("COMMIT");
    return connection_->run("BEGIN");
  }

 private:
  SqliteStore* store_;
  Connection owned_;
  Connection* connection_;
  bool held_ = false;
};

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::filesystem::path& path,
                                                       Options options) {
  std::unique_ptr<SqliteStore> store(new SqliteStore(path, options));
  RETURN_IF_ERROR(store->start(options.schema_version));
  return store;
}

Result<Connection> SqliteStore::open_connection() const {
  ASSIGN_OR_RETURN(Connection connection, Connection::open(path_));
  sqlite3_busy_timeout(connection.get(),
                       static_cast<int>(limits::kStoreBusyTimeout.count() * 1000));
  // FULL makes each commit fsync the WAL: acknowledged writes survive power loss, not only a crash.
  // secure_delete overwrites freed pages so erased key material does not linger in the file.
  RETURN_IF_ERROR(connection.execute(
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA secure_delete=ON;"
      "PRAGMA foreign_keys=ON;"));
  return connection;
}

Status SqliteStore::start(int schema_version) {
  // Refuse a file that is not a sound SQLite database (torn, overwritten, encrypted by ransomware)
  // before anything writes to it, and say what to do.
  const auto damaged = [&](std::string_view why) {
    return make_error(ErrorCode::kDataLoss,
                      fmt::format("the store {} is damaged ({}); restore it from a backup "
                                  "(kavach restore, docs/backup.md)",
                                  path_.string(), why));
  };
  auto opened = open_connection();
  if (!opened) {
    std::error_code error;
    const bool has_content = std::filesystem::file_size(path_, error) > 0 && !error;
    if (has_content) return damaged(opened.error().message);
    return tl::unexpected(opened.error());
  }
  Connection writer = std::move(*opened);
  {
    auto check = writer.prepare("PRAGMA quick_check");
    if (!check) return damaged(check.error().message);
    const auto step = check->step();
    if (!step) return damaged(step.error().message);
    if (*step != Statement::Step::kRow || check->column_text(0) != "ok") {
      return damaged("it failed its integrity check");
    }
  }
  RETURN_IF_ERROR(register_index_entries_functions(writer));
  RETURN_IF_ERROR(migrate(writer, schema_version, schema_version_));
  // Formatted once: every read and write of a record uses them. A store kept at a schema before
  // the digests (the migration tests build such stores) reads an empty blob in their place and
  // writes none.
  record_columns_ = fmt::format("{}, {}", kRecordColumnsBeforeDigests,
                                has_payload_digests() ? "payload_sha256" : "X''");
  current_version_sql_ = fmt::format(
      "SELECT {} FROM records WHERE type = ?1 AND id = ?2 ORDER BY version DESC LIMIT 1",
      record_columns_);
  insert_record_sql_ =
      has_payload_digests()
          ? fmt::format("INSERT INTO records ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                        record_columns_)
          : fmt::format("INSERT INTO records ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                        kRecordColumnsBeforeDigests);
  // The writer touches index pages all over the file (blind-index tags are random), so SQLite's
  // default 2 MiB page cache sends most inserts back to the disk for pages it just had; 64 MiB
  // keeps the hot part of the indexes in memory.
  RETURN_IF_ERROR(writer.execute("PRAGMA cache_size=-65536"));
  // Each statement that changes several rows inside the writer's transactions (a batch's
  // savepoint, a merge's multi-row inserts) keeps a statement journal of the pages it changes, to
  // undo itself alone should it fail. Past 64 KiB SQLite spills it to a temporary file: one
  // pwrite of each changed page (and one of its number) besides the page's WAL frame, a third of
  // the writer's pwrites in a run of creates. In memory it stays as large as one statement's
  // changes. Creates about +18%, transaction ingest +14% (bench/RESULTS.md, session 24). A bulk
  // load, whose sorts are as large as the store, goes back to files (begin_bulk_load).
  RETURN_IF_ERROR(writer.execute("PRAGMA temp_store=MEMORY"));
  // Checkpoints run on a thread of their own (see on_wal_commit) rather than inside a commit.
  ASSIGN_OR_RETURN(Connection checkpointer, open_connection());
  sqlite3_wal_hook(writer.get(), &SqliteStore::on_wal_commit, this);
  writer_ = std::make_unique<Connection>(std::move(writer));
  writer_thread_ = std::thread([this] { writer_loop(); });
  checkpointer_thread_ = std::thread(
      [this, connection = std::move(checkpointer)]() mutable { checkpointer_loop(connection); });
  return {};
}

SqliteStore::~SqliteStore() {
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queue_changed_.notify_all();
  if (writer_thread_.joinable()) writer_thread_.join();
  {
    std::lock_guard lock(checkpoint_mutex_);
    checkpoint_stopping_ = true;
  }
  checkpoint_wanted_.notify_all();
  if (checkpointer_thread_.joinable()) checkpointer_thread_.join();
}

int SqliteStore::on_wal_commit(void* context, sqlite3* db, const char* schema, int pages) {
  // SQLite's own automatic checkpoint runs here, on the committing writer, and commits wait for
  // it: copying thousands of pages and syncing the database file took a large part of a create's
  // time. A passive checkpoint on another connection copies pages while the writer goes on. Should
  // it fall far behind, the writer checkpoints itself, so the WAL file stays bounded.
  auto* store = static_cast<SqliteStore*>(context);
  if (pages >= kWalPagesCheckpointOnWriter) {
    sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  } else if (pages >= kWalPagesCheckpointInBackground) {
    {
      std::lock_guard lock(store->checkpoint_mutex_);
      store->checkpoint_requested_ = true;
    }
    store->checkpoint_wanted_.notify_one();
  }
  return SQLITE_OK;
}

void SqliteStore::checkpointer_loop(Connection& connection) {
  for (;;) {
    {
      std::unique_lock lock(checkpoint_mutex_);
      checkpoint_wanted_.wait(lock, [&] { return checkpoint_stopping_ || checkpoint_requested_; });
      if (checkpoint_stopping_) return;
      checkpoint_requested_ = false;
    }
    // A failure (another process checkpointing, say) is retried at the next request; the WAL
    // keeps every committed page meanwhile.
    std::lock_guard running(checkpoint_running_mutex_);
    (void)connection.execute("PRAGMA wal_checkpoint(PASSIVE)");
  }
}

Result<CommitReceipt> SqliteStore::commit(WriteBatch batch) {
  return commit_queued(std::move(batch)).wait();
}

CommitTicket SqliteStore::commit_queued(WriteBatch batch) {
  if (batch.empty()) return CommitTicket::done(CommitReceipt{});
  end_held_snapshot();
  if (batch.operations() > limits::kWriteBatchOperationsMax) {
    return CommitTicket::done(make_error(ErrorCode::kTooLarge, "too many writes in one batch"));
  }
  auto pending = std::make_unique<PendingCommit>();
  pending->batch = std::move(batch);
  CommitTicket ticket = pending->done;
  {
    std::lock_guard lock(queue_mutex_);
    if (stopping_) {
      return CommitTicket::done(make_error(ErrorCode::kUnavailable, "the store is closing"));
    }
    if (queue_.size() >= limits::kWriteQueueMax) {
      return CommitTicket::done(
          make_error(ErrorCode::kResourceExhausted, "the write queue is full; retry later"));
    }
    queue_.push_back(std::move(pending));
  }
  queue_changed_.notify_one();
  return ticket;
}

void SqliteStore::writer_loop() {
  std::vector<std::unique_ptr<PendingCommit>> group;
  for (;;) {
    {
      std::unique_lock lock(queue_mutex_);
      if (!queue_changed_.wait_for(lock, options_.journal_idle_merge_after,
                                   [&] { return stopping_ || !queue_.empty(); })) {
        lock.unlock();
        merge_journal_while_idle();
        continue;
      }
      if (queue_.empty()) return;  // stopping, and every queued commit has been answered
      while (!queue_.empty() && group.size() < limits::kGroupCommitBatchesMax &&
             !(queue_.front()->control && !group.empty())) {
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
        if (group.back()->control) break;
      }
    }
    if (group.size() == 1 && group.front()->control) {
      auto ran = group.front()->control();
      group.front()->done.complete(ran ? Result<CommitReceipt>(CommitReceipt{})
                                       : Result<CommitReceipt>(tl::unexpected(ran.error())));
    } else {
      apply_group(group);
      merge_journal_after_commit();
    }
    group.clear();
  }
}

void SqliteStore::apply_group(std::vector<std::unique_ptr<PendingCommit>>& group) {
  auto fail_all = [&](const Error& error) {
    for (auto& pending : group) pending->done.complete(tl::unexpected(error));
  };
  // Never a commit without its fsync, even after a merge that failed to set it back.
  if (auto synced = restore_synchronous_full(); !synced) return fail_all(synced.error());
  if (auto begun = writer_->run("BEGIN IMMEDIATE"); !begun) return fail_all(begun.error());
  // Another process may have committed since our last group, so the counters are read afresh.
  auto counters = read_counters();
  if (!counters) {
    (void)writer_->execute("ROLLBACK");
    return fail_all(counters.error());
  }
  std::vector<Result<CommitReceipt>> results;
  results.reserve(group.size());
  bool erased_keys = false;
  for (auto& pending : group) {
    (void)writer_->run("SAVEPOINT batch");
    const Counters counters_before = *counters;
    auto result = apply_batch(pending->batch, *counters);
    if (result) {
      (void)writer_->run("RELEASE batch");
      for (const auto& key : pending->batch.keys) erased_keys |= key.kind == KeyWrite::Kind::kErase;
    } else {
      (void)writer_->execute("ROLLBACK TO batch; RELEASE batch");
      *counters = counters_before;
    }
    results.push_back(std::move(result));
  }
  if (auto committed = writer_->run("COMMIT"); !committed) {
    (void)writer_->execute("ROLLBACK");
    return fail_all(committed.error());
  }
  if (erased_keys) {
    // Fold the WAL into the main file so the old wrapped key bytes do not survive in the log. A
    // checkpoint running on the checkpointer thread would make this one fail at once (SQLite
    // does not wait for another checkpoint), so it waits for that one to end.
    std::lock_guard running(checkpoint_running_mutex_);
    (void)writer_->execute("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  for (std::size_t i = 0; i < group.size(); ++i) group[i]->done.complete(std::move(results[i]));
}

Result<SqliteStore::Counters> SqliteStore::read_counters() {
  Counters counters;
  {
    ASSIGN_OR_RETURN(auto statement,
                     writer_->prepare("SELECT coalesce(max(sequence), 0) FROM records"));
    RETURN_IF_ERROR(statement.step());
    counters.next_sequence = statement.column_int(0) + 1;
  }
  ASSIGN_OR_RETURN(auto statement,
                   writer_->prepare("SELECT coalesce(max(idx) + 1, 0) FROM audit_entries"));
  RETURN_IF_ERROR(statement.step());
  counters.next_audit_index = statement.column_int(0);
  return counters;
}

Result<CommitReceipt> SqliteStore::apply_batch(const WriteBatch& batch, Counters& counters) {
  CommitReceipt receipt;
  RETURN_IF_ERROR(apply_records(batch, counters, receipt));
  RETURN_IF_ERROR(apply_keys(batch));
  RETURN_IF_ERROR(apply_audit(batch, counters, receipt));
  return receipt;
}

Status SqliteStore::apply_records(const WriteBatch& batch, Counters& counters,
                                  CommitReceipt& receipt) {
  for (const auto& write : batch.records) {
    const RecordVersion& record = write.record;
    if (write.expected_version != kAnyVersion) {
      ASSIGN_OR_RETURN(
          auto current,
          writer_->prepare(
              "SELECT coalesce(max(version), 0) FROM records WHERE type = ?1 AND id = ?2"));
      current.bind(1, record.type).bind(2, record.id);
      RETURN_IF_ERROR(current.step());
      const std::int64_t current_version = current.column_int(0);
      if (current_version != write.expected_version) {
        return make_error(ErrorCode::kConflict,
                          fmt::format("{}/{} is at version {}, not the expected {}", record.type,
                                      record.id, current_version, write.expected_version));
      }
    }
    ASSIGN_OR_RETURN(auto insert, writer_->prepare(insert_record_sql_));
    const std::int64_t sequence = counters.next_sequence++;
    insert.bind(1, record.partition)
        .bind(2, record.type)
        .bind(3, record.id)
        .bind(4, record.version)
        .bind(5, sequence)
        .bind(6, record.recorded_at_ms)
        .bind(7, std::int64_t{record.deleted ? 1 : 0})
        .bind(8, record.payload);
    if (has_payload_digests()) insert.bind(9, record.payload_sha256);
    RETURN_IF_ERROR(insert.run());
    if (receipt.first_sequence == 0) receipt.first_sequence = sequence;
    receipt.last_sequence = sequence;

    if (!bulk_loading_ && journaled()) {
      // The version's whole index (none for a tombstone) replaces the record's rows when merged.
      const Bytes entries =
          encode_index_entries(record.deleted ? std::vector<IndexEntry>{} : write.index);
      ASSIGN_OR_RETURN(auto journal,
                       writer_->prepare("INSERT INTO index_journal (sequence, type, id, "
                                        "partition_key, entries) VALUES (?1, ?2, ?3, ?4, ?5)"));
      journal.bind(1, sequence)
          .bind(2, record.type)
          .bind(3, record.id)
          .bind(4, record.partition)
          .bind(5, entries);
      RETURN_IF_ERROR(journal.run());
      continue;
    }
    if (!bulk_loading_) {
      // A schema from before the journal (a migration test writing an old database).
      ASSIGN_OR_RETURN(auto clear,
                       writer_->prepare("DELETE FROM record_index WHERE type = ?1 AND id = ?2"));
      clear.bind(1, record.type).bind(2, record.id);
      RETURN_IF_ERROR(clear.run());
    }
    if (record.deleted) continue;
    for (const auto& entry : write.index) {
      // A bulk load stages the rows (given once per record, with its last version) and inserts
      // them in key order at the end.
      ASSIGN_OR_RETURN(auto add,
                       writer_->prepare(bulk_loading_ ? "INSERT INTO temp.staged_index (type, "
                                                        "name, value, id, partition_key) VALUES "
                                                        "(?1, ?2, ?3, ?4, ?5)"
                                                      : "INSERT OR IGNORE INTO record_index "
                                                        "(type, name, value, id, partition_key) "
                                                        "VALUES (?1, ?2, ?3, ?4, ?5)"));
      add.bind(1, record.type)
          .bind(2, entry.name)
          .bind(3, entry.value)
          .bind(4, record.id)
          .bind(5, record.partition);
      RETURN_IF_ERROR(add.run());
    }
  }
  return {};
}

Status SqliteStore::apply_keys(const WriteBatch& batch) {
  for (const auto& write : batch.keys) {
    const WrappedKey& key = write.key;
    switch (write.kind) {
      case KeyWrite::Kind::kCreateIfAbsent:
      case KeyWrite::Kind::kCreate: {
        ASSIGN_OR_RETURN(
            auto insert,
            writer_->prepare(
                "INSERT OR IGNORE INTO data_keys (name, kek_id, wrapped, created_at_ms) "
                "VALUES (?1, ?2, ?3, ?4)"));
        insert.bind(1, key.name)
            .bind(2, key.kek_id)
            .bind(3, key.wrapped)
            .bind(4, key.created_at_ms);
        RETURN_IF_ERROR(insert.run());
        if (write.kind == KeyWrite::Kind::kCreate && sqlite3_changes(writer_->get()) != 1) {
          return make_error(ErrorCode::kAlreadyExists,
                            fmt::format("key {} was created meanwhile", key.name));
        }
        break;
      }
      case KeyWrite::Kind::kRewrap: {
        ASSIGN_OR_RETURN(auto update,
                         writer_->prepare("UPDATE data_keys SET kek_id = ?2, wrapped = ?3 "
                                          "WHERE name = ?1 AND kek_id = ?4 AND erased_at_ms = 0"));
        update.bind(1, key.name)
            .bind(2, key.kek_id)
            .bind(3, key.wrapped)
            .bind(4, write.expected_kek_id);
        RETURN_IF_ERROR(update.run());
        if (sqlite3_changes(writer_->get()) != 1) {
          return make_error(ErrorCode::kConflict, fmt::format("key {} is not wrapped by {}",
                                                              key.name, write.expected_kek_id));
        }
        break;
      }
      case KeyWrite::Kind::kErase: {
        ASSIGN_OR_RETURN(
            auto erase,
            writer_->prepare(
                "UPDATE data_keys SET wrapped = X'', erased_at_ms = ?2 WHERE name = ?1"));
        erase.bind(1, key.name).bind(2, key.erased_at_ms);
        RETURN_IF_ERROR(erase.run());
        if (sqlite3_changes(writer_->get()) != 1) {
          return make_error(ErrorCode::kNotFound, fmt::format("no key named {}", key.name));
        }
        break;
      }
    }
  }
  return {};
}

Status SqliteStore::apply_audit(const WriteBatch& batch, Counters& counters,
                                CommitReceipt& receipt) {
  static const RowInsert kAuditEntries("INSERT INTO audit_entries (idx, subject, entry) VALUES ",
                                       3);
  const std::int64_t first_index = counters.next_audit_index;
  RETURN_IF_ERROR(insert_rows(*writer_, kAuditEntries, batch.audit.size(),
                              [&](Statement& statement, int first, std::size_t row) {
                                statement.bind(first, first_index + static_cast<std::int64_t>(row))
                                    .bind(first + 1, batch.audit[row].subject)
                                    .bind(first + 2, batch.audit[row].entry);
                              }));
  counters.next_audit_index += static_cast<std::int64_t>(batch.audit.size());
  if (!batch.audit.empty() && receipt.first_audit_index < 0) {
    receipt.first_audit_index = first_index;
  }
  for (const auto& tile : batch.audit_tiles) {
    ASSIGN_OR_RETURN(auto insert,
                     writer_->prepare("INSERT OR IGNORE INTO audit_tiles (level, tile, hashes) "
                                      "VALUES (?1, ?2, ?3)"));
    insert.bind(1, std::int64_t{tile.level}).bind(2, tile.index).bind(3, tile.hashes);
    RETURN_IF_ERROR(insert.run());
  }
  for (const auto& checkpoint : batch.checkpoints) {
    ASSIGN_OR_RETURN(
        auto insert,
        writer_->prepare("INSERT OR IGNORE INTO audit_checkpoints (size, note, recorded_at_ms) "
                         "VALUES (?1, ?2, ?3)"));
    insert.bind(1, checkpoint.size).bind(2, checkpoint.note).bind(3, checkpoint.recorded_at_ms);
    RETURN_IF_ERROR(insert.run());
  }
  return {};
}

Result<SqliteStore::ReaderLease> SqliteStore::lease_reader() {
  if (auto* held = held_reads()) {
    ASSIGN_OR_RETURN(auto* connection, held->connection());
    return ReaderLease(connection);
  }
  ASSIGN_OR_RETURN(auto connection, take_reader());
  return ReaderLease(this, std::move(connection));
}

Result<Connection> SqliteStore::take_reader() {
  {
    std::lock_guard lock(readers_mutex_);
    if (!idle_readers_.empty()) {
      Connection connection = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return connection;
    }
  }
  ASSIGN_OR_RETURN(Connection connection, open_connection());
  RETURN_IF_ERROR(connection.execute("PRAGMA query_only=ON"));
  return connection;
}

SqliteStore::HeldReads* SqliteStore::held_reads() { return HeldReads::find(*this); }

void SqliteStore::end_held_snapshot() {
  if (auto* held = held_reads()) held->end_snapshot();
}

ReadScope SqliteStore::hold_reads() {
  if (held_reads() != nullptr) return {};
  return ReadScope(std::make_unique<HeldReads>(*this));
}

void SqliteStore::return_reader(Connection connection) {
  std::lock_guard lock(readers_mutex_);
  // Beyond the bound, the connection is simply closed.
  if (idle_readers_.size() < limits::kReadConnectionsMax) {
    idle_readers_.push_back(std::move(connection));
  }
}

Result<std::optional<std::int64_t>> SqliteStore::record_cache_snapshot(Connection& reader) {
  if (!record_cache_.enabled()) return std::nullopt;
  ASSIGN_OR_RETURN(auto last, reader.prepare("SELECT coalesce(max(sequence), 0) FROM records"));
  ASSIGN_OR_RETURN(const auto step, last.step());
  if (step != Statement::Step::kRow) return std::nullopt;
  const std::int64_t snapshot_sequence = last.column_int(0);
  const auto changed =
      [&](std::int64_t after,
          std::int64_t through) -> Result<std::vector<std::pair<std::string, std::string>>> {
    ASSIGN_OR_RETURN(auto statement,
                     reader.prepare("SELECT type, id FROM records WHERE sequence > ?1 AND "
                                    "sequence <= ?2"));
    statement.bind(1, after).bind(2, through);
    std::vector<std::pair<std::string, std::string>> records;
    for (;;) {
      ASSIGN_OR_RETURN(const auto row, statement.step());
      if (row == Statement::Step::kDone) return records;
      records.emplace_back(statement.column_text(0), statement.column_text(1));
    }
  };
  ASSIGN_OR_RETURN(const bool usable, record_cache_.catch_up(snapshot_sequence, changed));
  if (!usable) return std::nullopt;
  return snapshot_sequence;
}

Result<std::optional<RecordVersion>> SqliteStore::read_current(const std::string& type,
                                                               const std::string& id) {
  ASSIGN_OR_RETURN(auto records, read_current_many(type, std::span(&id, 1)));
  if (records.empty()) return std::nullopt;
  return std::move(records.front());
}

Result<std::vector<RecordVersion>> SqliteStore::read_current_many(
    const std::string& type, std::span<const std::string> ids) {
  std::vector<RecordVersion> records;
  if (ids.empty()) return records;
  ASSIGN_OR_RETURN(auto reader, lease_reader());
  // One read transaction for the lot: SQLite drops a connection's page cache when a transaction
  // begins on a WAL that changed since the last one (every commit changes it), so reading record
  // by record read the same upper B-tree pages again for each. The record cache keeps the
  // records themselves across transactions.
  RETURN_IF_ERROR(reader.begin());
  auto read = [&]() -> Status {
    ASSIGN_OR_RETURN(const auto cache_snapshot, record_cache_snapshot(*reader));
    ASSIGN_OR_RETURN(auto statement, reader->prepare(current_version_sql_));
    records.reserve(ids.size());
    for (const auto& id : ids) {
      if (cache_snapshot) {
        if (auto cached = record_cache_.find(*cache_snapshot, type, id)) {
          records.push_back(std::move(*cached));
          continue;
        }
      }
      statement.reset().bind(1, type).bind(2, id);
      ASSIGN_OR_RETURN(const auto step, statement.step());
      if (step != Statement::Step::kRow) continue;
      records.push_back(read_record(statement));
      if (cache_snapshot) record_cache_.insert(*cache_snapshot, records.back());
    }
    return {};
  }();
  reader.end();
  RETURN_IF_ERROR(read);
  return records;
}

Result<std::optional<RecordVersion>> SqliteStore::read_version(const std::string& type,
                                                               const std::string& id,
                                                               std::int64_t version) {
  ASSIGN_OR_RETURN(auto reader, lease_reader());
  ASSIGN_OR_RETURN(
      auto statement,
      reader->prepare(fmt::format(
          "SELECT {} FROM records WHERE type = ?1 AND id = ?2 AND version = ?3", record_columns_)));
  statement.bind(1, type).bind(2, id).bind(3, version);
  ASSIGN_OR_RETURN(auto records, collect_records(statement));
  if (records.empty()) return std::nullopt;
  return std::move(records.front());
}

Result<std::vector<RecordVersion>> SqliteStore::history(const std::string& type,
                                                        const std::string& id, std::size_t limit) {
  ASSIGN_OR_RETURN(auto reader, lease_reader());
  ASSIGN_OR_RETURN(
      auto statement,
      reader->prepare(fmt::format(
          "SELECT {} FROM records WHERE type = ?1 AND id = ?2 ORDER BY version DESC LIMIT ?3",
          record_columns_)));
  statement.bind(1, type).bind(2, id).bind(
      3, static_cast<std::int64_t>(std::min(limit, limits::kHistoryVersionsMax)));
  return collect_records(statement);
}

Result<std::vector<std::string>> SqliteStore::find(const IndexQuery& query) {
  const std::size_t limit = std::min(query.limit, limits::kPageSizeMax);
  std::vector<std::string> ids;
  RETURN_IF_ERROR(
      read_index(query.type, [&](Connection& reader, const IndexJournal& journal) -> Status {
        ASSIGN_OR_RETURN(
            auto indexed,
            indexed_ids(
                reader, journal, query.type,
                "SELECT id FROM record_index WHERE type = ?1 AND name = ?4 AND value = ?5 AND "
                "id > ?2 ORDER BY id LIMIT ?3",
                [&](Statement& statement) {
                  statement.bind(4, query.entry.name).bind(5, query.entry.value);
                },
                query.after_id, limit));
        ids = merge_ids(
            std::move(indexed),
            journal.find(query.type, query.entry.name, query.entry.value, query.after_id, limit),
            limit);
        return {};
      }));
  return ids;
}

Result<JournalState> SqliteStore::read_journal_state(Connection& connection) {
  ASSIGN_OR_RETURN(auto statement,
                   connection.prepare("SELECT merged_through, coalesce((SELECT max(sequence) FROM "
                                      "index_journal), merged_through) FROM index_journal_state"));
  ASSIGN_OR_RETURN(const auto step, statement.step());
  if (step != Statement::Step::kRow) {
    return make_error(ErrorCode::kDataLoss, "the index journal's state row is missing");
  }
  return JournalState{statement.column_int(0), statement.column_int(1)};
}

Status SqliteStore::read_index(const JournalScope& scope, const IndexRead& query,
                               std::int64_t* as_of_sequence) {
  ASSIGN_OR_RETURN(auto reader, lease_reader());
  if (!journaled()) return query(*reader, IndexJournal{});
  // A snapshot older than the copy's last merge cannot be answered from it (the rows merged are
  // gone from the copy and not yet in that snapshot's index table); a new snapshot is newer than
  // any merge the copy has seen, so the second try succeeds unless merges keep racing it.
  RETURN_IF_ERROR(reader.begin());
  auto finish = [&](Status status) {
    reader.end();
    return status;
  };
  for (int attempt = 0; attempt < 100; ++attempt) {
    if (attempt > 0) RETURN_IF_ERROR(reader.begin_again());
    auto snapshot = read_journal_state(*reader);
    if (!snapshot) return finish(tl::unexpected(snapshot.error()));
    // Every committed version adds a journal row, so the snapshot's last sequence is the newest
    // version the index answer can reflect.
    const auto answer = [&] {
      if (as_of_sequence != nullptr) *as_of_sequence = snapshot->last_sequence;
      return query(*reader, journal_);
    };
    {
      std::shared_lock lock(journal_mutex_);
      const auto fit = journal_.fit(*snapshot, scope);
      if (fit == IndexJournal::Fit::kCurrent) return finish(answer());
      if (fit == IndexJournal::Fit::kAhead) continue;
    }
    std::unique_lock lock(journal_mutex_);
    switch (journal_.fit(*snapshot, scope)) {
      case IndexJournal::Fit::kAhead:
        continue;
      case IndexJournal::Fit::kBehind:
        if (auto caught_up = catch_up_journal(*reader, *snapshot, scope); !caught_up) {
          return finish(caught_up);
        }
        [[fallthrough]];
      case IndexJournal::Fit::kCurrent:
        return finish(answer());
    }
  }
  return finish(
      make_error(ErrorCode::kUnavailable, "the index kept changing under the query; retry"));
}

Status SqliteStore::catch_up_journal(Connection& reader, const JournalState& snapshot,
                                     const JournalScope& scope) {
  journal_.drop_merged(snapshot.merged_through);
  if (snapshot.last_sequence > journal_.loaded_through(scope)) {
    // One type's rows are picked out of the journal's newest by SQLite, undecoded.
    ASSIGN_OR_RETURN(
        auto statement,
        reader.prepare(scope ? "SELECT sequence, type, id, partition_key, entries FROM "
                               "index_journal WHERE sequence > ?1 AND type = ?2 "
                               "ORDER BY sequence"
                             : "SELECT sequence, type, id, partition_key, entries FROM "
                               "index_journal WHERE sequence > ?1 ORDER BY sequence"));
    statement.bind(1, journal_.loaded_through(scope));
    if (scope) statement.bind(2, *scope);
    for (;;) {
      ASSIGN_OR_RETURN(const auto step, statement.step());
      if (step == Statement::Step::kDone) break;
      ASSIGN_OR_RETURN(auto entries, decode_index_entries(statement.column_blob(4)));
      journal_.add(JournalRow{statement.column_int(0), statement.column_text(1),
                              statement.column_text(2), statement.column_text(3),
                              std::move(entries)});
    }
  }
  journal_.caught_up_to(snapshot, scope);
  return {};
}

Result<std::vector<std::string>> SqliteStore::indexed_ids(
    Connection& reader, const IndexJournal& journal, const std::string& type,
    const std::string& sql, const std::function<void(Statement&)>& bind, std::string after_id,
    std::size_t limit) {
  std::vector<std::string> ids;
  // Rows of records the journal holds are skipped, so a page may need more than one query.
  while (ids.size() < limit) {
    ASSIGN_OR_RETURN(auto statement, reader.prepare(sql));
    statement.bind(1, type).bind(2, after_id).bind(3, static_cast<std::int64_t>(limit));
    bind(statement);
    std::size_t fetched = 0;
    std::string last;
    for (;;) {
      ASSIGN_OR_RETURN(const auto step, statement.step());
      if (step == Statement::Step::kDone) break;
      ++fetched;
      last = statement.column_text(0);
      if (!journal.holds(type, last) && ids.size() < limit) ids.push_back(last);
    }
    if (fetched < limit) break;
    after_id = std::move(last);
  }
  return ids;
}

Result<std::int64_t> SqliteStore::merge_index_journal(std::int64_t rows) {
  // A merge only moves derived rows: lost to a crash, it leaves its rows in the journal to be
  // merged again. So it need not wait for an fsync (synchronous=NORMAL writes its WAL frames
  // without one). Recovery replays the WAL in order and stops at the first frame that is not
  // whole, and the next commit's fsync covers every frame before its own, so no acknowledged
  // commit can outlive a merge written before it. Transaction ingest: about 6% more.
  writer_synchronous_full_ = false;
  RETURN_IF_ERROR(writer_->execute("PRAGMA synchronous=NORMAL"));
  auto merged = merge_journal_rows(rows);
  RETURN_IF_ERROR(restore_synchronous_full());
  return merged;
}

Status SqliteStore::restore_synchronous_full() {
  if (writer_synchronous_full_) return {};
  RETURN_IF_ERROR(writer_->execute("PRAGMA synchronous=FULL"));
  writer_synchronous_full_ = true;
  return {};
}

Result<std::int64_t> SqliteStore::merge_journal_rows(std::int64_t rows) {
  RETURN_IF_ERROR(writer_->execute("BEGIN IMMEDIATE"));
  auto rollback_on_error = [&](auto result) {
    if (!result) (void)writer_->execute("ROLLBACK");
    return result;
  };
  auto merged = [&]() -> Result<std::int64_t> {
    // The last write of each record among the oldest `rows` replaces its index rows.
    // The journal's encoding is also what record_index_entries stores, so it is kept as read,
    // and the entries are views into it.
    struct Written {
      std::int64_t sequence = 0;
      std::string type;
      std::string id;
      std::string partition;
      Bytes encoded;
      std::vector<IndexEntryView> entries;
    };
    std::vector<Written> written;
    written.reserve(static_cast<std::size_t>(std::max<std::int64_t>(rows, 0)));
    {
      ASSIGN_OR_RETURN(auto statement,
                       writer_->prepare("SELECT sequence, type, id, partition_key, entries FROM "
                                        "index_journal ORDER BY sequence LIMIT ?1"));
      statement.bind(1, rows);
      for (;;) {
        ASSIGN_OR_RETURN(const auto step, statement.step());
        if (step == Statement::Step::kDone) break;
        const auto encoded = statement.column_blob(4);
        Written each{statement.column_int(0),
                     statement.column_text(1),
                     statement.column_text(2),
                     statement.column_text(3),
                     Bytes(encoded.begin(), encoded.end()),
                     {}};
        // Moving the Written keeps the bytes where they are, so the views stay good.
        ASSIGN_OR_RETURN(each.entries, decode_index_entry_views(each.encoded));
        written.push_back(std::move(each));
      }
    }
    if (written.empty()) return std::int64_t{0};
    const std::int64_t through = written.back().sequence;
    // Each record once, by its newest write, in (type, id) order.
    std::vector<const Written*> latest;
    latest.reserve(written.size());
    for (const auto& each : written) latest.push_back(&each);
    std::sort(latest.begin(), latest.end(), [](const Written* a, const Written* b) {
      return std::tie(a->type, a->id, b->sequence) < std::tie(b->type, b->id, a->sequence);
    });
    latest.erase(std::unique(latest.begin(), latest.end(),
                             [](const Written* a, const Written* b) {
                               return a->type == b->type && a->id == b->id;
                             }),
                 latest.end());

    // A record new to the index gets its entries row; one already there has the rows its new
    // entries do not keep deleted and its entries row replaced (or removed, for a tombstone).
    ASSIGN_OR_RETURN(auto current, writer_->prepare("SELECT entries FROM record_index_entries "
                                                    "WHERE type = ?1 AND id = ?2"));
    ASSIGN_OR_RETURN(auto remove_row,
                     writer_->prepare("DELETE FROM record_index WHERE type = ?1 AND name = ?2 "
                                      "AND value = ?3 AND id = ?4"));
    // An upsert rather than an UPDATE: the batched insert below is INSERT OR IGNORE, which would
    // also skip a row for a reason other than its key (a NOT NULL column); settling that row
    // here then raises the error instead of leaving the record without its entries row.
    ASSIGN_OR_RETURN(auto replace_entries,
                     writer_->prepare("INSERT INTO record_index_entries (type, id, entries) VALUES "
                                      "(?1, ?2, ?3) ON CONFLICT (type, id) DO UPDATE SET entries "
                                      "= excluded.entries"));
    ASSIGN_OR_RETURN(auto remove_entries, writer_->prepare("DELETE FROM record_index_entries "
                                                           "WHERE type = ?1 AND id = ?2"));
    // Settles a tombstone, or a record whose entries row the insert below may have skipped:
    // unless the stored row holds what the write left (just inserted, or unchanged), the index
    // rows its new entries drop go and the row is replaced (removed, for a tombstone).
    auto replace_index = [&](const Written& each) -> Status {
      current.reset().bind(1, each.type).bind(2, each.id);
      ASSIGN_OR_RETURN(const auto found, current.step());
      if (found == Statement::Step::kRow) {
        const auto stored = current.column_blob(0);
        if (!each.entries.empty() && std::ranges::equal(stored, each.encoded)) {
          current.reset();
          return {};
        }
        // Views into the row `current` holds, which stays put until it is reset below.
        ASSIGN_OR_RETURN(const auto old_entries, decode_index_entry_views(stored));
        for (const auto& entry : old_entries) {
          // Both lists are in (name, value) order.
          if (std::binary_search(each.entries.begin(), each.entries.end(), entry,
                                 entry_view_less)) {
            continue;
          }
          remove_row.reset()
              .bind(1, each.type)
              .bind(2, entry.name)
              .bind(3, entry.value)
              .bind(4, each.id);
          RETURN_IF_ERROR(remove_row.run());
        }
      }
      current.reset();
      if (each.entries.empty()) {
        remove_entries.reset().bind(1, each.type).bind(2, each.id);
        return remove_entries.run();
      }
      replace_entries.reset().bind(1, each.type).bind(2, each.id).bind(3, each.encoded);
      return replace_entries.run();
    };
    std::vector<const Written*> indexed;
    indexed.reserve(latest.size());
    std::vector<MergeRow> index_rows;
    for (const Written* each : latest) {
      if (each->entries.empty()) {
        RETURN_IF_ERROR(replace_index(*each));
        continue;
      }
      indexed.push_back(each);
      for (const auto& entry : each->entries) {
        index_rows.push_back(MergeRow{each->type, each->id, each->partition, entry});
      }
    }
    // Most merged writes create their record: their entries rows go in many to a statement, and
    // only a statement that skipped a row (a record already indexed) looks at its rows one by one.
    static const RowInsert kEntriesRows(
        "INSERT OR IGNORE INTO record_index_entries (type, id, entries) VALUES ", 3);
    auto replace_skipped = [&](std::size_t first, std::size_t count) -> Status {
      for (std::size_t row = first; row < first + count; ++row) {
        RETURN_IF_ERROR(replace_index(*indexed[row]));
      }
      return {};
    };
    RETURN_IF_ERROR(insert_rows(
        *writer_, kEntriesRows, indexed.size(),
        [&](Statement& statement, int first, std::size_t row) {
          statement.bind(first, indexed[row]->type)
              .bind(first + 1, indexed[row]->id)
              .bind(first + 2, indexed[row]->encoded);
        },
        replace_skipped));
    // In key order, consecutive rows mostly share a page: each page is written once per merge.
    static const RowInsert kIndexRows(
        "INSERT OR IGNORE INTO record_index (type, name, value, id, partition_key) VALUES ", 5);
    const auto ordered = in_key_order(index_rows);
    RETURN_IF_ERROR(insert_rows(*writer_, kIndexRows, ordered.size(),
                                [&](Statement& statement, int first, std::size_t row) {
                                  const MergeRow& index_row = *ordered[row];
                                  statement.bind(first, index_row.type)
                                      .bind(first + 1, index_row.entry.name)
                                      .bind(first + 2, index_row.entry.value)
                                      .bind(first + 3, index_row.id)
                                      .bind(first + 4, index_row.partition);
                                }));
    ASSIGN_OR_RETURN(auto remove,
                     writer_->prepare("DELETE FROM index_journal WHERE sequence <= ?1"));
    remove.bind(1, through);
    RETURN_IF_ERROR(remove.run());
    ASSIGN_OR_RETURN(auto state,
                     writer_->prepare("UPDATE index_journal_state SET merged_through = ?1"));
    state.bind(1, through);
    RETURN_IF_ERROR(state.run());
    // Journal rows, not records: a full merge (as many as asked) is what sizing the next one
    // looks at, and a record written twice in the chunk is two rows.
    return static_cast<std::int64_t>(written.size());
  }();
  if (!merged) return rollback_on_error(std::move(merged));
  RETURN_IF_ERROR(rollback_on_error(writer_->execute("COMMIT")));
  return merged;
}

Result<std::int64_t> SqliteStore::merge_index_journal_timed() {
  if (merge_records_ == 0) merge_records_ = options_.journal_merge_records;
  const auto started = std::chrono::steady_clock::now();
  auto merged = merge_index_journal(merge_records_);
  const auto took = std::chrono::steady_clock::now() - started;
  // A small store's index takes many merged rows per page written, a large one's about one per
  // row; sizing merges by their time keeps commits' waits alike on both and merges as large as
  // that allows.
  if (merged && *merged == merge_records_) {
    const std::int64_t largest =
        std::max(options_.journal_merge_records, options_.journal_records_max / 2);
    if (took < options_.journal_merge_time) {
      merge_records_ = std::min(merge_records_ * 2, largest);
    } else if (took > options_.journal_merge_time * 2) {
      merge_records_ = std::max<std::int64_t>(merge_records_ / 2, 1);
    }
  }
  return merged;
}

void SqliteStore::merge_journal_after_commit() {
  if (bulk_loading_ || !journaled()) return;
  // One merge per group commit, so commits keep flowing while the journal drains; only a journal
  // past twice its bound (merges not keeping up) is merged down before the next commit.
  for (bool first = true;; first = false) {
    const auto span = journal_span(*writer_);
    if (!span || *span <= options_.journal_records_max) return;
    if (!first && *span <= 2 * options_.journal_records_max) return;
    // A failed merge (a full disk, say) leaves the rows in the journal, still answered from it.
    auto merged = merge_index_journal_timed();
    if (!merged || *merged == 0) return;
  }
}

void SqliteStore::merge_journal_while_idle() {
  if (bulk_loading_ || !journaled()) return;
  for (;;) {
    {
      std::lock_guard lock(queue_mutex_);
      if (stopping_ || !queue_.empty()) return;
    }
    // Read first, so an idle node with nothing to merge does not take the database's write lock
    // every half second (which a CLI process writing meanwhile would wait for).
    const auto span = journal_span(*writer_);
    if (!span || *span == 0) return;
    auto merged = merge_index_journal_timed();
    if (!merged || *merged == 0) return;
  }
}

class SqliteStore::SqliteBulkLoad final : public BulkLoad {
 public:
  explicit SqliteBulkLoad(SqliteStore& store) : store_(store) {}
  Result<CommitReceipt> add(WriteBatch batch) override { return store_.commit(std::move(batch)); }
  Status finish() override {
    return store_.run_on_writer([this] { return store_.finish_bulk_load(); });
  }

 private:
  SqliteStore& store_;
};

Status SqliteStore::run_on_writer(std::function<Status()> step) {
  auto pending = std::make_unique<PendingCommit>();
  pending->control = std::move(step);
  CommitTicket done = pending->done;
  {
    std::lock_guard lock(queue_mutex_);
    if (stopping_) return make_error(ErrorCode::kUnavailable, "the store is closing");
    queue_.push_back(std::move(pending));
  }
  queue_changed_.notify_one();
  return done.wait().map([](const CommitReceipt&) {});
}

Result<std::unique_ptr<BulkLoad>> SqliteStore::begin_bulk_load() {
  end_held_snapshot();
  RETURN_IF_ERROR(run_on_writer([this] { return start_bulk_load(); }));
  return std::unique_ptr<BulkLoad>(new SqliteBulkLoad(*this));
}

Status SqliteStore::start_bulk_load() {
  if (bulk_loading_) return make_error(ErrorCode::kFailedPrecondition, "a bulk load is running");
  for (const char* table : {"records", "audit_entries", "data_keys"}) {
    ASSIGN_OR_RETURN(auto rows, writer_->prepare(fmt::format("SELECT count(*) FROM {}", table)));
    RETURN_IF_ERROR(rows.step());
    if (rows.column_int(0) != 0) {
      return make_error(ErrorCode::kFailedPrecondition, "a bulk load needs an empty store");
    }
  }
  // Secondary indexes are built once at the end, from sorted data, rather than row by row.
  std::vector<std::pair<std::string, std::string>> indexes;
  {
    ASSIGN_OR_RETURN(auto listed,
                     writer_->prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                                      "AND sql IS NOT NULL ORDER BY name"));
    for (;;) {
      ASSIGN_OR_RETURN(const auto step, listed.step());
      if (step == Statement::Step::kDone) break;
      indexes.emplace_back(listed.column_text(0), listed.column_text(1));
    }
  }
  // Records go in as they come: in change-feed order, which is the table's key order, so each is
  // appended to the last page.
  // The staged rows and the sorts that build the indexes again are as large as the store: they
  // go to temporary files, not memory, until finish_bulk_load.
  RETURN_IF_ERROR(writer_->execute(
      "PRAGMA synchronous=OFF; PRAGMA temp_store=FILE; CREATE TEMP TABLE staged_index (type "
      "TEXT, name TEXT, value BLOB, id TEXT, partition_key TEXT)"));
  for (const auto& [name, sql] : indexes) {
    RETURN_IF_ERROR(writer_->execute(fmt::format("DROP INDEX \"{}\"", name)));
    dropped_indexes_.push_back(sql);
  }
  bulk_loading_ = true;
  return {};
}

Status SqliteStore::finish_bulk_load() {
  if (!bulk_loading_) return make_error(ErrorCode::kFailedPrecondition, "no bulk load is running");
  // The sorts below (the staged index rows, each secondary index) may use a second core.
  RETURN_IF_ERROR(writer_->execute("PRAGMA threads=2"));
  RETURN_IF_ERROR(writer_->execute(
      "BEGIN IMMEDIATE; INSERT OR IGNORE INTO record_index (type, name, value, id, partition_key) "
      "SELECT type, name, value, id, partition_key FROM temp.staged_index "
      "ORDER BY type, name, value, id; "
      "INSERT INTO record_index_entries (type, id, entries) "
      "SELECT type, id, kavach_index_entries(name, value) FROM temp.staged_index "
      "GROUP BY type, id; COMMIT; DROP TABLE temp.staged_index"));
  for (const auto& sql : dropped_indexes_) RETURN_IF_ERROR(writer_->execute(sql));
  dropped_indexes_.clear();
  RETURN_IF_ERROR(writer_->execute("PRAGMA temp_store=MEMORY"));
  bulk_loading_ = false;
  // Durable from here: the checkpoint writes everything into the database file and syncs it. It
  // waits for one running on the checkpointer thread, which would make it fail at once.
  std::lock_guard running(checkpoint_running_mutex_);
  return writer_->execute(
      "PRAGMA threads=0; PRAGMA synchronous=FULL; PRAGMA wal_checkpoint(TRUNCATE)");
}

Result<std::vector<IndexEntry>> SqliteStore::index_entries(const std::string& type,
                                                           const std::string& id) {
  std::vector<IndexEntry> entries;
  RETURN_IF_ERROR(read_index(type, [&](Connection& reader, const IndexJournal& journal) -> Status {
    if (const auto* held = journal.entries(type, id)) {
      entries = *held;  // encoded in (name, value) order
      return {};
    }
    if (!journaled()) {  // an older schema, written only by tests of its migration
      ASSIGN_OR_RETURN(
          auto statement,
          reader.prepare("SELECT name, value FROM record_index WHERE type = ?1 AND id = ?2 "
                         "ORDER BY name, value"));
      statement.bind(1, type).bind(2, id);
      for (;;) {
        ASSIGN_OR_RETURN(const auto step, statement.step());
        if (step == Statement::Step::kDone) return {};
        const auto value = statement.column_blob(1);
        entries.push_back(IndexEntry{statement.column_text(0), Bytes(value.begin(), value.end())});
      }
    }
    ASSIGN_OR_RETURN(auto statement, reader.prepare("SELECT entries FROM record_index_entries "
                                                    "WHERE type = ?1 AND id = ?2"));
    statement.bind(1, type).bind(2, id);
    ASSIGN_OR_RETURN(const auto step, statement.step());
    if (step == Statement::Step::kDone) return {};
    ASSIGN_OR_RETURN(entries, decode_index_entries(statement.column_blob(0)));
    return {};
  }));
  return entries;
}

Result<IndexMatches> SqliteStore::find_any(const std::string& type, const std::string& name,
                                           const std::vector<Bytes>& values,
                                           const std::string& after_id, std::size_t limit) {
  if (values.empty()) return IndexMatches{};
  limit = std::min(limit, limits::kPageSizeMax);
  std::string placeholders;
  for (std::size_t i = 0; i < values.size(); ++i) {
    placeholders += fmt::format("{}?{}", i == 0 ? "" : ",", i + 5);
  }
  const std::string sql = fmt::format(
      "SELECT DISTINCT id FROM record_index WHERE type = ?1 AND name = ?4 AND id > ?2 AND "
      "value IN ({}) ORDER BY id LIMIT ?3",
      placeholders);
  IndexMatches matches;
  auto& ids = matches.ids;
  RETURN_IF_ERROR(read_index(
      type,
      [&](Connection& reader, const IndexJournal& journal) -> Status {
        ASSIGN_OR_RETURN(ids, indexed_ids(
                                  reader, journal, type, sql,
                                  [&](Statement& statement) {
                                    statement.bind(4, name);
                                    for (std::size_t i = 0; i < values.size(); ++i) {
                                      statement.bind(static_cast<int>(i + 5), values[i]);
                                    }
                                  },
                                  after_id, limit));
        for (const auto& value : values) {
          ids = merge_ids(std::move(ids), journal.find(type, name, value, after_id, limit), limit);
        }
        return {};
      },
      &matches.as_of_sequence));
  return matches;
}

Result<std::vector<std::string>> SqliteStore::find_recorded(const std::string& type,
                                                            const RecordedRange& range,
                                                            const std::string& after_id,
                                                            std::size_t limit) {
  ASSIGN_OR_RETURN(auto reader, lease_reader());
  ASSIGN_OR_RETURN(auto statement,
                   reader->prepare(range.all_time() ? recorded_ever_sql() : recorded_within_sql()));
  statement.bind(1, type).bind(2, after_id).bind(3, clamp_limit(limit));
  if (!range.all_time()) statement.bind(4, range.from_ms).bind(5, range.to_ms);
  std::vector<std::string> ids;
  for (;;) {
    ASSIGN_OR_RETURN(const auto step, statement.step());
    if (step == Statement::Step::kDone) return ids;
    ids.push_back(statement.column_text(0));
  }
}

Result<std::vector<RecordVersion>> SqliteStore::type_history(const std::string& type,
                                                             std::int64_t before,
                                                             std::size_t limit) {
  ASSIGN_OR_RETURN(auto reader, lease_reader());
  ASSIGN_OR_RETURN(auto statement, reader->prepare(fmt::format(
                                       "SELECT {} FROM records WHERE type = ?1 AND sequence < ?2 "
                                       "ORDER BY sequence DESC LIMIT ?3",
                                       record_columns_)));
  // A plain upper bound keeps the (type, sequence) index usable for every page.
  statement.bind(1, type)
      .bind(2, before == 0 ? std::numeric_limits<std::int64_t>::max() : before)
      .bind(3, clamp_limit(limit));
  return collect_records(statement);
}

Result<std::vector<RecordVersion>> SqliteStore::partition_records(const std::string& partition,
                                                                  const std::string& after_type,
                                                                  const std::string& after_id,
                                                                  std::size_t limit) {
  ASSIGN_OR_RETURN(auto reader, lease_reader());
  ASSIGN_OR_RETURN(
      auto statement,
      reader->prepare(fmt::format(
          "SELECT {} FROM records AS r WHERE partition_key = ?1 AND (type, id) > (?2, ?3) "
          "AND deleted = 0 AND version = (SELECT max(version) FROM records AS v "
          "WHERE v.type = r.type AND v.id = r.id) ORDER BY type, id LIMIT ?4",
          record_columns_)));
  statement.bind(1, partition).bind(2, after_type).bind(3, after_id).bind(4, clamp_limit(limit));
  return collect_records(statement);
}

Result<std::vector<RecordVersion>> SqliteStore::changes_since(std::int64_t after,
                                                              std::size_t limit) {
  ASSIGN_OR_RETURN(auto reader, lease_reader());
  ASSIGN_OR_RETURN(auto statement,
                   reader->prepare(fmt::format(
                       "SELECT {} FROM records WHERE sequence > ?1 ORDER BY sequence LIMIT ?2",
                       record_columns_)));
  statement.bind(1, after).bind(2,
                                static_cast<std::int64_t>(std::min(limit, limits::kPageSizeMax)));
  return collect_records(statement);
}

Result<std::vector<RecordVersion>> SqliteStore::scan_records(
    const std::optional<RecordVersion>& after, std::size_t limit) {
  // The table's own key is the sequence: a sequential read of the B-tree.
  return changes_since(after ? after->sequence : 0, limit);
}

Result<std::vector<IndexRow>> SqliteStore::scan_index(const std::optional<IndexRow>& after,
                                                      std::size_t limit) {
  limit = std::min(limit, limits::kPageSizeMax);
  std::vector<IndexRow> rows;
  RETURN_IF_ERROR(
      read_index(std::nullopt, [&](Connection& reader, const IndexJournal& journal) -> Status {
        // The index table's rows, leaving out those of records the journal holds, then the
        // journal's.
        std::vector<IndexRow> indexed;
        for (std::optional<IndexRow> cursor = after; indexed.size() < limit;) {
          ASSIGN_OR_RETURN(auto statement,
                           reader.prepare(fmt::format(
                               "SELECT partition_key, type, id, name, value FROM record_index {} "
                               "ORDER BY type, name, value, id LIMIT ?1",
                               cursor ? "WHERE (type, name, value, id) > (?2, ?3, ?4, ?5)" : "")));
          statement.bind(1, static_cast<std::int64_t>(limit));
          if (cursor) {
            statement.bind(2, cursor->type)
                .bind(3, cursor->entry.name)
                .bind(4, std::span<const std::uint8_t>(cursor->entry.value))
                .bind(5, cursor->id);
          }
          std::size_t fetched = 0;
          std::optional<IndexRow> last;
          for (;;) {
            ASSIGN_OR_RETURN(const auto step, statement.step());
            if (step == Statement::Step::kDone) break;
            ++fetched;
            const auto value = statement.column_blob(4);
            IndexRow row{statement.column_text(0), statement.column_text(1),
                         statement.column_text(2),
                         IndexEntry{statement.column_text(3), Bytes(value.begin(), value.end())}};
            if (!journal.holds(row.type, row.id) && indexed.size() < limit) indexed.push_back(row);
            last = std::move(row);
          }
          if (fetched < limit) break;
          cursor = std::move(last);
        }
        auto held = journal.scan(after, limit);
        rows.reserve(indexed.size() + held.size());
        std::merge(std::make_move_iterator(indexed.begin()), std::make_move_iterator(indexed.end()),
                   std::make_move_iterator(held.begin()), std::make_move_iterator(held.end()),
                   std::back_inserter(rows), index_key_less);
        if (rows.size() > limit) rows.resize(limit);
        return {};
      }));
  return rows;
}

Result<std::optional<WrappedKey>> SqliteStore::read_key(const std::string& name) {
  ASSIGN_OR_RETURN(auto reader, lease_reader());
  ASSIGN_OR_RETURN(auto statement, reader->prepare("SELECT name, kek_id, wrapped, created_at_ms, "
                                                   "erased_at_ms FROM data_keys WHERE name = ?1"));
  statement.bind(1, name);
  ASSIGN_OR_RETURN(const auto step, statement.step());
  if (step == Statement::Step::kDone) return std::nullopt;
  return read_wrapped_key(statement);
}

Result<std::vector<WrappedKey>> SqliteStore::list_keys(const std::string& after,
                                                       std::size_t limit) {
  ASSIGN_OR_RETURN(auto reader, lease_reader());
  ASSIGN_OR_RETURN(
      auto statement,
      reader->prepare("SELECT name, kek_id, wrapped, created_at_ms, erased_at_ms FROM data_keys "
                      "WHERE name > ?1 ORDER BY name LIMIT ?2"));
  statement.bind(1, after).bind(2,
                                static_cast<std::int64_t>(std::min(limit, limits::kPageSizeMax)));
  std::vector<WrappedKey> keys;
  for (;;) {
    ASSIGN_OR_RETURN(const auto step, statement.step());
    if (step == Statement::Step::kDone) return keys;
    keys.push_back(read_wrapped_key(statement));
  }
}

Result<std::vector<StoredAuditEntry>> SqliteStore::read_audit_entries(std::int64_t begin,
                                                                      std::size_t limit) {
  ASSIGN_OR_RETURN(auto reader, lease_reader());
  ASSIGN_OR_RETURN(auto statement,
                   reader->prepare("SELECT idx, subject, entry FROM audit_entries WHERE idx >= ?1 "
                                   "ORDER BY idx LIMIT ?2"));
  statement.bind(1, begin).bind(2, clamp_limit(limit));
  return collect_audit_entries(statement);
}

Result<std::vector<StoredAuditEntry>> SqliteStore::audit_entries_about(const std::string& subject,
                                                                       std::int64_t after,
                                                                       std::size_t limit) {
  ASSIGN_OR_RETURN(auto reader, lease_reader());
  ASSIGN_OR_RETURN(auto statement,
                   reader->prepare("SELECT idx, subject, entry FROM audit_entries "
                                   "WHERE subject = ?1 AND idx > ?2 ORDER BY idx LIMIT ?3"));
  statement.bind(1, subject).bind(2, after).bind(3, clamp_limit(limit));
  return collect_audit_entries(statement);
}

Result<std::int64_t> SqliteStore::audit_size() {
  ASSIGN_OR_RETURN(auto reader, lease_reader());
  ASSIGN_OR_RETURN(auto statement,
                   reader->prepare("SELECT coalesce(max(idx) + 1, 0) FROM audit_entries"));
  RETURN_IF_ERROR(statement.step());
  return statement.column_int(0);
}

Result<std::vector<AuditTile>> SqliteStore::read_audit_tiles(int level, std::int64_t begin,
                                                             std::size_t limit) {
  ASSIGN_OR_RETURN(auto reader, lease_reader());
  ASSIGN_OR_RETURN(auto statement,
                   reader->prepare("SELECT tile, hashes FROM audit_tiles WHERE level = ?1 AND "
                                   "tile >= ?2 ORDER BY tile LIMIT ?3"));
  statement.bind(1, std::int64_t{level}).bind(2, begin).bind(3, clamp_limit(limit));
  std::vector<AuditTile> tiles;
  for (;;) {
    ASSIGN_OR_RETURN(const auto step, statement.step());
    if (step == Statement::Step::kDone) return tiles;
    const auto hashes = statement.column_blob(1);
    tiles.push_back(AuditTile{level, statement.column_int(0), Bytes(hashes.begin(), hashes.end())});
  }
}

Result<std::vector<StoredCheckpoint>> SqliteStore::read_checkpoints(std::int64_t after,
                                                                    std::size_t limit) {
  ASSIGN_OR_RETURN(auto reader, lease_reader());
  ASSIGN_OR_RETURN(auto statement,
                   reader->prepare("SELECT size, note, recorded_at_ms FROM audit_checkpoints "
                                   "WHERE size > ?1 ORDER BY size LIMIT ?2"));
  statement.bind(1, after).bind(2, clamp_limit(limit));
  return collect_checkpoints(statement);
}

Result<std::optional<StoredCheckpoint>> SqliteStore::latest_checkpoint() {
  ASSIGN_OR_RETURN(auto reader, lease_reader());
  ASSIGN_OR_RETURN(auto statement,
                   reader->prepare("SELECT size, note, recorded_at_ms FROM audit_checkpoints "
                                   "ORDER BY size DESC LIMIT 1"));
  ASSIGN_OR_RETURN(auto checkpoints, collect_checkpoints(statement));
  if (checkpoints.empty()) return std::nullopt;
  return std::move(checkpoints.front());
}

}  // namespace kavach::store::sqlite
