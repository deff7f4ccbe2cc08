// A fresh PostgreSQL database for one test, dropped afterwards. The server comes from the
// environment: KAVACH_TEST_POSTGRES_HOST (a socket directory or host), KAVACH_TEST_POSTGRES_PORT
// and KAVACH_TEST_POSTGRES_USER, set by scripts/with-postgres.sh (make test and .ci/run use it).
// Without them the PostgreSQL tests skip, unless KAVACH_REQUIRE_POSTGRES=1, when they fail.
#pragma once

#include <memory>
#include <string>

namespace kavach::testing {

class PostgresTestDatabase {
 public:
  // nullptr when no server is configured (the caller skips the test).
  static std::unique_ptr<PostgresTestDatabase> create();
  ~PostgresTestDatabase();
  PostgresTestDatabase(const PostgresTestDatabase&) = delete;
  PostgresTestDatabase& operator=(const PostgresTestDatabase&) = delete;

  // A postgresql:// URL for the store.
  const std::string& url() const { return url_; }
  // Runs SQL on the test database as the superuser (for tests that tamper with rows); returns
  // false, with the server's message in *error, when the statement fails.
  bool execute(const std::string& sql, std::string* error = nullptr) const;

  PostgresTestDatabase(std::string name, std::string url)
      : name_(std::move(name)), url_(std::move(url)) {}

 private:
  std::string name_;
  std::string url_;
};

// True when a PostgreSQL server is configured for tests; fails the test when one is required.
bool postgres_available();

}  // namespace kavach::testing
