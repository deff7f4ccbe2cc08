// URL query strings (application/x-www-form-urlencoded): splitting and percent-decoding. Used by
// the HTTP layer for request queries and by the FHIR domain for the search criteria that arrive
// inside request bodies and headers (If-None-Exist, conditional references, Bundle entry URLs).
// Thread-safety: stateless functions.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kavach {

using QueryParameters = std::vector<std::pair<std::string, std::string>>;

// Splits and percent-decodes a query string; '+' is a space. Malformed escapes are kept verbatim.
QueryParameters parse_query(std::string_view query);
std::string percent_decode(std::string_view text);
// Percent-encodes everything but RFC 3986 unreserved characters, for building query strings.
std::string percent_encode(std::string_view text);

}  // namespace kavach
