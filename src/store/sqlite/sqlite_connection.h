// Owning wrappers around one SQLite connection and its prepared statements. Used only by
// SqliteStore. A connection is confined to one thread at a time (the store's pools hand them out).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "common/error.h"

namespace kavach::store::sqlite {

struct ConnectionCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StatementFinalizer {
  void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};

// A prepared statement borrowed from a connection's cache; resets itself when the borrow ends.
class Statement {
 public:
  explicit Statement(sqlite3_stmt* statement) : statement_(statement) {}
  ~Statement() {
    if (statement_ == nullptr) return;
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }
  Statement(Statement&& other) noexcept : statement_(std::exchange(other.statement_, nullptr)) {}
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, std::span<const std::uint8_t> blob);
  Statement& bind(int index, std::int64_t value);

  // kRow when a row is ready, kDone at the end, or an error.
  enum class Step { kRow, kDone };
  Result<Step> step();
  Status run();  // steps to the end, ignoring rows
  // Makes the statement ready to run again (bindings stay until rebound), for a loop that runs
  // one statement many times.
  Statement& reset() {
    sqlite3_reset(statement_);
    return *this;
  }

  std::int64_t column_int(int index) const { return sqlite3_column_int64(statement_, index); }
  std::string column_text(int index) const;
  std::span<const std::uint8_t> column_blob(int index) const;

 private:
  sqlite3_stmt* statement_;
};

class Connection {
 public:
  static Result<Connection> open(const std::filesystem::path& path);

  // Runs SQL with no parameters and no rows (pragmas, DDL, BEGIN/COMMIT).
  Status execute(const std::string& sql);
  // Borrows the cached prepared statement for `sql`, preparing it on first use.
  Result<Statement> prepare(const std::string& sql);
  // Runs one statement with no parameters and no rows through prepare(): for the transaction
  // statements a writer runs on every commit and a reader around its reads, which execute()
  // would compile every time.
  Status run(const std::string& sql);
  sqlite3* get() const { return db_.get(); }

 private:
  std::unique_ptr<sqlite3, ConnectionCloser> db_;
  std::unordered_map<std::string, std::unique_ptr<sqlite3_stmt, StatementFinalizer>> statements_;
};

Error sqlite_error(sqlite3* db, std::string_view what);

}  // namespace kavach::store::sqlite
