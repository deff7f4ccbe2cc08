#include "auth/scopes.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/limits.h"

namespace kavach::auth {
namespace {

bool is_scope_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' ||
         c == '.' || c == '*' || c == '-' || c == '_' || c == ':';
}

bool is_resource_name(std::string_view name) {
  if (name == "*") return true;
  if (name.empty() || name.front() < 'A' || name.front() > 'Z') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  });
}

// "rs", "cruds", or the v1 words "read", "write", "*". Returns 0 when malformed.
std::uint8_t parse_interactions(std::string_view text) {
  using enum Interaction;
  auto bit = [](Interaction i) { return static_cast<std::uint8_t>(i); };
  if (text == "read") return bit(kRead) | bit(kSearch);
  if (text == "write") return bit(kCreate) | bit(kUpdate) | bit(kDelete);
  if (text == "*") return bit(kCreate) | bit(kRead) | bit(kUpdate) | bit(kDelete) | bit(kSearch);
  // SMART v2 requires the letters in the order c, r, u, d, s.
  constexpr std::string_view kOrder = "cruds";
  constexpr Interaction kBits[] = {kCreate, kRead, kUpdate, kDelete, kSearch};
  std::uint8_t result = 0;
  std::size_t position = 0;
  for (char c : text) {
    const auto found = kOrder.find(c, position);
    if (found == std::string_view::npos) return 0;
    result |= bit(kBits[found]);
    position = found + 1;
  }
  return result;
}

}  // namespace

Result<ScopeSet> ScopeSet::parse(std::string_view text) {
  ScopeSet set;
  std::size_t count = 0;
  while (!text.empty()) {
    const auto space = text.find(' ');
    const std::string_view scope = text.substr(0, space);
    text = space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
    if (scope.empty()) continue;
    if (++count > limits::kScopesMax)
      return make_error(ErrorCode::kInvalidArgument, "too many scopes");
    if (scope.size() > limits::kScopeBytesMax ||
        !std::all_of(scope.begin(), scope.end(), is_scope_char)) {
      return make_error(ErrorCode::kInvalidArgument,
                        "a scope has characters outside [A-Za-z0-9/.*:_-]");
    }
    if (!set.text_.empty()) set.text_ += ' ';
    set.text_ += scope;
    const auto slash = scope.find('/');
    const auto dot = scope.find('.', slash == std::string_view::npos ? 0 : slash);
    const std::string_view context = scope.substr(0, slash);
    if (slash != std::string_view::npos && dot != std::string_view::npos &&
        (context == "system" || context == "user" || context == "patient")) {
      const auto resource = scope.substr(slash + 1, dot - slash - 1);
      const auto interactions = parse_interactions(scope.substr(dot + 1));
      if (!is_resource_name(resource) || interactions == 0) {
        return make_error(ErrorCode::kInvalidArgument,
                          fmt::format("malformed SMART scope '{}'", scope));
      }
      set.resource_scopes_.push_back(
          ResourceScope{std::string(context), std::string(resource), interactions});
    } else {
      set.opaque_scopes_.emplace_back(scope);
    }
  }
  return set;
}

bool ScopeSet::allows(std::string_view resource_type, Interaction interaction) const {
  const auto bit = static_cast<std::uint8_t>(interaction);
  return std::any_of(resource_scopes_.begin(), resource_scopes_.end(), [&](const auto& scope) {
    return (scope.interactions & bit) != 0 &&
           (scope.resource == "*" || scope.resource == resource_type);
  });
}

bool ScopeSet::has(std::string_view opaque_scope) const {
  return std::find(opaque_scopes_.begin(), opaque_scopes_.end(), opaque_scope) !=
         opaque_scopes_.end();
}

std::string_view ScopeSet::opaque_value(std::string_view prefix) const {
  for (const auto& scope : opaque_scopes_) {
    if (scope.size() > prefix.size() && scope.starts_with(prefix)) {
      return std::string_view(scope).substr(prefix.size());
    }
  }
  return {};
}

}  // namespace kavach::auth
