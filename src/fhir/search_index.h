// What a resource contributes to the search index. Each value is stored only as a blind-index tag
// (a keyed hash of type, parameter and value), so the index answers equality questions without
// holding anything readable. Search parameters and their value rules come from
// search_parameters.h; what each kind puts in the index:
//  - tokens: the bare code, which both search forms look up (identifiers also "system|code",
//    see indexes_token_system);
//  - phones: the digits, with and without the country code;
//  - strings: case-folded prefixes of 1 to kStringPrefixBytesMax bytes, so "sha" finds "Sharma";
//  - references: "Type/id";
//  - dates: calendar buckets (date_range.h);
// A record's type and meta.lastUpdated are not indexed: the records table keeps both, and a
// search by neither or by _lastUpdated reads its candidates from there (Store::find_recorded).
// The index proposes candidates; the search checks each opened record exactly, so a tag shared
// by different values (a prefix, a bucket) never shows in results. A reference's tag stands for
// one value, so a search by that alone needs no check (resource_search.cc).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

namespace kavach::fhir {

inline constexpr std::size_t kStringPrefixBytesMax = 8;

// (parameter name, value) pairs to index for one resource, sorted and without repeats.
using IndexTerms = std::vector<std::pair<std::string, std::string>>;

IndexTerms extract_index_terms(std::string_view type, const boost::json::object& resource);

// The index value a string search for `text` looks up: the case-folded prefix of the text.
std::string string_index_value(std::string_view text);

// The patient a resource belongs to: its own id for a Patient, else the id in subject or patient
// when that is a "Patient/<id>" reference; empty when it belongs to no patient.
std::string partition_of(std::string_view type, std::string_view id,
                         const boost::json::object& resource);

}  // namespace kavach::fhir
