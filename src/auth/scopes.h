// SMART on FHIR scopes (v2, with the v1 spellings accepted) granted to machine clients and checked
// on every API call. "system/Patient.rs" lets a client read and search Patient; "system/*.cruds"
// allows every interaction on every type. Other well-formed scopes (such as "kavach/admin") are
// kept as opaque grants for non-FHIR APIs. Thread-safety: immutable value type.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace kavach::auth {

enum class Interaction : std::uint8_t {
  kCreate = 1 << 0,
  kRead = 1 << 1,
  kUpdate = 1 << 2,
  kDelete = 1 << 3,
  kSearch = 1 << 4,
};

struct ResourceScope {
  std::string context;   // "system", "user" or "patient"
  std::string resource;  // a resource type or "*"
  std::uint8_t interactions = 0;
};

class ScopeSet {
 public:
  // Parses a space-separated scope string; refuses malformed or too many scopes.
  static Result<ScopeSet> parse(std::string_view text);

  bool allows(std::string_view resource_type, Interaction interaction) const;
  bool has(std::string_view opaque_scope) const;
  // The rest of the first opaque scope that starts with `prefix` ("facility:" in
  // "facility:aiims-delhi"), or "" when there is none.
  std::string_view opaque_value(std::string_view prefix) const;
  // The canonical space-separated form, as granted.
  const std::string& text() const { return text_; }
  bool empty() const { return resource_scopes_.empty() && opaque_scopes_.empty(); }

 private:
  std::string text_;
  std::vector<ResourceScope> resource_scopes_;
  std::vector<std::string> opaque_scopes_;
};

}  // namespace kavach::auth
