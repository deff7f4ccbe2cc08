#include "http/problem.h"

#include <boost/json.hpp>

#include "common/limits.h"
#include "common/log.h"

namespace kavach::http {
namespace {

// FHIR IssueType codes (http://hl7.org/fhir/valueset-issue-type.html).
std::string_view issue_code_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid";
    case ErrorCode::kUnprocessable:
      return "processing";
    case ErrorCode::kNotFound:
      return "not-found";
    case ErrorCode::kGone:
      return "deleted";
    case ErrorCode::kAlreadyExists:
      return "duplicate";
    case ErrorCode::kConflict:
      return "conflict";
    case ErrorCode::kFailedPrecondition:
      return "conflict";
    case ErrorCode::kUnauthenticated:
      return "login";
    case ErrorCode::kPermissionDenied:
      return "forbidden";
    case ErrorCode::kTooLarge:
      return "too-costly";
    case ErrorCode::kUnsupportedMedia:
      return "not-supported";
    case ErrorCode::kResourceExhausted:
      return "throttled";
    case ErrorCode::kUnavailable:
      return "transient";
    case ErrorCode::kDataLoss:
      return "exception";
    case ErrorCode::kInternal:
      return "exception";
  }
  return "exception";
}

}  // namespace

int status_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kUnprocessable:
      return 422;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kGone:
      return 410;
    case ErrorCode::kAlreadyExists:
      return 409;
    case ErrorCode::kConflict:
      return 409;
    case ErrorCode::kFailedPrecondition:
      return 412;
    case ErrorCode::kUnauthenticated:
      return 401;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kTooLarge:
      return 413;
    case ErrorCode::kUnsupportedMedia:
      return 415;
    case ErrorCode::kResourceExhausted:
      return 429;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kDataLoss:
      return 500;
    case ErrorCode::kInternal:
      return 500;
  }
  return 500;
}

Response problem_response(int status, std::string_view issue_code, std::string_view message) {
  const boost::json::object outcome{
      {"resourceType", "OperationOutcome"},
      {"issue", boost::json::array{boost::json::object{
                    {"severity", "error"}, {"code", issue_code}, {"diagnostics", message}}}}};
  Response response;
  response.status = status;
  response.body = boost::json::serialize(outcome);
  response.set_header("Content-Type", std::string(kFhirJson));
  if (status == 401) response.set_header("WWW-Authenticate", "Bearer realm=\"kavach\"");
  return response;
}

Response problem_response(const Error& error) {
  const int status = status_for(error.code);
  if (status >= 500) {
    // Error messages name ids and codes, never patient data, so the detail is safe to log.
    log::error("request_failed",
               {{"code", std::string(error_code_name(error.code))}, {"detail", error.message}});
  }
  // Internal failures keep their detail in the log; the client learns only that it failed.
  const std::string_view message = status >= 500 && error.code != ErrorCode::kUnavailable
                                       ? "the server could not complete the request"
                                       : std::string_view(error.message);
  return problem_response(status, issue_code_for(error.code), message);
}

Response json_response(int status, const boost::json::object& body) {
  Response response;
  response.status = status;
  response.body = boost::json::serialize(body);
  response.set_header("Content-Type", "application/json");
  response.set_header("Cache-Control", "no-store");
  return response;
}

Response abdm_error(const Error& error) {
  const int status = status_for(error.code);
  const Response problem = problem_response(error);  // logs server-side failures once
  const boost::json::value outcome = boost::json::parse(problem.body);
  const auto& diagnostics = outcome.at("issue").at(0).at("diagnostics");
  return json_response(
      status, {{"error", {{"code", error_code_name(error.code)}, {"message", diagnostics}}}});
}

Result<boost::json::object> body_object(const Request& request) {
  boost::json::parse_options options;
  options.max_depth = limits::kJsonDepthMax;
  boost::system::error_code error;
  auto value = boost::json::parse(request.body, error, {}, options);
  if (error || !value.is_object()) {
    return make_error(ErrorCode::kInvalidArgument, "the body must be a JSON object");
  }
  return std::move(value.as_object());
}

}  // namespace kavach::http
