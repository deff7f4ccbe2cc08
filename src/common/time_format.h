// Formatting of instants as FHIR/RFC 3339 text (UTC, millisecond precision).
#pragma once

#include <cstdint>
#include <string>

namespace kavach {

// 1700000000123 -> "2023-11-14T22:13:20.123Z"
std::string format_instant_ms(std::int64_t unix_ms);

}  // namespace kavach
