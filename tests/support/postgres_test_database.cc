#include "support/postgres_test_database.h"

#include <libpq-fe.h>

#include <atomic>
#include <cstdlib>
#include <random>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace kavach::testing {
namespace {

const char* env(const char* name) { return std::getenv(name); }

std::string server_url(const std::string& database) {
  return fmt::format("postgresql://{}@/{}?host={}&port={}", env("KAVACH_TEST_POSTGRES_USER"),
                     database, env("KAVACH_TEST_POSTGRES_HOST"), env("KAVACH_TEST_POSTGRES_PORT"));
}

bool run_sql(const std::string& url, const std::string& sql, std::string* error = nullptr) {
  PGconn* connection = PQconnectdb(url.c_str());
  if (PQstatus(connection) != CONNECTION_OK) {
    ADD_FAILURE() << "cannot connect to the test PostgreSQL: " << PQerrorMessage(connection);
    PQfinish(connection);
    return false;
  }
  PGresult* result = PQexec(connection, sql.c_str());
  const auto status = PQresultStatus(result);
  const bool succeeded = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
  if (!succeeded && error != nullptr) *error = PQresultErrorMessage(result);
  PQclear(result);
  PQfinish(connection);
  return succeeded;
}

}  // namespace

bool postgres_available() {
  if (env("KAVACH_TEST_POSTGRES_HOST") && env("KAVACH_TEST_POSTGRES_PORT") &&
      env("KAVACH_TEST_POSTGRES_USER")) {
    return true;
  }
  const char* required = env("KAVACH_REQUIRE_POSTGRES");
  if (required && std::string(required) == "1") {
    ADD_FAILURE() << "KAVACH_REQUIRE_POSTGRES=1 but no test PostgreSQL server is configured";
  }
  return false;
}

std::unique_ptr<PostgresTestDatabase> PostgresTestDatabase::create() {
  if (!postgres_available()) return nullptr;
  static std::atomic<int> counter{0};
  std::random_device entropy;
  const std::string name =
      fmt::format("kavach_test_{}_{}_{}", ::getpid(), counter++, entropy() % 100000);
  std::string error;
  if (!run_sql(server_url("postgres"), fmt::format("CREATE DATABASE {}", name), &error)) {
    ADD_FAILURE() << "cannot create a test database: " << error;
    return nullptr;
  }
  return std::make_unique<PostgresTestDatabase>(name, server_url(name));
}

PostgresTestDatabase::~PostgresTestDatabase() {
  run_sql(server_url("postgres"), fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", name_));
}

bool PostgresTestDatabase::execute(const std::string& sql, std::string* error) const {
  return run_sql(url_, sql, error);
}

}  // namespace kavach::testing
