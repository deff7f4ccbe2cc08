#include "http/web_assets.h"

#include <unistd.h>

#include <array>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace kavach::http {
namespace {

constexpr std::uintmax_t kTotalBytesMax = 64 * 1024 * 1024;
constexpr std::size_t kFilesMax = 2000;

std::string_view content_type_of(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 12> kTypes{{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".webmanifest", "application/manifest+json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
      {".map", "application/json"},
  }};
  for (const auto& [suffix, type] : kTypes) {
    if (name.ends_with(suffix)) return type;
  }
  return "application/octet-stream";
}

Result<std::string> read_whole(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kUnavailable, fmt::format("cannot read {}", path.string()));
  std::ostringstream out;
  out << in.rdbuf();
  return std::move(out).str();
}

}  // namespace

Result<WebAssets> WebAssets::load(const std::filesystem::path& root) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(root / "index.html", error)) {
    return make_error(
        ErrorCode::kNotFound,
        fmt::format("{} holds no index.html (build the web app: make build)", root.string()));
  }
  WebAssets assets;
  std::map<std::string, std::string> gzip_twins;
  std::uintmax_t total = 0;
  for (auto it = std::filesystem::recursive_directory_iterator(root, error);
       !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
    if (!it->is_regular_file()) continue;
    if (assets.files_.size() + gzip_twins.size() >= kFilesMax) {
      return make_error(ErrorCode::kResourceExhausted, "the web app has too many files");
    }
    total += it->file_size();
    if (total > kTotalBytesMax) {
      return make_error(ErrorCode::kResourceExhausted, "the web app is larger than 64 MiB");
    }
    const std::string relative = it->path().lexically_relative(root).generic_string();
    ASSIGN_OR_RETURN(auto body, read_whole(it->path()));
    if (relative.ends_with(".gz")) {
      gzip_twins[relative.substr(0, relative.size() - 3)] = std::move(body);
      continue;
    }
    WebAsset asset;
    asset.content_type = std::string(content_type_of(relative));
    asset.body = std::move(body);
    asset.immutable = relative.starts_with("assets/");
    assets.files_.emplace(relative, std::move(asset));
  }
  if (error) {
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("cannot list {}: {}", root.string(), error.message()));
  }
  for (auto& [name, body] : gzip_twins) {
    if (auto found = assets.files_.find(name); found != assets.files_.end()) {
      found->second.gzip_body = std::move(body);
    }
  }
  return assets;
}

const WebAsset* WebAssets::find(std::string_view path) const {
  const auto found = files_.find(path);
  return found == files_.end() ? nullptr : &found->second;
}

std::filesystem::path default_web_root() {
  std::array<char, 4096> buffer{};
  const auto length = ::readlink("/proc/self/exe", buffer.data(), buffer.size() - 1);
  if (length <= 0) return {};
  const std::filesystem::path binary_dir =
      std::filesystem::path(std::string(buffer.data(), static_cast<std::size_t>(length)))
          .parent_path();
  std::error_code error;
  for (const auto& candidate :
       {binary_dir / "app", binary_dir.parent_path() / "share" / "kavach" / "app"}) {
    if (std::filesystem::is_regular_file(candidate / "index.html", error)) return candidate;
  }
  return {};
}

}  // namespace kavach::http
