// WebAssets: the web app's built files (web/, built by Vite into <build>/app), read into memory
// once at start-up. Only these files are ever served under /app/, so no request path reaches the
// file system. A file's gzip twin ("x.js.gz", written by the build) is served to browsers that
// accept gzip.
// Thread-safety: immutable once loaded; safe from any thread.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "common/error.h"

namespace kavach::http {

struct WebAsset {
  std::string content_type;
  std::string body;
  std::string gzip_body;   // "" when the build wrote no gzip twin
  bool immutable = false;  // named by its content hash (assets/...): cached for good
};

class WebAssets {
 public:
  // Every file under `root`, which must hold index.html. kNotFound when it does not;
  // kResourceExhausted past 64 MiB or 2,000 files.
  static Result<WebAssets> load(const std::filesystem::path& root);

  // The file at `path` relative to the root ("index.html", "assets/app-1a2b.js"), or null.
  const WebAsset* find(std::string_view path) const;
  std::size_t size() const { return files_.size(); }

 private:
  std::map<std::string, WebAsset, std::less<>> files_;
};

// Where the web app's files are when no configuration says: beside the binary (the build tree
// puts them in <build>/app), then <prefix>/share/kavach/app for an installed binary. Empty when
// neither holds an index.html.
std::filesystem::path default_web_root();

}  // namespace kavach::http
