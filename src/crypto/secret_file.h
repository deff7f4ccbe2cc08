// Files that hold one secret (the backup key, the backup admin key): a header line naming the
// format, then "<kind> <hex>", mode 0600, never overwritten (common/private_file.h).
// Thread-safety: functions over the file system.
#pragma once

#include <filesystem>
#include <string_view>

#include "common/error.h"
#include "crypto/secret_bytes.h"

namespace kavach::crypto {

// Writes a new file; kAlreadyExists when one is there. `what` names it in messages.
Status write_secret_file(const std::filesystem::path& path, std::string_view header,
                         std::string_view kind, const SecretBytes& secret, std::string_view what);
// The secret, which must be `size` bytes; kFailedPrecondition for any other file.
Result<SecretBytes> read_secret_file(const std::filesystem::path& path, std::string_view header,
                                     std::string_view kind, std::size_t size,
                                     std::string_view what);

}  // namespace kavach::crypto
