// Instants as FHIR/RFC 3339 text (UTC, millisecond precision), both ways.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kavach {

// 1700000000123 -> "2023-11-14T22:13:20.123Z"
std::string format_instant_ms(std::int64_t unix_ms);

// Milliseconds since the epoch of an RFC 3339 date-time ("2023-11-14T22:13:20.123Z", an offset
// "+05:30", or no zone at all, which ABDM's messages mean as UTC) or of a date ("2023-11-14", the
// start of that day in UTC). Fractions beyond milliseconds are cut. nullopt for anything else,
// including impossible dates such as 2023-02-30.
std::optional<std::int64_t> parse_instant_ms(std::string_view text);

}  // namespace kavach
