#include "store/postgres/postgres_connection.h"

#include <endian.h>

#include <cstring>

#include <fmt/format.h>

namespace kavach::store::postgres {
namespace {

ErrorCode map_sqlstate(std::string_view state) {
  if (state == "23505" || state == "40001" || state == "40P01") return ErrorCode::kConflict;
  if (state.starts_with("08") || state.starts_with("53") || state.starts_with("57")) {
    return ErrorCode::kUnavailable;
  }
  if (state.starts_with("XX")) return ErrorCode::kDataLoss;
  return ErrorCode::kInternal;
}

}  // namespace

std::string PgResult::text(int row, int column) const {
  return std::string(PQgetvalue(result_.get(), row, column),
                     static_cast<std::size_t>(PQgetlength(result_.get(), row, column)));
}

std::span<const std::uint8_t> PgResult::bytes(int row, int column) const {
  return {reinterpret_cast<const std::uint8_t*>(PQgetvalue(result_.get(), row, column)),
          static_cast<std::size_t>(PQgetlength(result_.get(), row, column))};
}

std::int64_t PgResult::int64(int row, int column) const {
  std::uint64_t network = 0;
  std::memcpy(&network, PQgetvalue(result_.get(), row, column), sizeof network);
  return static_cast<std::int64_t>(be64toh(network));
}

bool PgResult::boolean(int row, int column) const {
  return *PQgetvalue(result_.get(), row, column) != 0;
}

std::int64_t PgResult::affected_rows() const {
  const char* count = PQcmdTuples(result_.get());
  return (count && *count) ? std::stoll(count) : 0;
}

PgParams& PgParams::text(std::string_view value) {
  storage_.emplace_back(value);
  // The storage vector may reallocate, so spans are rebuilt when sent (see PgConnection::run).
  values_.emplace_back();
  formats_.push_back(0);
  return *this;
}

PgParams& PgParams::int64(std::int64_t value) { return text(std::to_string(value)); }

PgParams& PgParams::bytes(std::span<const std::uint8_t> value) {
  storage_.emplace_back();
  values_.push_back(value);
  formats_.push_back(1);
  return *this;
}

Result<PgConnection> PgConnection::connect(const std::string& url) {
  PgConnection connection;
  connection.connection_.reset(PQconnectdb(url.c_str()));
  if (!connection.connection_ || PQstatus(connection.connection_.get()) != CONNECTION_OK) {
    // The libpq message may echo the host but never the password.
    std::string message =
        connection.connection_ ? PQerrorMessage(connection.connection_.get()) : "out of memory";
    while (!message.empty() && message.back() == '\n') message.pop_back();
    return make_error(ErrorCode::kUnavailable, "postgresql: cannot connect: " + message);
  }
  // Server notices (such as "already exists, skipping") are not errors; keep them off stderr.
  PQsetNoticeProcessor(
      connection.connection_.get(), [](void*, const char*) {}, nullptr);
  return connection;
}

Result<PgResult> PgConnection::check(PGresult* raw, std::string_view what) {
  PgResult result(raw);
  const auto status = PQresultStatus(raw);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
  const char* state = raw ? PQresultErrorField(raw, PG_DIAG_SQLSTATE) : nullptr;
  const ErrorCode code = state ? map_sqlstate(state) : ErrorCode::kUnavailable;
  std::string message = raw ? PQresultErrorMessage(raw) : PQerrorMessage(connection_.get());
  while (!message.empty() && message.back() == '\n') message.pop_back();
  return make_error(code, fmt::format("postgresql: {}: {}", what, message));
}

Result<PgResult> PgConnection::execute(const std::string& sql) {
  return check(PQexec(connection_.get(), sql.c_str()), "execute");
}

Result<PgResult> PgConnection::run(const std::string& name, const std::string& sql,
                                   const PgParams& params) {
  if (!prepared_.contains(name)) {
    RETURN_IF_ERROR(check(PQprepare(connection_.get(), name.c_str(), sql.c_str(), 0, nullptr),
                          "prepare " + name));
    prepared_.insert(name);
  }
  std::vector<const char*> values(params.values_.size());
  std::vector<int> lengths(params.values_.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (params.formats_[i] == 1) {
      values[i] = reinterpret_cast<const char*>(params.values_[i].data());
      lengths[i] = static_cast<int>(params.values_[i].size());
      if (values[i] == nullptr) values[i] = "";  // an empty bytea is not NULL
    } else {
      values[i] = params.storage_[i].c_str();
      lengths[i] = static_cast<int>(params.storage_[i].size());
    }
  }
  return check(PQexecPrepared(connection_.get(), name.c_str(), params.size(), values.data(),
                              lengths.data(), params.formats_.data(), /*resultFormat=*/1),
               name);
}

}  // namespace kavach::store::postgres
