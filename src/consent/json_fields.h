// Strict readers of fields in ABDM's JSON messages: each names the field in its error, so a caller
// learns exactly what to fix, and bounds the length of every string it accepts.
// Thread-safety: stateless functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "common/error.h"
#include "common/json_members.h"

namespace kavach::consent {

inline constexpr std::size_t kJsonFieldTextMax = 256;

// `value` as an object; kInvalidArgument "<where> must be an object".
Result<std::reference_wrapper<const boost::json::object>> json_object(
    const boost::json::value& value, std::string_view where);
// A present, non-empty string of at most kJsonFieldTextMax bytes.
Result<std::string> required_string(const boost::json::object& object, std::string_view name,
                                    std::string_view where);
// As required_string, but "" when absent or null.
Result<std::string> optional_string(const boost::json::object& object, std::string_view name,
                                    std::string_view where);
// An RFC 3339 date-time (or date) as milliseconds since the epoch.
Result<std::int64_t> required_instant(const boost::json::object& object, std::string_view name,
                                      std::string_view where);
// An integer in [min, max].
Result<std::int64_t> required_integer(const boost::json::object& object, std::string_view name,
                                      std::string_view where, std::int64_t min, std::int64_t max);
// The `id` of the object under `name` ({"patient": {"id": "..."}}).
Result<std::string> required_id_object(const boost::json::object& object, std::string_view name);

// Tolerant readers, for documents this node wrote itself (common/json_members.h).
using kavach::bool_member;
using kavach::integer_member;
using kavach::string_array_member;
using kavach::string_member;
// The member, or null when absent, for the strict readers above to report as missing.
const boost::json::value& member_or_null(const boost::json::object& object, std::string_view name);

}  // namespace kavach::consent
