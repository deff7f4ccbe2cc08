#include "support/temp_dir.h"

#include <stdlib.h>

#include <string>

namespace kavach::testing {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "kavach-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) std::abort();
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace kavach::testing
