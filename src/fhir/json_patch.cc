#include "fhir/json_patch.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <charconv>

#include "common/limits.h"
#include "common/strict_json.h"

namespace kavach::fhir {
namespace {

namespace json = boost::json;

// A JSON Pointer split into unescaped reference tokens.
Result<std::vector<std::string>> parse_pointer(std::string_view pointer, std::size_t operation) {
  std::vector<std::string> tokens;
  if (pointer.empty()) return tokens;
  if (pointer.front() != '/') {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("patch operation {}: a path starts with '/'", operation));
  }
  pointer.remove_prefix(1);
  for (;;) {
    const auto slash = pointer.find('/');
    const auto raw = pointer.substr(0, slash);
    std::string token;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '~') {
        token.push_back(raw[i]);
        continue;
      }
      if (i + 1 == raw.size() || (raw[i + 1] != '0' && raw[i + 1] != '1')) {
        return make_error(
            ErrorCode::kInvalidArgument,
            fmt::format("patch operation {}: '~' must be followed by 0 or 1", operation));
      }
      token.push_back(raw[++i] == '0' ? '~' : '/');
    }
    tokens.push_back(std::move(token));
    if (slash == std::string_view::npos) return tokens;
    pointer.remove_prefix(slash + 1);
  }
}

// An array index token: digits without leading zeros; "-" (one past the end) when allowed.
std::optional<std::size_t> array_index(const std::string& token, std::size_t size, bool for_add) {
  if (for_add && token == "-") return size;
  if (token.empty() || (token.size() > 1 && token[0] == '0')) return std::nullopt;
  std::size_t index = 0;
  const auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), index);
  if (error != std::errc() || end != token.data() + token.size()) return std::nullopt;
  if (index > size || (!for_add && index == size)) return std::nullopt;
  return index;
}

class Patcher {
 public:
  Patcher(json::value& document, std::size_t operation)
      : document_(document), operation_(operation) {}

  Result<json::value*> locate(const std::vector<std::string>& tokens) {
    json::value* at = &document_;
    for (const auto& token : tokens) {
      if (auto* object = at->if_object()) {
        auto found = object->find(token);
        if (found == object->end()) return missing(tokens);
        at = &found->value();
      } else if (auto* array = at->if_array()) {
        const auto index = array_index(token, array->size(), false);
        if (!index) return missing(tokens);
        at = &(*array)[*index];
      } else {
        return missing(tokens);
      }
    }
    return at;
  }

  Status add(const std::vector<std::string>& tokens, json::value value) {
    if (tokens.empty()) {
      document_ = std::move(value);
      return {};
    }
    ASSIGN_OR_RETURN(json::value * parent, locate({tokens.begin(), tokens.end() - 1}));
    const auto& last = tokens.back();
    if (auto* object = parent->if_object()) {
      (*object)[last] = std::move(value);
      return {};
    }
    if (auto* array = parent->if_array()) {
      const auto index = array_index(last, array->size(), true);
      if (!index) return missing(tokens);
      array->insert(array->begin() + static_cast<std::ptrdiff_t>(*index), std::move(value));
      return {};
    }
    return missing(tokens);
  }

  Result<json::value> remove(const std::vector<std::string>& tokens) {
    if (tokens.empty()) {
      return make_error(
          ErrorCode::kUnprocessable,
          fmt::format("patch operation {}: the whole resource cannot be removed", operation_));
    }
    ASSIGN_OR_RETURN(json::value * parent, locate({tokens.begin(), tokens.end() - 1}));
    const auto& last = tokens.back();
    if (auto* object = parent->if_object()) {
      auto found = object->find(last);
      if (found == object->end()) return missing(tokens);
      json::value removed = std::move(found->value());
      object->erase(found);
      return removed;
    }
    if (auto* array = parent->if_array()) {
      const auto index = array_index(last, array->size(), false);
      if (!index) return missing(tokens);
      json::value removed = std::move((*array)[*index]);
      array->erase(array->begin() + static_cast<std::ptrdiff_t>(*index));
      return removed;
    }
    return missing(tokens);
  }

 private:
  tl::unexpected<Error> missing(const std::vector<std::string>& tokens) const {
    std::string path;
    for (const auto& token : tokens) path += "/" + token;
    return make_error(ErrorCode::kUnprocessable,
                      fmt::format("patch operation {}: nothing at {}", operation_, path));
  }

  json::value& document_;
  std::size_t operation_;
};

Result<std::string_view> string_member(const json::object& operation, std::string_view name,
                                       std::size_t index) {
  const auto* member = operation.if_contains(name);
  if (member == nullptr || !member->is_string()) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("patch operation {} needs a string \"{}\"", index, name));
  }
  return std::string_view(member->get_string());
}

Status apply_operation(json::value& document, const json::object& operation, std::size_t index) {
  ASSIGN_OR_RETURN(const auto op, string_member(operation, "op", index));
  ASSIGN_OR_RETURN(const auto path_text, string_member(operation, "path", index));
  ASSIGN_OR_RETURN(const auto path, parse_pointer(path_text, index));
  Patcher patcher(document, index);
  const auto* value = operation.if_contains("value");
  auto need_value = [&]() -> Status {
    if (value == nullptr) {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("patch operation {} ({}) needs a \"value\"", index, op));
    }
    return {};
  };
  if (op == "add") {
    RETURN_IF_ERROR(need_value());
    return patcher.add(path, *value);
  }
  if (op == "remove") return patcher.remove(path).map([](auto&&) {});
  if (op == "replace") {
    RETURN_IF_ERROR(need_value());
    ASSIGN_OR_RETURN(json::value * target, patcher.locate(path));
    *target = *value;
    return {};
  }
  if (op == "test") {
    RETURN_IF_ERROR(need_value());
    ASSIGN_OR_RETURN(json::value * target, patcher.locate(path));
    if (*target != *value) {
      return make_error(ErrorCode::kUnprocessable,
                        fmt::format("patch operation {}: the test of {} failed", index, path_text));
    }
    return {};
  }
  if (op == "move" || op == "copy") {
    ASSIGN_OR_RETURN(const auto from_text, string_member(operation, "from", index));
    ASSIGN_OR_RETURN(const auto from, parse_pointer(from_text, index));
    if (op == "move") {
      if (path_text.starts_with(from_text) &&
          (path_text.size() == from_text.size() || path_text[from_text.size()] == '/')) {
        if (path_text.size() == from_text.size()) return {};
        return make_error(
            ErrorCode::kInvalidArgument,
            fmt::format("patch operation {}: cannot move a value into itself", index));
      }
      ASSIGN_OR_RETURN(auto moved, patcher.remove(from));
      return patcher.add(path, std::move(moved));
    }
    ASSIGN_OR_RETURN(const json::value* source, patcher.locate(from));
    json::value copied = *source;
    return patcher.add(path, std::move(copied));
  }
  return make_error(ErrorCode::kInvalidArgument,
                    fmt::format("patch operation {}: unknown op \"{}\"", index, op));
}

}  // namespace

Result<json::value> apply_json_patch(const json::value& document, std::string_view patch) {
  ASSIGN_OR_RETURN(const json::value parsed, parse_strict_json(patch, "the patch"));
  const auto* operations = parsed.if_array();
  if (operations == nullptr) {
    return make_error(ErrorCode::kInvalidArgument, "a JSON Patch is an array of operations");
  }
  if (operations->size() > kJsonPatchOperationsMax) {
    return make_error(ErrorCode::kTooLarge, "too many patch operations");
  }
  json::value result = document;
  for (std::size_t i = 0; i < operations->size(); ++i) {
    const auto* operation = (*operations)[i].if_object();
    if (operation == nullptr) {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("patch operation {} is not an object", i));
    }
    RETURN_IF_ERROR(apply_operation(result, *operation, i));
  }
  return result;
}

}  // namespace kavach::fhir
