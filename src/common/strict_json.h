// JSON from outside, parsed strictly: bounded depth, valid UTF-8, finite numbers, and no object
// with the same key twice. Boost.JSON keeps the last of duplicate keys without a word, so
// {"status":"final","status":"entered-in-error"} would mean whatever the last writer of the
// parser chose; FHIR and RFC 8259's interoperable subset rule duplicates out, and so does Kavach.
#pragma once

#include <string_view>

#include <boost/json/value.hpp>

#include "common/error.h"

namespace kavach {

// kInvalidArgument saying what is wrong (`what` names the input: "the body", "the patch").
Result<boost::json::value> parse_strict_json(std::string_view text, std::string_view what);

}  // namespace kavach
