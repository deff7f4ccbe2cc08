// Browser sessions for the web app (/app/). A browser holds the same credential a program would
// (a patient's session token, or a staff member's access token), but in a cookie the page's
// script cannot read (HttpOnly), that is sent only to this node (__Host-: Secure, Path=/, no
// Domain) and never on a request another site starts (SameSite=Strict). A request authenticated
// by the cookie that changes anything must also carry the CSRF token bound to it (a MAC of the
// session token under a node key), which only this node's own pages learn, from the sign-in
// answer and GET /app/api/session.
// Thread-safety: safe from any thread once constructed.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/error.h"
#include "crypto/secret_bytes.h"
#include "http/message.h"

namespace kavach::http {

inline constexpr std::string_view kSessionCookie = "__Host-kavach";
inline constexpr std::string_view kCsrfHeader = "x-csrf-token";

class WebSessions {
 public:
  // `key` is used for nothing else (derive it for this purpose).
  explicit WebSessions(crypto::SecretBytes key) : key_(std::move(key)) {}

  std::string csrf_token(std::string_view session_token) const;
  // Whether a request authenticated by the session cookie may go ahead: safe methods always; the
  // others only with the session's CSRF token, and, when the browser says where the request came
  // from (Origin, Sec-Fetch-Site), only from this node's own pages.
  Status check_request(const Request& request, std::string_view session_token) const;
  // Refuses a request that the browser says another site started (Origin, Sec-Fetch-Site): a
  // sign-in from a page of another site would otherwise plant that site's session here.
  static Status check_origin(const Request& request);

 private:
  const crypto::SecretBytes key_;
};

// The Set-Cookie value that stores `token` for `lifetime`, and the one that removes it.
std::string session_cookie(std::string_view token, std::chrono::seconds lifetime);
std::string expired_session_cookie();
// The value of cookie `name` in the request's Cookie header, or "".
std::string_view cookie_value(const Request& request, std::string_view name);

}  // namespace kavach::http
