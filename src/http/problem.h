// The one place where an Error becomes an HTTP status and a FHIR OperationOutcome body. Handlers
// return domain errors; this maps them, so every endpoint answers failures the same way.
#pragma once

#include <string_view>

#include "common/error.h"
#include "http/message.h"

namespace kavach::http {

int status_for(ErrorCode code);
// An OperationOutcome response for `error`, with the status its code maps to.
Response problem_response(const Error& error);
// An OperationOutcome response with an explicit status (for errors found by the server itself).
Response problem_response(int status, std::string_view issue_code, std::string_view message);

inline constexpr std::string_view kFhirJson = "application/fhir+json; charset=utf-8";

}  // namespace kavach::http
