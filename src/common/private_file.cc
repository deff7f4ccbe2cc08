#include "common/private_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "common/file_descriptor.h"

namespace kavach {
namespace {

Error io_error(std::string_view what_file, const std::filesystem::path& path,
               std::string_view what) {
  return Error{ErrorCode::kFailedPrecondition,
               fmt::format("{} {}: {}: {}", what_file, path.string(), what, std::strerror(errno))};
}

}  // namespace

Result<std::string> read_private_file(const std::filesystem::path& path, std::string_view what) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return tl::unexpected(io_error(what, path, "cannot read"));
  if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return make_error(ErrorCode::kFailedPrecondition,
                      fmt::format("{} {} is readable by group or others (mode {:o}); "
                                  "run chmod 600 on it",
                                  what, path.string(), info.st_mode & 0777));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return tl::unexpected(io_error(what, path, "cannot read"));
  std::ostringstream text;
  text << in.rdbuf();
  return std::move(text).str();
}

Status write_private_file(const std::filesystem::path& path, std::string_view text, bool exclusive,
                          std::string_view what) {
  // Write a sibling file and rename it over the old one, so a crash leaves either file whole.
  const std::filesystem::path target =
      exclusive ? path : std::filesystem::path(path.string() + ".tmp");
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC);
  FileDescriptor fd(::open(target.c_str(), flags, 0600));
  if (fd.get() < 0) {
    if (errno == EEXIST) {
      return make_error(
          ErrorCode::kAlreadyExists,
          fmt::format("{} {} already exists; refusing to overwrite it", what, path.string()));
    }
    return tl::unexpected(io_error(what, target, "cannot create"));
  }
  if (!write_all(fd.get(), text) || ::fsync(fd.get()) != 0) {
    return tl::unexpected(io_error(what, target, "cannot write"));
  }
  if (!exclusive && ::rename(target.c_str(), path.c_str()) != 0) {
    return tl::unexpected(io_error(what, path, "cannot replace"));
  }
  const auto parent = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  FileDescriptor dir(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() >= 0) ::fsync(dir.get());
  return {};
}

}  // namespace kavach
