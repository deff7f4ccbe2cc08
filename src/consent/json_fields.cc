#include "consent/json_fields.h"

#include <fmt/format.h>

#include "common/time_format.h"

namespace kavach::consent {
namespace {

Error field_error(std::string_view where, std::string_view name, std::string_view problem) {
  return Error{ErrorCode::kInvalidArgument, where.empty()
                                                ? fmt::format("{} {}", name, problem)
                                                : fmt::format("{}.{} {}", where, name, problem)};
}

}  // namespace

Result<std::reference_wrapper<const boost::json::object>> json_object(
    const boost::json::value& value, std::string_view where) {
  const auto* object = value.if_object();
  if (object == nullptr) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("{} must be an object", where));
  }
  return std::cref(*object);
}

Result<std::string> optional_string(const boost::json::object& object, std::string_view name,
                                    std::string_view where) {
  const auto* value = object.if_contains(name);
  if (value == nullptr || value->is_null()) return std::string();
  const auto* text = value->if_string();
  if (text == nullptr) return tl::unexpected(field_error(where, name, "must be a string"));
  if (text->size() > kJsonFieldTextMax) {
    return tl::unexpected(field_error(where, name, "is longer than 256 bytes"));
  }
  return std::string(*text);
}

Result<std::string> required_string(const boost::json::object& object, std::string_view name,
                                    std::string_view where) {
  ASSIGN_OR_RETURN(std::string text, optional_string(object, name, where));
  if (text.empty()) return tl::unexpected(field_error(where, name, "is required"));
  return text;
}

Result<std::int64_t> required_instant(const boost::json::object& object, std::string_view name,
                                      std::string_view where) {
  ASSIGN_OR_RETURN(const std::string text, required_string(object, name, where));
  const auto instant = parse_instant_ms(text);
  if (!instant) {
    return tl::unexpected(
        field_error(where, name, "must be a date-time such as 2026-01-31T10:00:00.000Z"));
  }
  return *instant;
}

Result<std::int64_t> required_integer(const boost::json::object& object, std::string_view name,
                                      std::string_view where, std::int64_t min, std::int64_t max) {
  const auto* value = object.if_contains(name);
  if (value == nullptr) return tl::unexpected(field_error(where, name, "is required"));
  std::int64_t number = 0;
  if (const auto* signed_number = value->if_int64()) {
    number = *signed_number;
  } else if (const auto* unsigned_number = value->if_uint64();
             unsigned_number != nullptr && *unsigned_number <= static_cast<std::uint64_t>(max)) {
    number = static_cast<std::int64_t>(*unsigned_number);
  } else {
    return tl::unexpected(field_error(where, name, "must be an integer"));
  }
  if (number < min || number > max) {
    return tl::unexpected(field_error(where, name, fmt::format("must be from {} to {}", min, max)));
  }
  return number;
}

Result<std::string> required_id_object(const boost::json::object& object, std::string_view name) {
  const auto* value = object.if_contains(name);
  if (value == nullptr) return tl::unexpected(field_error("", name, "is required"));
  ASSIGN_OR_RETURN(const boost::json::object& inner, json_object(*value, name));
  return required_string(inner, "id", name);
}

const boost::json::value& member_or_null(const boost::json::object& object, std::string_view name) {
  static const boost::json::value kNull;
  const auto* value = object.if_contains(name);
  return value == nullptr ? kNull : *value;
}

}  // namespace kavach::consent
