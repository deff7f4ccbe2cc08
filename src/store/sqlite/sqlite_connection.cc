#include "store/sqlite/sqlite_connection.h"

#include <fmt/format.h>

namespace kavach::store::sqlite {

Error sqlite_error(sqlite3* db, std::string_view what) {
  const int code = db ? sqlite3_extended_errcode(db) : SQLITE_ERROR;
  const int primary = code & 0xff;
  ErrorCode mapped = ErrorCode::kInternal;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) mapped = ErrorCode::kUnavailable;
  if (primary == SQLITE_FULL || primary == SQLITE_IOERR) mapped = ErrorCode::kUnavailable;
  if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) mapped = ErrorCode::kDataLoss;
  if (primary == SQLITE_CONSTRAINT) mapped = ErrorCode::kConflict;
  return Error{mapped, fmt::format("sqlite: {}: {}", what, db ? sqlite3_errmsg(db) : "no memory")};
}

Statement& Statement::bind(int index, std::string_view text) {
  sqlite3_bind_text64(statement_, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
  return *this;
}

Statement& Statement::bind(int index, std::span<const std::uint8_t> blob) {
  // A zero-length blob must still bind as a blob, not NULL.
  static constexpr std::uint8_t kEmpty = 0;
  sqlite3_bind_blob64(statement_, index, blob.empty() ? &kEmpty : blob.data(), blob.size(),
                      SQLITE_STATIC);
  return *this;
}

Statement& Statement::bind(int index, std::int64_t value) {
  sqlite3_bind_int64(statement_, index, value);
  return *this;
}

Result<Statement::Step> Statement::step() {
  const int code = sqlite3_step(statement_);
  if (code == SQLITE_ROW) return Step::kRow;
  if (code == SQLITE_DONE) return Step::kDone;
  return tl::unexpected(sqlite_error(sqlite3_db_handle(statement_), "step"));
}

Status Statement::run() {
  for (;;) {
    ASSIGN_OR_RETURN(const Step step_result, step());
    if (step_result == Step::kDone) return {};
  }
}

std::string Statement::column_text(int index) const {
  const auto* text = sqlite3_column_text(statement_, index);
  const int size = sqlite3_column_bytes(statement_, index);
  return text ? std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(size))
              : std::string();
}

std::span<const std::uint8_t> Statement::column_blob(int index) const {
  const auto* blob = static_cast<const std::uint8_t*>(sqlite3_column_blob(statement_, index));
  const int size = sqlite3_column_bytes(statement_, index);
  return blob ? std::span<const std::uint8_t>(blob, static_cast<std::size_t>(size))
              : std::span<const std::uint8_t>();
}

namespace {

// SQLite keeps memory statistics by default, behind one process-wide mutex that every allocation
// and free of every connection takes: with a dozen reader threads it was the busiest lock of a
// search (4% of the samples in it, and the futex waits and wake-ups around it). Nothing reads the
// statistics, so they are switched off before the library initialises. sqlite3_config fails
// harmlessly once SQLite is initialised (a test that opened a raw connection first, say).
void configure_sqlite_once() {
  static const bool configured = [] {
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return true;
  }();
  (void)configured;
}

}  // namespace

Result<Connection> Connection::open(const std::filesystem::path& path) {
  configure_sqlite_once();
  sqlite3* raw = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int code = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Connection connection;
  connection.db_.reset(raw);
  if (code != SQLITE_OK) return tl::unexpected(sqlite_error(raw, "open " + path.string()));
  sqlite3_extended_result_codes(raw, 1);
  return connection;
}

Status Connection::execute(const std::string& sql) {
  if (sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    return tl::unexpected(sqlite_error(db_.get(), "execute"));
  }
  return {};
}

Result<Statement> Connection::prepare(const std::string& sql) {
  auto found = statements_.find(sql);
  if (found == statements_.end()) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v3(db_.get(), sql.c_str(), static_cast<int>(sql.size()),
                           SQLITE_PREPARE_PERSISTENT, &raw, nullptr) != SQLITE_OK) {
      return tl::unexpected(sqlite_error(db_.get(), "prepare"));
    }
    found = statements_.emplace(sql, raw).first;
  }
  return Statement(found->second.get());
}

Status Connection::run(const std::string& sql) {
  ASSIGN_OR_RETURN(auto statement, prepare(sql));
  return statement.run();
}

}  // namespace kavach::store::sqlite
