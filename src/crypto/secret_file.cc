#include "crypto/secret_file.h"

#include <sstream>
#include <string>

#include <fmt/format.h>

#include "common/private_file.h"
#include "crypto/encoding.h"
#include "crypto/sodium.h"

namespace kavach::crypto {

Status write_secret_file(const std::filesystem::path& path, std::string_view header,
                         std::string_view kind, const SecretBytes& secret, std::string_view what) {
  std::string text = fmt::format("{}\n{} {}\n", header, kind, to_hex(secret.view()));
  auto written = write_private_file(path, text, /*exclusive=*/true, what);
  wipe(text);
  return written;
}

Result<SecretBytes> read_secret_file(const std::filesystem::path& path, std::string_view header,
                                     std::string_view kind, std::size_t size,
                                     std::string_view what) {
  ASSIGN_OR_RETURN(std::string text, read_private_file(path, what));
  std::istringstream in(text);
  wipe(text);
  std::string read_header, read_kind, hex;
  std::getline(in, read_header);
  in >> read_kind >> hex;
  auto bytes = from_hex(hex);
  wipe(hex);
  if (read_header != header || read_kind != kind || !bytes || bytes->size() != size) {
    if (bytes) wipe(*bytes);
    return make_error(ErrorCode::kFailedPrecondition,
                      fmt::format("{} is not a Kavach {} file", path.string(), what));
  }
  SecretBytes secret(*bytes);
  wipe(*bytes);
  return secret;
}

}  // namespace kavach::crypto
