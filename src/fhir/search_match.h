// Whether one opened resource satisfies a search predicate, exactly as FHIR R4 defines it. The
// index only proposes candidates (search_index.h); this is the check every returned record passes,
// but for those an exact index has decided already (resource_search.cc, CandidateSource::exact).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "fhir/search_query.h"
#include "store/store.h"

namespace kavach::fhir {

// A chained predicate must have been resolved into reference values first (its `chain` cleared);
// an unresolved one matches nothing.
bool matches(const SearchPredicate& predicate, const boost::json::object& resource);

// The index values that every resource matching `predicate` carries under the predicate's
// parameter name (at least one of them); nullopt when there is no such bounded set (:missing,
// :not, ne, "system|") or the parameter is not indexed (_id, _lastUpdated) and candidates must
// come from elsewhere.
std::optional<std::vector<std::string>> candidate_index_values(const SearchPredicate& predicate);

// The span of times within which every record matching `predicate`, a _lastUpdated predicate, was
// last written; nullopt when there is no such span (:missing, :not, ne).
std::optional<store::RecordedRange> recorded_range(const SearchPredicate& predicate);

// The value a resource sorts by under `sort`: the earliest start ascending, the latest end
// descending; nullopt when it has none (it sorts last either way).
std::optional<std::int64_t> sort_key(const SearchSort& sort, const boost::json::object& resource);

}  // namespace kavach::fhir
