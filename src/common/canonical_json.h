// The JSON Canonicalization Scheme (RFC 8785): one byte string for one JSON value, so a signature
// over it survives re-serialisation by any other JSON library. Object members are sorted by the
// UTF-16 code units of their names, strings are escaped as ECMAScript's JSON.stringify does, and
// numbers are written as ECMAScript's Number.prototype.toString writes an IEEE 754 double.
// Consent artefacts are signed over this form (see consent/consent_artefact.h).
// Thread-safety: stateless functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "common/error.h"

namespace kavach {

// kInvalidArgument for a value JSON cannot carry (a NaN or infinite double).
Result<std::string> canonical_json(const boost::json::value& value);

// Appends `text` (UTF-8) escaped for inside a JSON string, as RFC 8785 and JSON.stringify do:
// \" \\ \b \f \n \r \t, other control characters as \u00xx, everything else as it is.
void append_escaped_json(std::string& out, std::string_view text);

// A double as ECMAScript writes it: "0", "4.5", "1e+21", "1e-7"; nullopt for NaN and infinities.
std::optional<std::string> ecmascript_number(double value);

}  // namespace kavach
