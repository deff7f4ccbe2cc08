// Validation of resources against the FHIR R4 StructureDefinitions.
//
// The definitions are data (data/fhir-r4/structure-definitions.json, extracted from an npm package
// of the R4 core definitions) compiled into tables at build time. A resource is checked
// element by element: every element must be defined for its type (choice elements such as
// valueQuantity included), with the cardinality the definition gives (a repeating element is an
// array, a single one is not, required ones are present), each value of its type: the primitive
// formats (id, code, uri, date, dateTime, instant, time, decimal, integer, boolean, base64Binary,
// ...), complex data types and backbone elements recursively, contained and Bundle entry resources
// as resources, and references as FHIR reference syntax. Profiles, invariants (FHIRPath
// constraints) and terminology bindings are not checked.
#pragma once

#include <string_view>

#include <boost/json/object.hpp>

#include "common/error.h"

namespace kavach::fhir {

// kUnprocessable naming the first offending element by its path, for example
// "Observation.code.coding[0].system: 'not a uri' is not a uri".
Status validate_resource(std::string_view type, const boost::json::object& resource);

}  // namespace kavach::fhir
