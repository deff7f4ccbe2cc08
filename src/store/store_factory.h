// Opens the Store named by a store URL: "sqlite:PATH" (a file, created if missing) or
// "postgresql://..." / "postgres://..." (a libpq connection URI). The CLI and the server open their
// store only through here.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "common/error.h"
#include "store/store.h"

namespace kavach::store {

struct StoreOptions {
  std::size_t postgres_pool_size = 8;
};

// The default store of a node: SQLite inside its data directory.
std::string default_store_url(const std::filesystem::path& data_dir);

// Checks the URL's form without opening anything (for configuration checks).
Status validate_store_url(const std::string& url);

Result<std::unique_ptr<Store>> open_store(const std::string& url, const StoreOptions& options = {});

}  // namespace kavach::store
