// The search parameters of each resource type (a subset of FHIR R4's, named as R4 names them),
// and how their values are read from a resource. The index (search_index.h), the matcher
// (search_match.h) and the CapabilityStatement all read this one table, so what is advertised,
// indexed and matched cannot drift apart.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "fhir/date_range.h"

namespace kavach::fhir {

enum class ParameterKind {
  kToken,      // codes, Codings, CodeableConcepts, Identifiers
  kPhone,      // ContactPoints of system "phone", compared by their digits
  kString,     // strings and HumanNames; matched case-insensitively from the start
  kReference,  // References, compared as "Type/id"
  kDate,       // date, dateTime, instant, Period
};

struct ParameterDefinition {
  std::string_view name;
  ParameterKind kind;
  // Where the values are: dot-separated element names, arrays flattened at every step; a name
  // ending in "[x]" is a choice element (effective[x]: effectiveDateTime, effectivePeriod, ...).
  std::string_view path;
  // References: the type a bare id refers to, and whether only references to it count ("patient"
  // reads subject but only when the subject is a Patient).
  std::string_view target = "";
  bool target_only = false;
  // Set when another parameter of the type indexes every value this one has, in the same form:
  // this one is looked up under that one's rows and has none of its own. Patient.family and given
  // are parts of name; patient is subject's references to a Patient. A search checks each
  // candidate exactly, so the wider candidate set costs only the extra records opened, and every
  // record writes fewer index rows (a Patient 20 rather than 29).
  std::string_view indexed_as = "";
};

// Whether a token parameter's values are indexed as "system|code" besides the bare code. A
// search opens and checks every candidate, so the bare code alone serves "system|code" too (a
// code that also occurs in another system only adds a candidate to discard), and each coding
// costs one index row rather than two. Identifiers keep both: the consent gate finds a patient
// by "system|value" without opening the record (consent/consent_record_gate.cc), where another
// system's equal value must not match.
inline bool indexes_token_system(const ParameterDefinition& parameter) {
  return parameter.name == "identifier";
}

// The name a parameter's values are indexed and looked up under.
inline std::string_view index_name(const ParameterDefinition& parameter) {
  return parameter.indexed_as.empty() ? parameter.name : parameter.indexed_as;
}

// _id and _lastUpdated, which every type has.
extern const ParameterDefinition kIdParameter;
extern const ParameterDefinition kLastUpdatedParameter;

// The parameters of `type`, not counting _id and _lastUpdated.
std::span<const ParameterDefinition> parameters_of(std::string_view type);
// nullptr when `type` has no parameter `name` (_id and _lastUpdated included).
const ParameterDefinition* find_parameter(std::string_view type, std::string_view name);

// A token as stored: a code with the system it belongs to ("" when none is given).
struct Token {
  std::string system;
  std::string code;
};

// The values of `parameter` in `resource`, one function per kind. Malformed elements are skipped.
std::vector<Token> tokens_of(const ParameterDefinition& parameter,
                             const boost::json::object& resource);
std::vector<std::string> strings_of(const ParameterDefinition& parameter,
                                    const boost::json::object& resource);
// Normalised "Type/id" (see normalise_reference).
std::vector<std::string> references_of(const ParameterDefinition& parameter,
                                       const boost::json::object& resource);
std::vector<DateRange> dates_of(const ParameterDefinition& parameter,
                                const boost::json::object& resource);

// "Type/id" for a reference: a relative one as it is, an absolute URL by its last two segments
// ("https://host/fhir/R4/Patient/7" -> "Patient/7", with any "_history/n" dropped), a bare id
// under `default_type`. Empty when it is none of these (a contained "#ref", a urn:uuid).
std::string normalise_reference(std::string_view reference, std::string_view default_type);

// Strings are compared lower-cased (ASCII), so "SHARMA" is found by "sharma".
std::string fold_case(std::string_view text);
// The digits of a phone number.
std::string phone_digits(std::string_view text);

}  // namespace kavach::fhir
