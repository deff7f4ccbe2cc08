#include "common/time_format.h"

#include <chrono>

#include <fmt/format.h>

namespace kavach {

std::string format_instant_ms(std::int64_t unix_ms) {
  using namespace std::chrono;
  const sys_time<milliseconds> instant{milliseconds{unix_ms}};
  const auto day = floor<days>(instant);
  const year_month_day date{day};
  const hh_mm_ss time{instant - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                     time.hours().count(), time.minutes().count(), time.seconds().count(),
                     time.subseconds().count());
}

}  // namespace kavach
