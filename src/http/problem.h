// The one place where an Error becomes an HTTP status and a FHIR OperationOutcome body. Handlers
// return domain errors; this maps them, so every endpoint answers failures the same way.
#pragma once

#include <string_view>

#include <boost/json/object.hpp>

#include "common/error.h"
#include "http/message.h"

namespace kavach::http {

int status_for(ErrorCode code);
// An OperationOutcome response for `error`, with the status its code maps to.
Response problem_response(const Error& error);
// An OperationOutcome response with an explicit status (for errors found by the server itself).
Response problem_response(int status, std::string_view issue_code, std::string_view message);

// A JSON answer that no cache keeps (ABDM's and the patient API's bodies).
Response json_response(int status, const boost::json::object& body);
// ABDM's error shape {"error": {"code", "message"}}, with the status the error maps to here.
Response abdm_error(const Error& error);
// The request body as a JSON object (depth-limited); kInvalidArgument for anything else.
Result<boost::json::object> body_object(const Request& request);

inline constexpr std::string_view kFhirJson = "application/fhir+json; charset=utf-8";

}  // namespace kavach::http
