#include "http/web_session.h"

#include <sodium.h>

#include <fmt/format.h>

#include "crypto/encoding.h"
#include "crypto/keyed_hash.h"

namespace kavach::http {
namespace {

bool is_safe_method(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS";
}

// "https://host:port" -> "host:port".
std::string_view origin_authority(std::string_view origin) {
  const auto scheme_end = origin.find("://");
  return scheme_end == std::string_view::npos ? std::string_view() : origin.substr(scheme_end + 3);
}

}  // namespace

std::string WebSessions::csrf_token(std::string_view session_token) const {
  const auto tag = crypto::mac(key_, crypto::as_bytes(session_token));
  return crypto::to_base64url(tag);
}

Status WebSessions::check_origin(const Request& request) {
  if (request.header("sec-fetch-site") == "cross-site") {
    return make_error(ErrorCode::kPermissionDenied, "a request from another site");
  }
  const auto origin = request.header("origin");
  if (!origin.empty() && origin_authority(origin) != request.header("host")) {
    return make_error(ErrorCode::kPermissionDenied, "a request from another origin");
  }
  return {};
}

Status WebSessions::check_request(const Request& request, std::string_view session_token) const {
  // A browser names the site that started a request; a cookie-authenticated request that another
  // site started is refused even where it changes nothing.
  if (request.header("sec-fetch-site") == "cross-site") {
    return make_error(ErrorCode::kPermissionDenied, "a request from another site");
  }
  if (is_safe_method(request.method)) return {};
  RETURN_IF_ERROR(check_origin(request));
  const auto presented = request.header(kCsrfHeader);
  const std::string expected = csrf_token(session_token);
  if (presented.size() != expected.size() ||
      sodium_memcmp(presented.data(), expected.data(), expected.size()) != 0) {
    return make_error(ErrorCode::kPermissionDenied,
                      "this request needs the session's CSRF token (X-CSRF-Token)");
  }
  return {};
}

std::string session_cookie(std::string_view token, std::chrono::seconds lifetime) {
  return fmt::format("{}={}; Path=/; Max-Age={}; HttpOnly; Secure; SameSite=Strict", kSessionCookie,
                     token, std::max<std::int64_t>(0, lifetime.count()));
}

std::string expired_session_cookie() { return session_cookie("", std::chrono::seconds(0)); }

std::string_view cookie_value(const Request& request, std::string_view name) {
  std::string_view rest = request.header("cookie");
  while (!rest.empty()) {
    const auto semicolon = rest.find(';');
    std::string_view pair = rest.substr(0, semicolon);
    rest = semicolon == std::string_view::npos ? std::string_view() : rest.substr(semicolon + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    const auto equals = pair.find('=');
    if (equals != std::string_view::npos && pair.substr(0, equals) == name) {
      return pair.substr(equals + 1);
    }
  }
  return {};
}

}  // namespace kavach::http
