#include "backup/admin_request.h"

#include <charconv>
#include <sstream>

#include <fmt/format.h>

#include "crypto/secret_file.h"

namespace kavach::backup {
namespace {

constexpr std::string_view kKeyHeader = "kavach-backup-admin-key v1";
constexpr std::string_view kRequestHeader = "kavach-backup-admin v1";
constexpr std::string_view kAdminKeyLabel = "backup admin key";
constexpr std::size_t kSeedBytes = 32;

Error denied(std::string_view why) {
  return Error{ErrorCode::kPermissionDenied, fmt::format("admin request refused: {}", why)};
}

bool parse_int(std::string_view text, std::int64_t& out) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

}  // namespace

Result<audit::NoteSigner> create_admin_key(const std::filesystem::path& path) {
  const auto seed = crypto::SecretBytes::random(kSeedBytes);
  RETURN_IF_ERROR(crypto::write_secret_file(path, kKeyHeader, "seed", seed, kAdminKeyLabel));
  return audit::NoteSigner::from_seed(kAdminKeyName, seed);
}

Result<audit::NoteSigner> load_admin_key(const std::filesystem::path& path) {
  ASSIGN_OR_RETURN(const auto seed,
                   crypto::read_secret_file(path, kKeyHeader, "seed", kSeedBytes, kAdminKeyLabel));
  return audit::NoteSigner::from_seed(kAdminKeyName, seed);
}

Result<std::string> sign_admin_request(const audit::NoteSigner& signer,
                                       const AdminRequest& request) {
  const std::string_view operation =
      request.operation == AdminOperation::kPrune ? "prune" : "retention";
  return signer.sign(fmt::format("{}\n{} {}\nissued {}\n", kRequestHeader, operation,
                                 request.argument, request.issued_ms));
}

Result<AdminRequest> AdminRequestGate::open(std::string_view note) {
  auto text = verifier_.open(note);
  if (!text) return tl::unexpected(denied("it is not signed by the repository's admin key"));
  std::istringstream lines(*text);
  std::string header, operation_line, issued_line;
  std::getline(lines, header);
  std::getline(lines, operation_line);
  std::getline(lines, issued_line);
  AdminRequest request;
  const auto space = operation_line.find(' ');
  const std::string_view operation = std::string_view(operation_line).substr(0, space);
  if (header != kRequestHeader || space == std::string::npos ||
      !parse_int(std::string_view(operation_line).substr(space + 1), request.argument) ||
      !issued_line.starts_with("issued ") ||
      !parse_int(std::string_view(issued_line).substr(7), request.issued_ms)) {
    return tl::unexpected(denied("it is malformed"));
  }
  if (operation == "prune") {
    request.operation = AdminOperation::kPrune;
  } else if (operation == "retention") {
    request.operation = AdminOperation::kRetention;
  } else {
    return tl::unexpected(denied(fmt::format("unknown operation {}", operation)));
  }
  const std::int64_t now = unix_ms(clock_.now());
  const std::int64_t skew =
      std::chrono::duration_cast<std::chrono::milliseconds>(kAdminRequestSkew).count();
  if (request.issued_ms < now - skew || request.issued_ms > now + skew) {
    return tl::unexpected(denied("it was not issued within five minutes of the server's clock"));
  }
  std::lock_guard lock(mutex_);
  std::erase_if(seen_issued_ms_, [&](std::int64_t issued) { return issued < now - skew; });
  if (!seen_issued_ms_.insert(request.issued_ms).second) {
    return tl::unexpected(denied("it was already used"));
  }
  return request;
}

}  // namespace kavach::backup
