#include "store/postgres/postgres_store.h"

#include <algorithm>
#include <array>
#include <limits>
#include <string_view>
#include <unordered_map>

#include <fmt/format.h>

#include "common/limits.h"

namespace kavach::store::postgres {
namespace {

// Migration i brings the schema from version i to i + 1. Append only; never edit a shipped one.
constexpr auto kMigrations = std::to_array<std::string_view>({
    R"sql(
CREATE TABLE kavach_records (
  partition_key text NOT NULL,
  type text NOT NULL,
  id text COLLATE "C" NOT NULL,
  version bigint NOT NULL,
  sequence bigint NOT NULL,
  recorded_at_ms bigint NOT NULL,
  deleted boolean NOT NULL,
  payload bytea NOT NULL,
  PRIMARY KEY (partition_key, type, id, version)
);
CREATE INDEX kavach_records_by_id ON kavach_records (type, id, version DESC);
CREATE INDEX kavach_records_by_sequence ON kavach_records (sequence);
CREATE TABLE kavach_record_index (
  partition_key text NOT NULL,
  type text NOT NULL,
  name text COLLATE "C" NOT NULL,
  value bytea NOT NULL,
  id text COLLATE "C" NOT NULL,
  PRIMARY KEY (partition_key, type, name, value, id)
);
CREATE INDEX kavach_record_index_by_value ON kavach_record_index (type, name, value, id);
CREATE INDEX kavach_record_index_by_record ON kavach_record_index (type, id);
CREATE TABLE kavach_data_keys (
  name text COLLATE "C" PRIMARY KEY,
  kek_id text NOT NULL,
  wrapped bytea NOT NULL,
  created_at_ms bigint NOT NULL,
  erased_at_ms bigint NOT NULL DEFAULT 0
);
CREATE TABLE kavach_sequence (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  value bigint NOT NULL
);
INSERT INTO kavach_sequence (value) VALUES (0);
CREATE FUNCTION kavach_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'records are append-only'; END $$;
CREATE TRIGGER kavach_records_are_append_only BEFORE UPDATE OR DELETE ON kavach_records
FOR EACH ROW EXECUTE FUNCTION kavach_refuse_change();
)sql",
    R"sql(
CREATE TABLE kavach_audit_entries (
  idx bigint PRIMARY KEY,
  subject text COLLATE "C" NOT NULL,
  entry bytea NOT NULL
);
CREATE INDEX kavach_audit_entries_by_subject ON kavach_audit_entries (subject, idx);
-- The next index to assign. Locking this row in the appending transaction numbers entries in
-- commit order with no gaps (a rolled-back transaction gives its numbers back).
CREATE TABLE kavach_audit_size (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  value bigint NOT NULL
);
INSERT INTO kavach_audit_size (value) VALUES (0);
CREATE TABLE kavach_audit_tiles (
  level integer NOT NULL,
  tile bigint NOT NULL,
  hashes bytea NOT NULL,
  PRIMARY KEY (level, tile)
);
CREATE TABLE kavach_audit_checkpoints (
  size bigint PRIMARY KEY,
  note text NOT NULL,
  recorded_at_ms bigint NOT NULL
);
CREATE FUNCTION kavach_refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
CREATE TRIGGER kavach_audit_entries_are_append_only BEFORE UPDATE OR DELETE ON kavach_audit_entries
FOR EACH ROW EXECUTE FUNCTION kavach_refuse_audit_change();
CREATE TRIGGER kavach_audit_tiles_are_append_only BEFORE UPDATE OR DELETE ON kavach_audit_tiles
FOR EACH ROW EXECUTE FUNCTION kavach_refuse_audit_change();
CREATE TRIGGER kavach_audit_checkpoints_are_append_only
BEFORE UPDATE OR DELETE ON kavach_audit_checkpoints
FOR EACH ROW EXECUTE FUNCTION kavach_refuse_audit_change();
)sql",
    R"sql(
CREATE INDEX kavach_records_by_type_sequence ON kavach_records (type, sequence);
)sql",
    // A record's type and last-updated time are no longer repeated in the index: searches by
    // neither or by _lastUpdated take their candidates from the records (find_recorded).
    R"sql(
CREATE INDEX kavach_records_by_type_time ON kavach_records (type, recorded_at_ms);
DELETE FROM kavach_record_index WHERE name IN ('_type', '_lastUpdated');
)sql",
    // The sealed payload's SHA-256 beside it (RecordVersion::payload_sha256). Versions written
    // before have none; their readers hash the payload.
    R"sql(
ALTER TABLE kavach_records ADD COLUMN payload_sha256 bytea NOT NULL DEFAULT ''::bytea;
)sql",
});
static_assert(kMigrations.size() == PostgresStore::kSchemaVersion);

// Any 64-bit number, fixed for Kavach, so concurrent migrators take the same advisory lock.
constexpr std::int64_t kMigrationLock = 0x6b61766163680001;

constexpr std::string_view kRecordColumns =
    "partition_key, type, id, version, sequence, recorded_at_ms, deleted, payload, payload_sha256";
constexpr std::string_view kKeyColumns = "name, kek_id, wrapped, created_at_ms, erased_at_ms";

RecordVersion record_at(const PgResult& result, int row) {
  RecordVersion record;
  record.partition = result.text(row, 0);
  record.type = result.text(row, 1);
  record.id = result.text(row, 2);
  record.version = result.int64(row, 3);
  record.sequence = result.int64(row, 4);
  record.recorded_at_ms = result.int64(row, 5);
  record.deleted = result.boolean(row, 6);
  const auto payload = result.bytes(row, 7);
  record.payload.assign(payload.begin(), payload.end());
  const auto digest = result.bytes(row, 8);
  record.payload_sha256.assign(digest.begin(), digest.end());
  return record;
}

WrappedKey key_at(const PgResult& result, int row) {
  WrappedKey key;
  key.name = result.text(row, 0);
  key.kek_id = result.text(row, 1);
  const auto wrapped = result.bytes(row, 2);
  key.wrapped.assign(wrapped.begin(), wrapped.end());
  key.created_at_ms = result.int64(row, 3);
  key.erased_at_ms = result.int64(row, 4);
  return key;
}

Status migrate(PgConnection& connection, int& schema_version) {
  RETURN_IF_ERROR(connection.execute(
      fmt::format("BEGIN; SELECT pg_advisory_xact_lock({});"
                  "CREATE TABLE IF NOT EXISTS kavach_schema (version integer NOT NULL);",
                  kMigrationLock)));
  auto rollback_on_error = [&](auto result) {
    if (!result) (void)connection.execute("ROLLBACK");
    return result;
  };
  ASSIGN_OR_RETURN(const auto found,
                   rollback_on_error(connection.run(
                       "schema_version",
                       "SELECT coalesce(max(version), 0)::bigint FROM kavach_schema", PgParams{})));
  const auto version = static_cast<int>(found.int64(0, 0));
  if (version > PostgresStore::kSchemaVersion) {
    (void)connection.execute("ROLLBACK");
    return make_error(ErrorCode::kFailedPrecondition,
                      fmt::format("the database schema is version {}, newer than this binary's {}; "
                                  "run a newer kavach",
                                  version, PostgresStore::kSchemaVersion));
  }
  for (int next = version; next < PostgresStore::kSchemaVersion; ++next) {
    RETURN_IF_ERROR(rollback_on_error(connection.execute(std::string(kMigrations[next]))));
    RETURN_IF_ERROR(rollback_on_error(connection.execute(
        fmt::format("INSERT INTO kavach_schema (version) VALUES ({})", next + 1))));
  }
  RETURN_IF_ERROR(rollback_on_error(connection.execute("COMMIT")));
  schema_version = PostgresStore::kSchemaVersion;
  return {};
}

}  // namespace

// A pooled connection; goes back to the pool (or is dropped, if broken) when the lease ends.
class PostgresStore::Lease {
 public:
  Lease(PostgresStore* store, std::unique_ptr<PgConnection> connection)
      : store_(store), connection_(std::move(connection)) {}
  Lease(Lease&& other) noexcept
      : store_(std::exchange(other.store_, nullptr)), connection_(std::move(other.connection_)) {}
  Lease& operator=(Lease&&) = delete;
  ~Lease() {
    if (store_ != nullptr) store_->give_back(std::move(connection_));
  }
  PgConnection& operator*() { return *connection_; }
  PgConnection* operator->() { return connection_.get(); }

 private:
  PostgresStore* store_;
  std::unique_ptr<PgConnection> connection_;
};

Result<std::unique_ptr<PostgresStore>> PostgresStore::open(const std::string& url,
                                                           std::size_t pool_size) {
  std::unique_ptr<PostgresStore> store(
      new PostgresStore(url, std::clamp<std::size_t>(pool_size, 1, limits::kPostgresPoolMax)));
  ASSIGN_OR_RETURN(auto connection, store->lease());
  RETURN_IF_ERROR(migrate(*connection, store->schema_version_));
  return store;
}

Result<PostgresStore::Lease> PostgresStore::lease() {
  {
    std::unique_lock lock(pool_mutex_);
    const bool available = pool_changed_.wait_for(lock, limits::kStoreBusyTimeout, [&] {
      return !idle_.empty() || open_connections_ < pool_size_;
    });
    if (!available) {
      return make_error(ErrorCode::kUnavailable, "postgresql: no pooled connection came free");
    }
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(connection));
    }
    ++open_connections_;
  }
  auto connection = PgConnection::connect(url_);
  if (!connection) {
    {
      std::lock_guard lock(pool_mutex_);
      --open_connections_;
    }
    pool_changed_.notify_one();
    return tl::unexpected(connection.error());
  }
  return Lease(this, std::make_unique<PgConnection>(std::move(*connection)));
}

void PostgresStore::give_back(std::unique_ptr<PgConnection> connection) {
  {
    std::lock_guard lock(pool_mutex_);
    if (connection && connection->healthy()) {
      idle_.push_back(std::move(connection));
    } else {
      --open_connections_;  // a broken connection is dropped; the next lease opens a new one
    }
  }
  pool_changed_.notify_one();
}

Result<CommitReceipt> PostgresStore::commit(WriteBatch batch) {
  if (batch.empty()) return CommitReceipt{};
  if (batch.operations() > limits::kWriteBatchOperationsMax) {
    return make_error(ErrorCode::kTooLarge, "too many writes in one batch");
  }
  ASSIGN_OR_RETURN(auto connection, lease());
  RETURN_IF_ERROR(connection->execute("BEGIN"));
  auto receipt = apply_batch(*connection, batch);
  if (!receipt) {
    (void)connection->execute("ROLLBACK");
    return receipt;
  }
  RETURN_IF_ERROR(connection->execute("COMMIT"));
  return receipt;
}

Result<CommitReceipt> PostgresStore::apply_batch(PgConnection& connection,
                                                 const WriteBatch& batch) {
  for (const auto& write : batch.records) {
    if (write.expected_version == kAnyVersion) continue;
    ASSIGN_OR_RETURN(const auto current,
                     connection.run("current_version",
                                    "SELECT coalesce(max(version), 0)::bigint FROM kavach_records "
                                    "WHERE type = $1 AND id = $2",
                                    PgParams().text(write.record.type).text(write.record.id)));
    const std::int64_t current_version = current.int64(0, 0);
    if (current_version != write.expected_version) {
      return make_error(
          ErrorCode::kConflict,
          fmt::format("{}/{} is at version {}, not the expected {}", write.record.type,
                      write.record.id, current_version, write.expected_version));
    }
  }
  CommitReceipt receipt;
  if (!batch.records.empty()) {
    // Taking the counter row's lock here serialises sequence assignment in commit order.
    ASSIGN_OR_RETURN(
        const auto counter,
        connection.run("advance_sequence",
                       "UPDATE kavach_sequence SET value = value + $1 RETURNING value",
                       PgParams().int64(static_cast<std::int64_t>(batch.records.size()))));
    receipt.last_sequence = counter.int64(0, 0);
    receipt.first_sequence =
        receipt.last_sequence - static_cast<std::int64_t>(batch.records.size()) + 1;
  }
  std::int64_t sequence = receipt.first_sequence;
  for (const auto& write : batch.records) {
    const RecordVersion& record = write.record;
    RETURN_IF_ERROR(connection.run(
        "insert_record",
        fmt::format("INSERT INTO kavach_records ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    kRecordColumns),
        PgParams()
            .text(record.partition)
            .text(record.type)
            .text(record.id)
            .int64(record.version)
            .int64(sequence++)
            .int64(record.recorded_at_ms)
            .boolean(record.deleted)
            .bytes(record.payload)
            .bytes(record.payload_sha256)));
    RETURN_IF_ERROR(connection.run("clear_index",
                                   "DELETE FROM kavach_record_index WHERE type = $1 AND id = $2",
                                   PgParams().text(record.type).text(record.id)));
    if (record.deleted) continue;
    for (const auto& entry : write.index) {
      RETURN_IF_ERROR(
          connection.run("add_index",
                         "INSERT INTO kavach_record_index (partition_key, type, name, value, id) "
                         "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                         PgParams()
                             .text(record.partition)
                             .text(record.type)
                             .text(entry.name)
                             .bytes(entry.value)
                             .text(record.id)));
    }
  }
  for (const auto& write : batch.keys) {
    const WrappedKey& key = write.key;
    switch (write.kind) {
      case KeyWrite::Kind::kCreateIfAbsent:
      case KeyWrite::Kind::kCreate: {
        ASSIGN_OR_RETURN(
            const auto created,
            connection.run("create_key",
                           "INSERT INTO kavach_data_keys (name, kek_id, wrapped, created_at_ms) "
                           "VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING",
                           PgParams()
                               .text(key.name)
                               .text(key.kek_id)
                               .bytes(key.wrapped)
                               .int64(key.created_at_ms)));
        if (write.kind == KeyWrite::Kind::kCreate && created.affected_rows() != 1) {
          return make_error(ErrorCode::kAlreadyExists,
                            fmt::format("key {} was created meanwhile", key.name));
        }
        break;
      }
      case KeyWrite::Kind::kRewrap: {
        ASSIGN_OR_RETURN(const auto updated,
                         connection.run("rewrap_key",
                                        "UPDATE kavach_data_keys SET kek_id = $2, wrapped = $3 "
                                        "WHERE name = $1 AND kek_id = $4 AND erased_at_ms = 0",
                                        PgParams()
                                            .text(key.name)
                                            .text(key.kek_id)
                                            .bytes(key.wrapped)
                                            .text(write.expected_kek_id)));
        if (updated.affected_rows() != 1) {
          return make_error(ErrorCode::kConflict, fmt::format("key {} is not wrapped by {}",
                                                              key.name, write.expected_kek_id));
        }
        break;
      }
      case KeyWrite::Kind::kErase: {
        ASSIGN_OR_RETURN(const auto erased,
                         connection.run("erase_key",
                                        "UPDATE kavach_data_keys SET wrapped = ''::bytea, "
                                        "erased_at_ms = $2 WHERE name = $1",
                                        PgParams().text(key.name).int64(key.erased_at_ms)));
        if (erased.affected_rows() != 1) {
          return make_error(ErrorCode::kNotFound, fmt::format("no key named {}", key.name));
        }
        break;
      }
    }
  }
  RETURN_IF_ERROR(apply_audit(connection, batch, receipt));
  return receipt;
}

Status PostgresStore::apply_audit(PgConnection& connection, const WriteBatch& batch,
                                  CommitReceipt& receipt) {
  if (!batch.audit.empty()) {
    const auto count = static_cast<std::int64_t>(batch.audit.size());
    ASSIGN_OR_RETURN(const auto size,
                     connection.run("advance_audit_size",
                                    "UPDATE kavach_audit_size SET value = value + $1 RETURNING "
                                    "value",
                                    PgParams().int64(count)));
    receipt.first_audit_index = size.int64(0, 0) - count;
  }
  std::int64_t index = receipt.first_audit_index;
  for (const auto& append : batch.audit) {
    RETURN_IF_ERROR(
        connection.run("append_audit_entry",
                       "INSERT INTO kavach_audit_entries (idx, subject, entry) VALUES ($1, $2, $3)",
                       PgParams().int64(index++).text(append.subject).bytes(append.entry)));
  }
  for (const auto& tile : batch.audit_tiles) {
    RETURN_IF_ERROR(
        connection.run("add_audit_tile",
                       "INSERT INTO kavach_audit_tiles (level, tile, hashes) VALUES "
                       "($1, $2, $3) ON CONFLICT DO NOTHING",
                       PgParams().int64(tile.level).int64(tile.index).bytes(tile.hashes)));
  }
  for (const auto& checkpoint : batch.checkpoints) {
    RETURN_IF_ERROR(connection.run(
        "add_checkpoint",
        "INSERT INTO kavach_audit_checkpoints (size, note, recorded_at_ms) VALUES ($1, $2, $3) "
        "ON CONFLICT DO NOTHING",
        PgParams().int64(checkpoint.size).text(checkpoint.note).int64(checkpoint.recorded_at_ms)));
  }
  return {};
}

Result<std::vector<RecordVersion>> PostgresStore::query_records(const std::string& name,
                                                                const std::string& sql,
                                                                const PgParams& params) {
  ASSIGN_OR_RETURN(auto connection, lease());
  ASSIGN_OR_RETURN(const auto result, connection->run(name, sql, params));
  std::vector<RecordVersion> records;
  records.reserve(static_cast<std::size_t>(result.rows()));
  for (int row = 0; row < result.rows(); ++row) records.push_back(record_at(result, row));
  return records;
}

Result<std::optional<RecordVersion>> PostgresStore::read_current(const std::string& type,
                                                                 const std::string& id) {
  ASSIGN_OR_RETURN(
      auto records,
      query_records("read_current",
                    fmt::format("SELECT {} FROM kavach_records WHERE type = $1 AND id = $2 "
                                "ORDER BY version DESC LIMIT 1",
                                kRecordColumns),
                    PgParams().text(type).text(id)));
  if (records.empty()) return std::nullopt;
  return std::move(records.front());
}

Result<std::vector<RecordVersion>> PostgresStore::read_current_many(
    const std::string& type, std::span<const std::string> ids) {
  if (ids.empty()) return std::vector<RecordVersion>{};
  // The ids as a text array literal, each element quoted.
  std::string array = "{";
  for (const auto& id : ids) {
    if (array.size() > 1) array += ',';
    array += '"';
    for (const char c : id) {
      if (c == '"' || c == '\\') array += '\\';
      array += c;
    }
    array += '"';
  }
  array += '}';
  ASSIGN_OR_RETURN(auto found,
                   query_records("read_current_many",
                                 fmt::format("SELECT DISTINCT ON (id) {} FROM kavach_records "
                                             "WHERE type = $1 AND id = ANY($2::text[]) "
                                             "ORDER BY id, version DESC",
                                             kRecordColumns),
                                 PgParams().text(type).text(array)));
  // In the order asked for (the server's collation need not be the ids' byte order).
  std::unordered_map<std::string_view, std::size_t> position;
  for (std::size_t i = 0; i < ids.size(); ++i) position.emplace(ids[i], i);
  std::sort(found.begin(), found.end(), [&](const RecordVersion& a, const RecordVersion& b) {
    return position.at(a.id) < position.at(b.id);
  });
  return found;
}

Result<std::optional<RecordVersion>> PostgresStore::read_version(const std::string& type,
                                                                 const std::string& id,
                                                                 std::int64_t version) {
  ASSIGN_OR_RETURN(
      auto records,
      query_records(
          "read_version",
          fmt::format("SELECT {} FROM kavach_records WHERE type = $1 AND id = $2 AND version = $3",
                      kRecordColumns),
          PgParams().text(type).text(id).int64(version)));
  if (records.empty()) return std::nullopt;
  return std::move(records.front());
}

Result<std::vector<RecordVersion>> PostgresStore::history(const std::string& type,
                                                          const std::string& id,
                                                          std::size_t limit) {
  return query_records("history",
                       fmt::format("SELECT {} FROM kavach_records WHERE type = $1 AND id = $2 "
                                   "ORDER BY version DESC LIMIT $3",
                                   kRecordColumns),
                       PgParams().text(type).text(id).int64(static_cast<std::int64_t>(
                           std::min(limit, limits::kHistoryVersionsMax))));
}

Result<std::vector<std::string>> PostgresStore::find(const IndexQuery& query) {
  ASSIGN_OR_RETURN(auto connection, lease());
  ASSIGN_OR_RETURN(
      const auto result,
      connection->run(
          "find",
          "SELECT id FROM kavach_record_index WHERE type = $1 AND name = $2 AND value = $3 "
          "AND id > $4 ORDER BY id LIMIT $5",
          PgParams()
              .text(query.type)
              .text(query.entry.name)
              .bytes(query.entry.value)
              .text(query.after_id)
              .int64(static_cast<std::int64_t>(std::min(query.limit, limits::kPageSizeMax)))));
  std::vector<std::string> ids;
  for (int row = 0; row < result.rows(); ++row) ids.push_back(result.text(row, 0));
  return ids;
}

Result<std::vector<IndexEntry>> PostgresStore::index_entries(const std::string& type,
                                                             const std::string& id) {
  ASSIGN_OR_RETURN(auto connection, lease());
  ASSIGN_OR_RETURN(const auto result,
                   connection->run("index_entries",
                                   "SELECT name, value FROM kavach_record_index WHERE type = $1 "
                                   "AND id = $2 ORDER BY name COLLATE \"C\", value",
                                   PgParams().text(type).text(id)));
  std::vector<IndexEntry> entries;
  for (int row = 0; row < result.rows(); ++row) {
    const auto value = result.bytes(row, 1);
    entries.push_back(IndexEntry{result.text(row, 0), Bytes(value.begin(), value.end())});
  }
  return entries;
}

Result<IndexMatches> PostgresStore::find_any(const std::string& type, const std::string& name,
                                             const std::vector<Bytes>& values,
                                             const std::string& after_id, std::size_t limit) {
  IndexMatches matches;
  if (values.empty()) return matches;
  ASSIGN_OR_RETURN(auto connection, lease());
  PgParams params;
  params.text(type).text(name).text(after_id).int64(
      static_cast<std::int64_t>(std::min(limit, limits::kPageSizeMax)));
  std::string placeholders;
  for (std::size_t i = 0; i < values.size(); ++i) {
    placeholders += fmt::format("{}${}", i == 0 ? "" : ",", i + 5);
    params.bytes(values[i]);
  }
  // One prepared statement per number of values; searches use a handful of set sizes. The
  // counter is read in the same statement, so in the same snapshot as the index rows.
  ASSIGN_OR_RETURN(
      const auto result,
      connection->run(
          fmt::format("find_any_{}", values.size()),
          fmt::format("SELECT found.id, (SELECT value FROM kavach_sequence) FROM (SELECT DISTINCT "
                      "id FROM kavach_record_index WHERE type = $1 AND name = $2 AND id > $3 AND "
                      "value IN ({}) ORDER BY id LIMIT $4) AS found ORDER BY found.id",
                      placeholders),
          params));
  for (int row = 0; row < result.rows(); ++row) {
    matches.ids.push_back(result.text(row, 0));
    matches.as_of_sequence = result.int64(row, 1);
  }
  return matches;
}

Result<std::vector<std::string>> PostgresStore::find_recorded(const std::string& type,
                                                              const RecordedRange& range,
                                                              const std::string& after_id,
                                                              std::size_t limit) {
  // The current version is the newest; an earlier version recorded within the range does not
  // make its record a match. All of time reads kavach_records_by_id in id order up to the limit;
  // a range reads kavach_records_by_type_time and sorts, so each has a plan of its own.
  static const std::string kCurrentAndLive =
      "NOT deleted AND version = (SELECT max(version) FROM kavach_records AS v WHERE v.type = "
      "r.type AND v.id = r.id)";
  static const std::string kEver = fmt::format(
      "SELECT id FROM kavach_records AS r WHERE type = $1 AND id > $2 AND {} ORDER BY id LIMIT $3",
      kCurrentAndLive);
  static const std::string kWithin = fmt::format(
      "SELECT id FROM kavach_records AS r WHERE type = $1 AND id > $2 AND recorded_at_ms >= $4 AND "
      "recorded_at_ms < $5 AND {} ORDER BY id LIMIT $3",
      kCurrentAndLive);
  ASSIGN_OR_RETURN(auto connection, lease());
  PgParams params;
  params.text(type).text(after_id).int64(
      static_cast<std::int64_t>(std::min(limit, limits::kPageSizeMax)));
  if (!range.all_time()) params.int64(range.from_ms).int64(range.to_ms);
  auto result = range.all_time() ? connection->run("find_recorded_ever", kEver, params)
                                 : connection->run("find_recorded_within", kWithin, params);
  if (!result) return tl::unexpected(result.error());
  std::vector<std::string> ids;
  for (int row = 0; row < result->rows(); ++row) ids.push_back(result->text(row, 0));
  return ids;
}

Result<std::vector<RecordVersion>> PostgresStore::type_history(const std::string& type,
                                                               std::int64_t before,
                                                               std::size_t limit) {
  return query_records(
      "type_history",
      fmt::format("SELECT {} FROM kavach_records WHERE type = $1 AND sequence < $2 "
                  "ORDER BY sequence DESC LIMIT $3",
                  kRecordColumns),
      // A plain upper bound keeps the (type, sequence) index usable for every page.
      PgParams()
          .text(type)
          .int64(before == 0 ? std::numeric_limits<std::int64_t>::max() : before)
          .int64(static_cast<std::int64_t>(std::min(limit, limits::kPageSizeMax))));
}

Result<std::vector<RecordVersion>> PostgresStore::partition_records(const std::string& partition,
                                                                    const std::string& after_type,
                                                                    const std::string& after_id,
                                                                    std::size_t limit) {
  // The primary key leads with partition_key. The current version is the newest of (type, id)
  // in any partition, so a record moved to another patient leaves this one.
  return query_records(
      "partition_records",
      fmt::format("SELECT {} FROM kavach_records AS r WHERE partition_key = $1 "
                  "AND (type, id) > ($2, $3 COLLATE \"C\") AND NOT deleted "
                  "AND version = (SELECT max(version) FROM kavach_records AS v "
                  "WHERE v.type = r.type AND v.id = r.id) "
                  "ORDER BY type, id LIMIT $4",
                  kRecordColumns),
      PgParams()
          .text(partition)
          .text(after_type)
          .text(after_id)
          .int64(static_cast<std::int64_t>(std::min(limit, limits::kPageSizeMax))));
}

Result<std::vector<RecordVersion>> PostgresStore::changes_since(std::int64_t after,
                                                                std::size_t limit) {
  return query_records(
      "changes_since",
      fmt::format("SELECT {} FROM kavach_records WHERE sequence > $1 ORDER BY sequence LIMIT $2",
                  kRecordColumns),
      PgParams().int64(after).int64(
          static_cast<std::int64_t>(std::min(limit, limits::kPageSizeMax))));
}

Result<std::vector<RecordVersion>> PostgresStore::scan_records(
    const std::optional<RecordVersion>& after, std::size_t limit) {
  // The table's primary key order (partition first, as Citus distributes it).
  const auto page = static_cast<std::int64_t>(std::min(limit, limits::kPageSizeMax));
  if (!after) {
    return query_records("scan_records_first",
                         fmt::format("SELECT {} FROM kavach_records ORDER BY partition_key, type, "
                                     "id, version LIMIT $1",
                                     kRecordColumns),
                         PgParams().int64(page));
  }
  return query_records(
      "scan_records",
      fmt::format("SELECT {} FROM kavach_records WHERE (partition_key, type, id, version) > "
                  "($2, $3, $4, $5) ORDER BY partition_key, type, id, version LIMIT $1",
                  kRecordColumns),
      PgParams()
          .int64(page)
          .text(after->partition)
          .text(after->type)
          .text(after->id)
          .int64(after->version));
}

Result<std::vector<IndexRow>> PostgresStore::scan_index(const std::optional<IndexRow>& after,
                                                        std::size_t limit) {
  const auto page = static_cast<std::int64_t>(std::min(limit, limits::kPageSizeMax));
  ASSIGN_OR_RETURN(auto connection, lease());
  constexpr std::string_view kColumns = "partition_key, type, id, name, value";
  auto result =
      after
          ? connection->run(
                "scan_index",
                fmt::format("SELECT {} FROM kavach_record_index WHERE (partition_key, type, name, "
                            "value, id) > ($2, $3, $4, $5, $6) ORDER BY partition_key, type, "
                            "name, value, id LIMIT $1",
                            kColumns),
                PgParams()
                    .int64(page)
                    .text(after->partition)
                    .text(after->type)
                    .text(after->entry.name)
                    .bytes(after->entry.value)
                    .text(after->id))
          : connection->run("scan_index_first",
                            fmt::format("SELECT {} FROM kavach_record_index ORDER BY "
                                        "partition_key, type, name, value, id LIMIT $1",
                                        kColumns),
                            PgParams().int64(page));
  if (!result) return tl::unexpected(result.error());
  std::vector<IndexRow> rows;
  for (int row = 0; row < result->rows(); ++row) {
    const auto value = result->bytes(row, 4);
    rows.push_back(IndexRow{result->text(row, 0), result->text(row, 1), result->text(row, 2),
                            IndexEntry{result->text(row, 3), Bytes(value.begin(), value.end())}});
  }
  return rows;
}

Result<std::optional<WrappedKey>> PostgresStore::read_key(const std::string& name) {
  ASSIGN_OR_RETURN(auto connection, lease());
  ASSIGN_OR_RETURN(
      const auto result,
      connection->run("read_key",
                      fmt::format("SELECT {} FROM kavach_data_keys WHERE name = $1", kKeyColumns),
                      PgParams().text(name)));
  if (result.rows() == 0) return std::nullopt;
  return key_at(result, 0);
}

Result<std::vector<WrappedKey>> PostgresStore::list_keys(const std::string& after,
                                                         std::size_t limit) {
  ASSIGN_OR_RETURN(auto connection, lease());
  ASSIGN_OR_RETURN(
      const auto result,
      connection->run(
          "list_keys",
          fmt::format("SELECT {} FROM kavach_data_keys WHERE name > $1 ORDER BY name LIMIT $2",
                      kKeyColumns),
          PgParams().text(after).int64(
              static_cast<std::int64_t>(std::min(limit, limits::kPageSizeMax)))));
  std::vector<WrappedKey> keys;
  for (int row = 0; row < result.rows(); ++row) keys.push_back(key_at(result, row));
  return keys;
}

namespace {

std::int64_t clamp_limit(std::size_t limit) {
  return static_cast<std::int64_t>(std::min(limit, limits::kPageSizeMax));
}

std::vector<StoredAuditEntry> audit_entries_of(const PgResult& result) {
  std::vector<StoredAuditEntry> entries;
  entries.reserve(static_cast<std::size_t>(result.rows()));
  for (int row = 0; row < result.rows(); ++row) {
    const auto entry = result.bytes(row, 2);
    entries.push_back(StoredAuditEntry{result.int64(row, 0), result.text(row, 1),
                                       Bytes(entry.begin(), entry.end())});
  }
  return entries;
}

std::vector<StoredCheckpoint> checkpoints_of(const PgResult& result) {
  std::vector<StoredCheckpoint> checkpoints;
  for (int row = 0; row < result.rows(); ++row) {
    checkpoints.push_back(
        StoredCheckpoint{result.int64(row, 0), result.text(row, 1), result.int64(row, 2)});
  }
  return checkpoints;
}

}  // namespace

Result<std::vector<StoredAuditEntry>> PostgresStore::read_audit_entries(std::int64_t begin,
                                                                        std::size_t limit) {
  ASSIGN_OR_RETURN(auto connection, lease());
  ASSIGN_OR_RETURN(const auto result,
                   connection->run("read_audit_entries",
                                   "SELECT idx, subject, entry FROM kavach_audit_entries WHERE "
                                   "idx >= $1 ORDER BY idx LIMIT $2",
                                   PgParams().int64(begin).int64(clamp_limit(limit))));
  return audit_entries_of(result);
}

Result<std::vector<StoredAuditEntry>> PostgresStore::audit_entries_about(const std::string& subject,
                                                                         std::int64_t after,
                                                                         std::size_t limit) {
  ASSIGN_OR_RETURN(auto connection, lease());
  ASSIGN_OR_RETURN(
      const auto result,
      connection->run("audit_entries_about",
                      "SELECT idx, subject, entry FROM kavach_audit_entries WHERE subject = $1 "
                      "AND idx > $2 ORDER BY idx LIMIT $3",
                      PgParams().text(subject).int64(after).int64(clamp_limit(limit))));
  return audit_entries_of(result);
}

Result<std::int64_t> PostgresStore::audit_size() {
  ASSIGN_OR_RETURN(auto connection, lease());
  ASSIGN_OR_RETURN(const auto result,
                   connection->run("audit_size",
                                   "SELECT coalesce(max(idx) + 1, 0)::bigint FROM "
                                   "kavach_audit_entries",
                                   PgParams()));
  return result.int64(0, 0);
}

Result<std::vector<AuditTile>> PostgresStore::read_audit_tiles(int level, std::int64_t begin,
                                                               std::size_t limit) {
  ASSIGN_OR_RETURN(auto connection, lease());
  ASSIGN_OR_RETURN(const auto result,
                   connection->run("read_audit_tiles",
                                   "SELECT tile, hashes FROM kavach_audit_tiles WHERE level = $1 "
                                   "AND tile >= $2 ORDER BY tile LIMIT $3",
                                   PgParams().int64(level).int64(begin).int64(clamp_limit(limit))));
  std::vector<AuditTile> tiles;
  for (int row = 0; row < result.rows(); ++row) {
    const auto hashes = result.bytes(row, 1);
    tiles.push_back(AuditTile{level, result.int64(row, 0), Bytes(hashes.begin(), hashes.end())});
  }
  return tiles;
}

Result<std::vector<StoredCheckpoint>> PostgresStore::read_checkpoints(std::int64_t after,
                                                                      std::size_t limit) {
  ASSIGN_OR_RETURN(auto connection, lease());
  ASSIGN_OR_RETURN(
      const auto result,
      connection->run("read_checkpoints",
                      "SELECT size, note, recorded_at_ms FROM "
                      "kavach_audit_checkpoints WHERE size > $1 ORDER BY size LIMIT $2",
                      PgParams().int64(after).int64(clamp_limit(limit))));
  return checkpoints_of(result);
}

Result<std::optional<StoredCheckpoint>> PostgresStore::latest_checkpoint() {
  ASSIGN_OR_RETURN(auto connection, lease());
  ASSIGN_OR_RETURN(const auto result,
                   connection->run("latest_checkpoint",
                                   "SELECT size, note, recorded_at_ms FROM "
                                   "kavach_audit_checkpoints ORDER BY size DESC LIMIT 1",
                                   PgParams()));
  auto checkpoints = checkpoints_of(result);
  if (checkpoints.empty()) return std::nullopt;
  return std::move(checkpoints.front());
}

}  // namespace kavach::store::postgres
