// Errors as values. Every fallible call in Kavach returns Result<T>; the HTTP layer maps an
// ErrorCode to a status and a FHIR OperationOutcome in exactly one place (src/http/problem.cc), and
// the CLI maps it to an exit code and a one-line message. Error messages never carry secrets or
// patient data.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace kavach {

enum class ErrorCode {
  kInvalidArgument,     // the caller's input is malformed (400)
  kUnprocessable,       // well-formed but refused by a rule: validation, a failed patch test (422)
  kNotFound,            // nothing by that name (404)
  kGone,                // it existed and was deleted or erased (410)
  kAlreadyExists,       // a create collided with an existing thing (409)
  kConflict,            // a concurrent change won (409)
  kFailedPrecondition,  // a stated precondition such as If-Match did not hold (412)
  kUnauthenticated,     // no or bad credentials (401)
  kPermissionDenied,    // authenticated but not allowed (403)
  kTooLarge,            // a size limit was exceeded (413)
  kUnsupportedMedia,    // a content type we do not speak (415)
  kResourceExhausted,   // a rate or capacity limit (429)
  kUnavailable,         // a dependency is down; retrying may help (503)
  kDataLoss,            // stored data failed authentication or is corrupt
  kInternal,            // a bug or an impossible state (500)
};

std::string_view error_code_name(ErrorCode code);

struct Error {
  ErrorCode code;
  std::string message;
};

template <class T>
using Result = tl::expected<T, Error>;

using Status = Result<void>;

inline tl::unexpected<Error> make_error(ErrorCode code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message)});
}

}  // namespace kavach

#define KAVACH_CONCAT_INNER(a, b) a##b
#define KAVACH_CONCAT(a, b) KAVACH_CONCAT_INNER(a, b)

// RETURN_IF_ERROR(expr): evaluates a Result-returning expression and returns its error, if any.
#define RETURN_IF_ERROR(expr)                                             \
  do {                                                                    \
    auto&& kavach_status_ = (expr);                                       \
    if (!kavach_status_) return ::tl::unexpected(kavach_status_.error()); \
  } while (false)

// ASSIGN_OR_RETURN(lhs, expr): binds the value of a Result to lhs or returns its error. lhs may be
// a declaration ("const auto x"), so it cannot be parenthesised.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(KAVACH_CONCAT(kavach_result_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr)                \
  auto tmp = (expr);                                         \
  if (!tmp) return ::tl::unexpected(std::move(tmp).error()); \
  lhs = std::move(*tmp)
// NOLINTEND(bugprone-macro-parentheses)
