// A FHIR R4 search as the client wrote it, parsed and checked against the type's parameters
// before anything is read. Supported (docs/search.md has the full grammar):
//  - every parameter of search_parameters.h, plus _id and _lastUpdated; a comma in a value means
//    "any of" ("code=a,b"), a repeated parameter "all of" ("date=ge2020&date=lt2021");
//  - tokens "code", "system|code", "|code" and "system|"; date prefixes eq, ne, gt, lt, ge, le, sa,
//    eb; references "Type/id", a bare id or an absolute URL;
//  - modifiers :missing (all kinds), :exact (strings), :not (tokens), :Type (references);
//  - one level of chaining: "subject:Patient.identifier=...", "patient.name=...";
//  - _count, _cursor (the next page), _sort (one date parameter, _lastUpdated or _id, "-" for
//    descending), _total (none, estimate, accurate), _summary (count, false), _elements, _include
//    and _revinclude (Type:parameter[:Target]).
// Anything else is refused with a message naming it, rather than silently ignored.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"
#include "common/query_string.h"
#include "fhir/date_range.h"
#include "fhir/search_parameters.h"

namespace kavach::fhir {

inline constexpr std::size_t kSearchPredicatesMax = 32;
inline constexpr std::size_t kSearchAlternativesMax = 100;
inline constexpr std::size_t kDefaultPageSize = 20;

enum class SearchModifier { kNone, kMissing, kExact, kNot };

// One alternative of a comma-separated value.
struct SearchValue {
  std::string text;                                 // percent-decoded, date prefix removed
  DateComparator comparator = DateComparator::kEq;  // dates only
  DateRange range;                                  // dates only
};

struct SearchPredicate {
  std::string name;  // as written, for messages
  const ParameterDefinition* parameter = nullptr;
  SearchModifier modifier = SearchModifier::kNone;
  bool missing = false;             // with :missing: true to want records without a value
  std::string target_type;          // references: the type bare ids and chains refer to
  std::vector<SearchValue> values;  // any of
  // A chained parameter ("subject:Patient.identifier"): the one parameter on target_type that the
  // referenced resources must match. The search resolves it into `values` ("Patient/<id>", ...).
  std::vector<SearchPredicate> chain;
};

struct SearchSort {
  const ParameterDefinition* parameter = nullptr;  // a date parameter, _lastUpdated or _id
  bool descending = false;
};

// _include=Observation:subject (follow the matches' references) or
// _revinclude=Observation:subject (the records whose reference points at a match).
struct SearchInclude {
  std::string source_type;
  const ParameterDefinition* parameter = nullptr;
  std::string target_type;  // "" for any
};

struct SearchQuery {
  std::string type;
  std::vector<SearchPredicate> predicates;  // all must match
  std::size_t count = kDefaultPageSize;
  std::string cursor;
  std::optional<SearchSort> sort;
  bool total = false;          // _total=accurate (or estimate)
  bool summary_count = false;  // _summary=count: the total alone
  std::vector<std::string> elements;
  std::vector<SearchInclude> includes;
  std::vector<SearchInclude> revincludes;
};

// A reference parameter on its own index rows, without a modifier or chain: the records whose
// rows carry the value are exactly its matches (patient=, looked up under subject's rows, is not).
bool is_exact_reference(const SearchPredicate& predicate);

// The largest page a search may ask for and still be answered as brief work.
inline constexpr std::size_t kBriefPageSizeMax = 100;

// True when answering `query` takes one index lookup and one page of small record reads: a
// single exact reference with one value ("a patient's Observations"), no _include, _revinclude,
// _sort, _total or _summary=count, a page of at most kBriefPageSizeMax, of a type whose records
// are small (has_small_records: a page of DocumentReferences or Binaries may be many megabytes
// to decrypt). Such a search may run on the connection's I/O thread (http::Work::kBrief); any
// other may scan or take long, and goes to a worker.
bool is_one_page_search(const SearchQuery& query);

// kInvalidArgument naming the first parameter that is unknown or malformed. `parameters` are
// percent-decoded (name, value) pairs; _format is left to the caller.
Result<SearchQuery> parse_search_query(std::string_view type, const QueryParameters& parameters);

}  // namespace kavach::fhir
