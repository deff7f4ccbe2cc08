#include "common/log.h"

#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "common/canonical_json.h"

namespace kavach::log {
namespace {

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

std::shared_ptr<spdlog::logger> logger() {
  static auto instance = [] {
    auto created = spdlog::stderr_logger_mt("kavach");
    created->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v})",
                         spdlog::pattern_time_type::utc);
    created->flush_on(spdlog::level::info);
    return created;
  }();
  return instance;
}

}  // namespace

void configure(Level level) { logger()->set_level(to_spdlog(level)); }

bool parse_level(std::string_view text, Level& level) {
  if (text == "debug")
    level = Level::kDebug;
  else if (text == "info")
    level = Level::kInfo;
  else if (text == "warn")
    level = Level::kWarn;
  else if (text == "error")
    level = Level::kError;
  else
    return false;
  return true;
}

std::string escape_json(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  append_escaped_json(out, text);
  return out;
}

void event(Level level, std::string_view name, std::initializer_list<Field> fields) {
  auto& sink = *logger();
  const auto spd_level = to_spdlog(level);
  if (!sink.should_log(spd_level)) return;
  std::string line = fmt::format(R"("event":"{}")", escape_json(name));
  for (const auto& [key, value] : fields) {
    line += fmt::format(R"(,"{}":"{}")", escape_json(key), escape_json(value));
  }
  sink.log(spd_level, line);
}

}  // namespace kavach::log
