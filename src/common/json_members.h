// Tolerant readers of a JSON object's members, for documents a node wrote itself (stored
// documents, its own status files): a missing or mistyped member reads as "", 0, false or an
// empty list, never an error or an exception. Outside input is read with the strict readers of
// the domain instead (consent/json_fields.h), which name the field at fault.
// Thread-safety: stateless functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

namespace kavach {

std::string string_member(const boost::json::object& object, std::string_view name);
// An integral number (0 for a fraction or one out of range).
std::int64_t integer_member(const boost::json::object& object, std::string_view name);
bool bool_member(const boost::json::object& object, std::string_view name);
// The strings of an array member (others skipped).
std::vector<std::string> string_array_member(const boost::json::object& object,
                                             std::string_view name);

}  // namespace kavach
