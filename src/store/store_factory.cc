#include "store/store_factory.h"

#include <fmt/format.h>

#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"

namespace kavach::store {
namespace {

constexpr std::string_view kSqlitePrefix = "sqlite:";

bool is_postgres(std::string_view url) {
  return url.starts_with("postgresql://") || url.starts_with("postgres://");
}

}  // namespace

std::string default_store_url(const std::filesystem::path& data_dir) {
  return fmt::format("{}{}", kSqlitePrefix, (data_dir / "kavach.db").string());
}

Status validate_store_url(const std::string& url) {
  if (url.starts_with(kSqlitePrefix) && url.size() > kSqlitePrefix.size()) return {};
  if (is_postgres(url)) return {};
  return make_error(ErrorCode::kInvalidArgument,
                    "a store URL is sqlite:PATH or postgresql://USER@HOST/DATABASE");
}

Result<std::unique_ptr<Store>> open_store(const std::string& url, const StoreOptions& options) {
  RETURN_IF_ERROR(validate_store_url(url));
  if (is_postgres(url)) {
    ASSIGN_OR_RETURN(auto store, postgres::PostgresStore::open(url, options.postgres_pool_size));
    return std::unique_ptr<Store>(std::move(store));
  }
  const std::filesystem::path path(url.substr(kSqlitePrefix.size()));
  if (path.has_parent_path() && !std::filesystem::is_directory(path.parent_path())) {
    return make_error(
        ErrorCode::kFailedPrecondition,
        fmt::format("the store's directory {} does not exist", path.parent_path().string()));
  }
  ASSIGN_OR_RETURN(auto store, sqlite::SqliteStore::open(path));
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace kavach::store
