// A browser's Cookie, Origin, Sec-Fetch-Site and X-CSRF-Token headers come from outside on every
// request to the web app. The input is split at newlines into those four headers.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/web_session.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const kavach::http::WebSessions sessions(kavach::crypto::SecretBytes(32));
  std::string_view text(reinterpret_cast<const char*>(data), size);
  kavach::http::Request request;
  request.method = size % 2 == 0 ? "POST" : "GET";
  request.path = "/cm/v1/me/lock";
  request.headers.emplace_back("host", "127.0.0.1:8080");
  for (const char* name : {"cookie", "origin", "sec-fetch-site", "x-csrf-token"}) {
    const auto newline = text.find('\n');
    request.headers.emplace_back(name, std::string(text.substr(0, newline)));
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
  }
  const auto token = kavach::http::cookie_value(request, kavach::http::kSessionCookie);
  // The value is a piece of the header it came from, never more.
  const auto header = request.header("cookie");
  if (!token.empty() && (token.data() < header.data() ||
                         token.data() + token.size() > header.data() + header.size())) {
    __builtin_trap();
  }
  const auto allowed = sessions.check_request(request, token);
  // A change with a forged token is never allowed: the right one is a MAC only the node makes.
  if (allowed && request.method == "POST" &&
      request.header("x-csrf-token") != sessions.csrf_token(token)) {
    __builtin_trap();
  }
  return 0;
}
