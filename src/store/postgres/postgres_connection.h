// Owning wrappers around libpq: one connection with its prepared statements, query parameters and
// binary results. Used only by PostgresStore; a connection is confined to one thread at a time.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "common/error.h"

namespace kavach::store::postgres {

struct ResultClearer {
  void operator()(PGresult* result) const { PQclear(result); }
};
struct ConnectionFinisher {
  void operator()(PGconn* connection) const { PQfinish(connection); }
};

// Rows come back in binary format; these read one field of one row.
class PgResult {
 public:
  explicit PgResult(PGresult* result) : result_(result) {}
  int rows() const { return PQntuples(result_.get()); }
  bool is_null(int row, int column) const { return PQgetisnull(result_.get(), row, column) != 0; }
  std::string text(int row, int column) const;
  std::span<const std::uint8_t> bytes(int row, int column) const;
  std::int64_t int64(int row, int column) const;
  bool boolean(int row, int column) const;
  std::int64_t affected_rows() const;

 private:
  std::unique_ptr<PGresult, ResultClearer> result_;
};

// Parameters are sent as text, except byte strings, which are sent in binary.
class PgParams {
 public:
  PgParams& text(std::string_view value);
  PgParams& int64(std::int64_t value);
  PgParams& bytes(std::span<const std::uint8_t> value);
  PgParams& boolean(bool value) { return text(value ? "t" : "f"); }
  int size() const { return static_cast<int>(values_.size()); }

 private:
  friend class PgConnection;
  std::vector<std::string> storage_;
  std::vector<std::span<const std::uint8_t>> values_;
  std::vector<int> formats_;
};

class PgConnection {
 public:
  static Result<PgConnection> connect(const std::string& url);

  // Runs SQL without parameters (DDL, BEGIN, COMMIT); may hold several statements.
  Result<PgResult> execute(const std::string& sql);
  // Runs `sql` as a named prepared statement, preparing it on this connection on first use.
  Result<PgResult> run(const std::string& name, const std::string& sql, const PgParams& params);
  bool healthy() const { return PQstatus(connection_.get()) == CONNECTION_OK; }

 private:
  Result<PgResult> check(PGresult* raw, std::string_view what);
  std::unique_ptr<PGconn, ConnectionFinisher> connection_;
  std::unordered_set<std::string> prepared_;
};

}  // namespace kavach::store::postgres
