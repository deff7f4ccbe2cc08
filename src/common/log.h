// Structured JSON logs, one object per line on stderr, through spdlog.
//
// Callers pass an event name and fields; values are escaped here. What may be logged is decided at
// the call site and reviewed: route patterns, status codes, durations, client ids, counts and error
// codes. Never a secret, a token, a request body, a query string or any patient's data.
// Thread-safety: safe from any thread.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace kavach::log {

enum class Level { kDebug, kInfo, kWarn, kError };

using Field = std::pair<std::string_view, std::string>;

// Routes logging to stderr as JSON lines at `level` and above.
void configure(Level level);
bool parse_level(std::string_view text, Level& level);

void event(Level level, std::string_view name, std::initializer_list<Field> fields = {});

inline void info(std::string_view name, std::initializer_list<Field> fields = {}) {
  event(Level::kInfo, name, fields);
}
inline void warn(std::string_view name, std::initializer_list<Field> fields = {}) {
  event(Level::kWarn, name, fields);
}
inline void error(std::string_view name, std::initializer_list<Field> fields = {}) {
  event(Level::kError, name, fields);
}

// JSON string escaping, exposed for tests.
std::string escape_json(std::string_view text);

}  // namespace kavach::log
