// JSON Patch (RFC 6902) over Boost.JSON values, with JSON Pointer (RFC 6901) paths: what a FHIR
// PATCH with Content-Type application/json-patch+json applies to the current version of a
// resource. The patch is untrusted input: its size, depth and number of operations are bounded,
// and a failure leaves the document untouched (the patch applies to a copy).
// Thread-safety: a stateless function.
#pragma once

#include <string_view>

#include <boost/json/value.hpp>

#include "common/error.h"

namespace kavach::fhir {

inline constexpr std::size_t kJsonPatchOperationsMax = 1000;

// kInvalidArgument for a malformed patch (not an array of operations, an unknown op, a bad
// pointer); kUnprocessable when a well-formed patch cannot apply (a path that is not there, a
// failed test). Errors name the operation by its position.
Result<boost::json::value> apply_json_patch(const boost::json::value& document,
                                            std::string_view patch);

}  // namespace kavach::fhir
