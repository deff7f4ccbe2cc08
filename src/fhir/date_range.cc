#include "fhir/date_range.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

namespace kavach::fhir {
namespace {

using std::chrono::days;
using std::chrono::sys_days;
using std::chrono::year_month_day;

constexpr std::int64_t kMsPerSecond = 1000;
constexpr std::int64_t kMsPerMinute = 60 * kMsPerSecond;
constexpr std::int64_t kMsPerDay = 24 * 60 * kMsPerMinute;

// Searches without a bound on one side are covered from 1800 to 2199; values outside those years
// also carry a "far" marker, which such searches include.
constexpr int kCoveredYearFirst = 1800;
constexpr int kCoveredYearEnd = 2200;

std::int64_t day_number(int year, unsigned month, unsigned day) {
  return sys_days{std::chrono::year{year} / std::chrono::month{month} / std::chrono::day{day}}
      .time_since_epoch()
      .count();
}

year_month_day civil(std::int64_t day) { return year_month_day{sys_days{days{day}}}; }

std::int64_t floor_day(std::int64_t ms) {
  return ms >= 0 ? ms / kMsPerDay : -((-ms + kMsPerDay - 1) / kMsPerDay);
}

int year_of(std::int64_t day) { return static_cast<int>(civil(day).year()); }

bool is_far(std::int64_t day) {
  const int year = year_of(day);
  return year < kCoveredYearFirst || year >= kCoveredYearEnd;
}

// Reads exactly `width` digits at `pos`.
std::optional<int> digits(std::string_view text, std::size_t& pos, std::size_t width) {
  if (pos + width > text.size()) return std::nullopt;
  int value = 0;
  for (std::size_t i = 0; i < width; ++i) {
    const char c = text[pos + i];
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  pos += width;
  return value;
}

bool take(std::string_view text, std::size_t& pos, char expected) {
  if (pos < text.size() && text[pos] == expected) {
    ++pos;
    return true;
  }
  return false;
}

void add_buckets(std::vector<std::string>& out, char side, std::int64_t day) {
  const auto date = civil(day);
  const int year = static_cast<int>(date.year());
  const unsigned month = static_cast<unsigned>(date.month());
  out.push_back(fmt::format("{}X{:03}", side, year / 10));
  out.push_back(fmt::format("{}Y{:04}", side, year));
  out.push_back(fmt::format("{}M{:04}-{:02}", side, year, month));
  out.push_back(
      fmt::format("{}D{:04}-{:02}-{:02}", side, year, month, static_cast<unsigned>(date.day())));
}

// The fewest buckets (decades, years, months, days) whose days are exactly [first, end).
void add_cover(std::vector<std::string>& out, char side, std::int64_t first, std::int64_t end) {
  for (std::int64_t day = first; day < end;) {
    const auto date = civil(day);
    const int year = static_cast<int>(date.year());
    const unsigned month = static_cast<unsigned>(date.month());
    const bool new_year = month == 1 && static_cast<unsigned>(date.day()) == 1;
    const bool new_month = static_cast<unsigned>(date.day()) == 1;
    if (new_year && year % 10 == 0 && day_number(year + 10, 1, 1) <= end) {
      out.push_back(fmt::format("{}X{:03}", side, year / 10));
      day = day_number(year + 10, 1, 1);
    } else if (new_year && day_number(year + 1, 1, 1) <= end) {
      out.push_back(fmt::format("{}Y{:04}", side, year));
      day = day_number(year + 1, 1, 1);
    } else if (new_month &&
               (month == 12 ? day_number(year + 1, 1, 1) : day_number(year, month + 1, 1)) <= end) {
      out.push_back(fmt::format("{}M{:04}-{:02}", side, year, month));
      day = month == 12 ? day_number(year + 1, 1, 1) : day_number(year, month + 1, 1);
    } else {
      out.push_back(fmt::format("{}D{:04}-{:02}-{:02}", side, year, month,
                                static_cast<unsigned>(date.day())));
      ++day;
    }
  }
}

// Index values for records whose bound on `side` ('s' first day, 'e' last day) falls in
// [low_ms, high_ms). Point values carry only 's' buckets, so 'e' searches include those too.
std::vector<std::string> cover(char side, std::int64_t low_ms, std::int64_t high_ms) {
  std::vector<std::string> out;
  const std::int64_t covered_first = day_number(kCoveredYearFirst, 1, 1);
  const std::int64_t covered_end = day_number(kCoveredYearEnd, 1, 1);
  std::int64_t first = low_ms == kUnboundedBefore ? covered_first : floor_day(low_ms);
  std::int64_t end = high_ms == kUnboundedAfter ? covered_end : floor_day(high_ms - 1) + 1;
  if (first < covered_first || end > covered_end || low_ms == kUnboundedBefore ||
      high_ms == kUnboundedAfter) {
    out.push_back("sF");
    out.push_back("eF");
  }
  first = std::clamp(first, covered_first, covered_end);
  end = std::clamp(end, covered_first, covered_end);
  if (low_ms == kUnboundedBefore) out.push_back("s-");
  if (high_ms == kUnboundedAfter) out.push_back("e+");
  add_cover(out, 's', first, end);
  if (side == 'e') add_cover(out, 'e', first, end);
  return out;
}

}  // namespace

std::optional<DateRange> parse_date_range(std::string_view text) {
  std::size_t pos = 0;
  const auto year = digits(text, pos, 4);
  if (!year || *year == 0) return std::nullopt;
  if (pos == text.size()) {
    return DateRange{day_number(*year, 1, 1) * kMsPerDay, day_number(*year + 1, 1, 1) * kMsPerDay};
  }
  if (!take(text, pos, '-')) return std::nullopt;
  const auto month = digits(text, pos, 2);
  if (!month || *month < 1 || *month > 12) return std::nullopt;
  const auto month_start = day_number(*year, static_cast<unsigned>(*month), 1);
  if (pos == text.size()) {
    const auto next = *month == 12 ? day_number(*year + 1, 1, 1)
                                   : day_number(*year, static_cast<unsigned>(*month) + 1, 1);
    return DateRange{month_start * kMsPerDay, next * kMsPerDay};
  }
  if (!take(text, pos, '-')) return std::nullopt;
  const auto day = digits(text, pos, 2);
  if (!day) return std::nullopt;
  const year_month_day date{std::chrono::year{*year},
                            std::chrono::month{static_cast<unsigned>(*month)},
                            std::chrono::day{static_cast<unsigned>(*day)}};
  if (!date.ok()) return std::nullopt;
  const std::int64_t day_ms = sys_days{date}.time_since_epoch().count() * kMsPerDay;
  if (pos == text.size()) return DateRange{day_ms, day_ms + kMsPerDay};

  if (!take(text, pos, 'T')) return std::nullopt;
  const auto hour = digits(text, pos, 2);
  if (!hour || *hour > 23 || !take(text, pos, ':')) return std::nullopt;
  const auto minute = digits(text, pos, 2);
  if (!minute || *minute > 59) return std::nullopt;
  std::int64_t ms = day_ms + *hour * 60 * kMsPerMinute + *minute * kMsPerMinute;
  std::int64_t width = kMsPerMinute;
  if (take(text, pos, ':')) {
    const auto second = digits(text, pos, 2);
    if (!second || *second > 60) return std::nullopt;  // 60: a leap second
    ms += std::min(*second, 59) * kMsPerSecond;
    width = kMsPerSecond;
    if (take(text, pos, '.')) {
      std::int64_t fraction = 0;
      std::size_t places = 0;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
        if (places < 3) fraction = fraction * 10 + (text[pos] - '0');
        ++places;
        ++pos;
      }
      if (places == 0) return std::nullopt;
      for (std::size_t i = places; i < 3; ++i) fraction *= 10;
      ms += fraction;
      width = 1;
    }
  }
  if (pos == text.size() || take(text, pos, 'Z')) {
    // No zone: UTC (as FHIR dates without one are read here, and as ABDM writes them).
  } else if (text[pos] == '+' || text[pos] == '-') {
    const bool east = text[pos] == '+';
    ++pos;
    const auto zone_hours = digits(text, pos, 2);
    if (!zone_hours || *zone_hours > 14 || !take(text, pos, ':')) return std::nullopt;
    const auto zone_minutes = digits(text, pos, 2);
    if (!zone_minutes || *zone_minutes > 59) return std::nullopt;
    const std::int64_t offset = (*zone_hours * 60 + *zone_minutes) * kMsPerMinute;
    ms += east ? -offset : offset;
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  return DateRange{ms, ms + width};
}

bool date_matches(DateComparator comparator, const DateRange& searched, const DateRange& stored) {
  const bool contained = searched.low_ms <= stored.low_ms && stored.high_ms <= searched.high_ms;
  switch (comparator) {
    case DateComparator::kEq:
      return contained;
    case DateComparator::kNe:
      return !contained;
    case DateComparator::kGt:
      return stored.high_ms > searched.high_ms;
    case DateComparator::kLt:
      return stored.low_ms < searched.low_ms;
    case DateComparator::kGe:
      return stored.high_ms > searched.high_ms || contained;
    case DateComparator::kLe:
      return stored.low_ms < searched.low_ms || contained;
    case DateComparator::kSa:
      return stored.low_ms >= searched.high_ms;
    case DateComparator::kEb:
      return stored.high_ms <= searched.low_ms;
  }
  return false;
}

std::vector<std::string> date_index_values(const DateRange& stored) {
  std::vector<std::string> out;
  const bool open_start = stored.low_ms == kUnboundedBefore;
  const bool open_end = stored.high_ms == kUnboundedAfter;
  const std::int64_t first = open_start ? 0 : floor_day(stored.low_ms);
  const std::int64_t last = open_end ? 0 : floor_day(stored.high_ms - 1);
  if (open_start) {
    out.emplace_back("s-");
  } else {
    add_buckets(out, 's', first);
    if (is_far(first)) out.emplace_back("sF");
  }
  if (open_end) {
    out.emplace_back("e+");
  } else if (open_start || last != first) {
    add_buckets(out, 'e', last);
    if (is_far(last)) out.emplace_back("eF");
  }
  return out;
}

std::optional<std::vector<std::string>> date_candidate_values(DateComparator comparator,
                                                              const DateRange& searched) {
  // Each case states which bound of a matching stored range must fall where (see date_matches).
  switch (comparator) {
    case DateComparator::kEq:  // first day within the searched range
      return cover('s', searched.low_ms, searched.high_ms);
    case DateComparator::kNe:
      return std::nullopt;
    case DateComparator::kGt:  // last day at or after the searched range's end
      return cover('e', searched.high_ms, kUnboundedAfter);
    case DateComparator::kLt:  // first day before the searched range
      return cover('s', kUnboundedBefore, searched.low_ms);
    case DateComparator::kGe:  // last day at or after the searched range's start
      return cover('e', searched.low_ms, kUnboundedAfter);
    case DateComparator::kLe:  // first day before the searched range's end
      return cover('s', kUnboundedBefore, searched.high_ms);
    case DateComparator::kSa:
      return cover('s', searched.high_ms, kUnboundedAfter);
    case DateComparator::kEb:
      return cover('e', kUnboundedBefore, searched.low_ms);
  }
  return std::nullopt;
}

}  // namespace kavach::fhir
