// FHIR dates as ranges of time, and the calendar buckets that make date search work over blind
// indexes.
//
// Every FHIR date, dateTime, instant or Period stands for a range: "2020" is the whole year,
// "2020-03-15T10:00:00Z" one second, a Period from its start to its end (open where a bound is
// missing). Search prefixes compare ranges (FHIR R4 search 3.1.1.4.2): `eq` when the searched
// range contains the stored one, `gt` when the stored one reaches beyond it, and so on.
//
// The blind index cannot order values, so a stored range is indexed by the calendar buckets
// (decade, year, month, day, all in UTC) of its first day and, when it ends on another day, of its
// last day. A search turns its range into the few buckets that cover it and asks the index for
// records carrying any of them: a superset of the matches, which the exact comparison on the
// opened record then narrows. Nothing finer than a day is revealed by the index.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kavach::fhir {

inline constexpr std::int64_t kUnboundedBefore = std::numeric_limits<std::int64_t>::min();
inline constexpr std::int64_t kUnboundedAfter = std::numeric_limits<std::int64_t>::max();

// [low_ms, high_ms) in milliseconds since the epoch; the bounds above stand for an open end.
struct DateRange {
  std::int64_t low_ms = kUnboundedBefore;
  std::int64_t high_ms = kUnboundedAfter;
  bool operator==(const DateRange&) const = default;
};

// The range a FHIR date, dateTime or instant stands for, at the precision it is written in:
// "2020", "2020-03", "2020-03-15", "2020-03-15T10:30" (a search may stop at minutes),
// "2020-03-15T10:30:00", with fractions of a second and a zone ("Z" or "+05:30"; none means UTC).
// nullopt for anything else, including impossible dates such as 2023-02-30.
std::optional<DateRange> parse_date_range(std::string_view text);

// The search prefixes of FHIR R4 (ap, "approximately", is not offered).
enum class DateComparator { kEq, kNe, kGt, kLt, kGe, kLe, kSa, kEb };

// True when a stored range satisfies `comparator` against a searched one.
bool date_matches(DateComparator comparator, const DateRange& searched, const DateRange& stored);

// The index values of a stored range: its first day's buckets, its last day's when that differs,
// and a marker for an open bound.
std::vector<std::string> date_index_values(const DateRange& stored);

// Index values such that every stored range satisfying `comparator` carries at least one; nullopt
// when no bounded set exists (ne: every record is a candidate).
std::optional<std::vector<std::string>> date_candidate_values(DateComparator comparator,
                                                              const DateRange& searched);

}  // namespace kavach::fhir
