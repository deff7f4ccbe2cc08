// Which values of a resource are searchable, under which parameter names, and how values are
// normalised before they are blind-indexed. The same normalisation applies to a stored value and to
// a searched one, so equality search works on the keyed hashes alone.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

namespace kavach::fhir {

// (parameter name, normalised value) pairs to index for one resource.
using IndexTerms = std::vector<std::pair<std::string, std::string>>;

IndexTerms extract_index_terms(std::string_view type, const boost::json::object& resource);

// Normalises a searched value for `parameter` the way extract_index_terms normalised stored ones.
std::string normalise_search_value(std::string_view parameter, std::string_view value);

// True when `parameter` is indexed for `type`.
bool is_indexed_parameter(std::string_view type, std::string_view parameter);

// The patient a resource belongs to: its own id for a Patient, else the id in subject or patient
// when that is a "Patient/<id>" reference; empty when it belongs to no patient.
std::string partition_of(std::string_view type, std::string_view id,
                         const boost::json::object& resource);

}  // namespace kavach::fhir
