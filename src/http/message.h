// Kavach's own HTTP request and response values. The server converts Beast's messages into these,
// so handlers are plain functions callable in tests without a socket and without Beast's headers.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/query_string.h"
#include "store/store.h"

namespace kavach::http {

using kavach::parse_query;
using kavach::percent_decode;
using kavach::percent_encode;
using kavach::QueryParameters;

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // the target before '?', still percent-encoded
  std::string query;   // the target after '?', raw
  std::vector<std::pair<std::string, std::string>> headers;  // names in lowercase
  std::string body;
  std::string peer;  // the client's IP address, for rate limits ("" when unknown)
  // True when the client presented a TLS certificate that the server's client CA verified.
  bool client_certificate = false;
  bool secure = false;  // the request arrived over TLS

  // The first header with this lowercase name, or "" when absent.
  std::string_view header(std::string_view lowercase_name) const;
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The route pattern that answered (for metrics and logs); never sent to the client.
  std::string route = "unmatched";
  // Commits (the audit entries of what the response shows) the server awaits before it sends a
  // byte of this response; if one fails, the client hears 503 instead (audit::QueuedEntries).
  std::vector<store::CommitTicket> durable_first;

  Response& set_header(std::string name, std::string value);
  std::string_view header(std::string_view name) const;
};

}  // namespace kavach::http
