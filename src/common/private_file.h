// Small files that hold secrets (the node key file, the backup key, the backup admin key): read
// only when no group or other permission bit is set, and written whole (a sibling file renamed
// over the old one, fsynced with its directory) with mode 0600, so a crash leaves either the old
// file or the new one.
// Thread-safety: functions over the file system; callers serialise writes to one path.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/error.h"

namespace kavach {

// The file's contents; kFailedPrecondition if it is missing, unreadable or open to group/others.
// `what` names the file in messages ("key file", "backup key").
Result<std::string> read_private_file(const std::filesystem::path& path, std::string_view what);

// Writes `text` as the whole file with mode 0600. With `exclusive`, refuses (kAlreadyExists) to
// replace a file that exists; otherwise replaces it atomically.
Status write_private_file(const std::filesystem::path& path, std::string_view text, bool exclusive,
                          std::string_view what);

}  // namespace kavach
