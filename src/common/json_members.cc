#include "common/json_members.h"

#include <boost/json/value.hpp>

namespace kavach {

std::string string_member(const boost::json::object& object, std::string_view name) {
  const auto* value = object.if_contains(name);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
}

std::int64_t integer_member(const boost::json::object& object, std::string_view name) {
  const auto* value = object.if_contains(name);
  if (value == nullptr || !value->is_number()) return 0;
  boost::system::error_code error;
  const auto number = value->to_number<std::int64_t>(error);
  return error ? 0 : number;
}

bool bool_member(const boost::json::object& object, std::string_view name) {
  const auto* value = object.if_contains(name);
  return value != nullptr && value->is_bool() && value->as_bool();
}

std::vector<std::string> string_array_member(const boost::json::object& object,
                                             std::string_view name) {
  std::vector<std::string> values;
  const auto* array = object.if_contains(name);
  if (array == nullptr || !array->is_array()) return values;
  for (const auto& value : array->as_array()) {
    if (value.is_string()) values.emplace_back(value.as_string());
  }
  return values;
}

}  // namespace kavach
