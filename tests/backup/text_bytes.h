// The bytes of a text, for backup tests that build keys, payloads and objects from literals.
#pragma once

#include <string_view>

#include "backup/backup_key.h"

namespace kavach::backup {

inline Bytes bytes(std::string_view text) { return Bytes(text.begin(), text.end()); }

}  // namespace kavach::backup
