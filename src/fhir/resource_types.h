// The FHIR R4 resource types this node stores, and the syntax rules for their ids.
#pragma once

#include <span>
#include <string_view>

namespace kavach::fhir {

bool is_supported_type(std::string_view type);
// Every type this server stores, in alphabetical order.
std::span<const std::string_view> supported_types();
// FHIR id: 1 to 64 of [A-Za-z0-9-.].
bool is_valid_id(std::string_view id);

}  // namespace kavach::fhir
