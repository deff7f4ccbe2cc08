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

namespace {

// Reads exactly `width` digits at `pos`; false if any is not a digit.
bool read_digits(std::string_view text, std::size_t pos, std::size_t width, int& value) {
  if (pos + width > text.size()) return false;
  value = 0;
  for (std::size_t i = pos; i < pos + width; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    value = value * 10 + (text[i] - '0');
  }
  return true;
}

}  // namespace

std::optional<std::int64_t> parse_instant_ms(std::string_view text) {
  using namespace std::chrono;
  int year = 0, month = 0, day = 0;
  if (!read_digits(text, 0, 4, year) || text.size() < 10 || text[4] != '-' || text[7] != '-' ||
      !read_digits(text, 5, 2, month) || !read_digits(text, 8, 2, day)) {
    return std::nullopt;
  }
  const year_month_day date{std::chrono::year{year},
                            std::chrono::month{static_cast<unsigned>(month)},
                            std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok()) return std::nullopt;
  std::int64_t ms = duration_cast<milliseconds>(sys_days{date}.time_since_epoch()).count();
  if (text.size() == 10) return ms;
  int hour = 0, minute = 0, second = 0;
  if (text[10] != 'T' || text.size() < 19 || text[13] != ':' || text[16] != ':' ||
      !read_digits(text, 11, 2, hour) || !read_digits(text, 14, 2, minute) ||
      !read_digits(text, 17, 2, second) || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  ms += ((hour * 60 + minute) * 60 + second) * 1000LL;
  std::size_t pos = 19;
  if (pos < text.size() && text[pos] == '.') {
    std::size_t digits = 0;
    int fraction_ms = 0;
    for (++pos; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos, ++digits) {
      if (digits < 3) fraction_ms = fraction_ms * 10 + (text[pos] - '0');
    }
    if (digits == 0 || digits > 9) return std::nullopt;
    for (std::size_t i = digits; i < 3; ++i) fraction_ms *= 10;
    ms += fraction_ms;
  }
  if (pos == text.size()) return ms;
  if (text[pos] == 'Z' && pos + 1 == text.size()) return ms;
  int offset_hours = 0, offset_minutes = 0;
  if ((text[pos] != '+' && text[pos] != '-') || text.size() != pos + 6 || text[pos + 3] != ':' ||
      !read_digits(text, pos + 1, 2, offset_hours) ||
      !read_digits(text, pos + 4, 2, offset_minutes) || offset_hours > 23 || offset_minutes > 59) {
    return std::nullopt;
  }
  const std::int64_t offset_ms = (offset_hours * 60 + offset_minutes) * 60'000LL;
  return text[pos] == '+' ? ms - offset_ms : ms + offset_ms;
}

}  // namespace kavach
