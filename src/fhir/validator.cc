#include "fhir/validator.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "fhir/date_range.h"
#include "fhir/resource_types.h"

namespace kavach::fhir {
namespace {

namespace json = boost::json;

inline constexpr std::uint32_t kMany = std::numeric_limits<std::uint32_t>::max();

struct ElementDefinition {
  std::string_view path;  // "Observation.referenceRange.low"
  std::uint32_t min;
  std::uint32_t max;                   // kMany for "*"
  std::string_view types;              // type codes joined by '|'
  std::string_view content_reference;  // the element whose definition this one reuses
};

struct TypeDefinition {
  std::string_view name;
  bool resource;
};

using std::literals::string_view_literals::operator""sv;
#include "fhir/r4_definitions.inc"

// FHIR: "strings SHALL NOT exceed 1 MB in size" (binary data excepted).
constexpr std::size_t kStringBytesMax = std::size_t{1} << 20;
// The JSON name of the type an element of a FHIRPath system type carries.
constexpr std::string_view kSystemString = "http://hl7.org/fhirpath/System.String";

const ElementDefinition* find_element(std::string_view path) {
  const auto* end = std::end(kElementDefinitions);
  const auto* found =
      std::lower_bound(std::begin(kElementDefinitions), end, path,
                       [](const ElementDefinition& element, std::string_view wanted) {
                         return element.path < wanted;
                       });
  return found != end && found->path == path ? found : nullptr;
}

const TypeDefinition* find_type(std::string_view name) {
  const auto* end = std::end(kTypeDefinitions);
  const auto* found = std::lower_bound(
      std::begin(kTypeDefinitions), end, name,
      [](const TypeDefinition& type, std::string_view wanted) { return type.name < wanted; });
  return found != end && found->name == name ? found : nullptr;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Reads `count` digits at `pos`.
bool digits(std::string_view text, std::size_t& pos, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i, ++pos) {
    if (pos >= text.size() || !is_digit(text[pos])) return false;
  }
  return true;
}

bool take(std::string_view text, std::size_t& pos, char c) {
  if (pos < text.size() && text[pos] == c) {
    ++pos;
    return true;
  }
  return false;
}

// hh:mm:ss(.fraction)? from `pos`.
bool time_of_day(std::string_view text, std::size_t& pos) {
  if (!digits(text, pos, 2) || !take(text, pos, ':') || !digits(text, pos, 2) ||
      !take(text, pos, ':') || !digits(text, pos, 2)) {
    return false;
  }
  if (take(text, pos, '.')) {
    const auto start = pos;
    while (pos < text.size() && is_digit(text[pos])) ++pos;
    if (pos == start) return false;
  }
  return true;
}

bool zone(std::string_view text, std::size_t& pos) {
  if (take(text, pos, 'Z')) return true;
  if (!take(text, pos, '+') && !take(text, pos, '-')) return false;
  return digits(text, pos, 2) && take(text, pos, ':') && digits(text, pos, 2);
}

// The shapes FHIR R4 allows, checked for real dates and times by parse_date_range.
bool is_date(std::string_view text, bool allow_time, bool require_time) {
  std::size_t pos = 0;
  if (!digits(text, pos, 4)) return false;
  if (pos < text.size() && !require_time) {
    if (!take(text, pos, '-') || !digits(text, pos, 2)) return false;
    if (pos < text.size() && (!take(text, pos, '-') || !digits(text, pos, 2))) return false;
  } else if (require_time) {
    if (!take(text, pos, '-') || !digits(text, pos, 2) || !take(text, pos, '-') ||
        !digits(text, pos, 2)) {
      return false;
    }
  }
  if (pos < text.size()) {
    if (!allow_time || pos != 10 || !take(text, pos, 'T') || !time_of_day(text, pos) ||
        !zone(text, pos)) {
      return false;
    }
  } else if (require_time) {
    return false;
  }
  return pos == text.size() && parse_date_range(text).has_value();
}

bool is_time(std::string_view text) {
  std::size_t pos = 0;
  if (!time_of_day(text, pos) || pos != text.size()) return false;
  return (text[0] - '0') * 10 + (text[1] - '0') < 24 && (text[3] - '0') < 6 && (text[6] - '0') < 6;
}

bool is_code(std::string_view text) {
  // [^\s]+( [^\s]+)*: no leading, trailing or doubled whitespace.
  if (text.empty() || is_space(text.front()) || is_space(text.back())) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (is_space(text[i]) && (text[i] != ' ' || is_space(text[i + 1]))) return false;
  }
  return true;
}

bool is_id(std::string_view text) { return is_valid_id(text); }

bool is_uri(std::string_view text) {
  return !text.empty() && std::none_of(text.begin(), text.end(), is_space);
}

bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }

bool is_uuid(std::string_view text) {
  if (!text.starts_with("urn:uuid:") || text.size() != 45) return false;
  for (std::size_t i = 9; i < text.size(); ++i) {
    const bool dash = i == 17 || i == 22 || i == 27 || i == 32;
    if (dash ? text[i] != '-' : !is_hex(text[i])) return false;
  }
  return true;
}

bool is_oid(std::string_view text) {
  if (!text.starts_with("urn:oid:")) return false;
  text.remove_prefix(8);
  if (text.size() < 3 || text[0] < '0' || text[0] > '2' || text[1] != '.') return false;
  return std::all_of(text.begin(), text.end(), [](char c) { return is_digit(c) || c == '.'; }) &&
         !text.ends_with('.') && text.find("..") == std::string_view::npos;
}

bool is_base64(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '+' ||
           c == '/' || c == '=' || is_space(c);
  });
}

// Relative "Type/id" (optionally "/_history/v"), a local "#id", a urn:uuid or urn:oid, or an
// absolute URL.
bool is_reference(std::string_view text) {
  if (text.starts_with('#')) return text.size() > 1 && is_uri(text);
  if (text.starts_with("urn:uuid:")) return is_uuid(text);
  if (text.starts_with("urn:oid:")) return is_oid(text);
  if (text.starts_with("http://") || text.starts_with("https://")) return is_uri(text);
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return false;
  const auto type = text.substr(0, slash);
  auto rest = text.substr(slash + 1);
  const auto history = rest.find("/_history/");
  if (history != std::string_view::npos) {
    if (!is_id(rest.substr(history + 10))) return false;
    rest = rest.substr(0, history);
  }
  const auto* known = find_type(type);
  return known != nullptr && known->resource && is_id(rest);
}

std::string capitalised(std::string_view type) {
  std::string out(type);
  if (!out.empty() && out[0] >= 'a' && out[0] <= 'z') out[0] = static_cast<char>(out[0] - 32);
  return out;
}

// Where in the resource a value is ("Observation.code.coding[0].system"), as a chain of the
// steps taken to it; written out only when a problem is reported, so a resource that conforms
// costs no string per element.
class Where {
 public:
  static Where root(std::string_view type) { return Where(nullptr, type, 0); }
  Where member(std::string_view key) const { return Where(this, key, 0); }
  Where item(std::size_t index) const { return Where(this, {}, index + 1); }

  std::string text() const {
    std::string out = parent_ == nullptr ? std::string() : parent_->text();
    if (item_ != 0) return fmt::format("{}[{}]", out, item_ - 1);
    if (parent_ != nullptr) out += '.';
    return out.append(key_);
  }

 private:
  Where(const Where* parent, std::string_view key, std::size_t item)
      : parent_(parent), key_(key), item_(item) {}
  const Where* parent_;
  std::string_view key_;
  std::size_t item_;  // 0 for a member, else the array index + 1
};

class Validator {
 public:
  Status resource(std::string_view type, const json::object& object, const Where& where) {
    const auto* known = find_type(type);
    if (known == nullptr || !known->resource) {
      return fail(where, fmt::format("'{}' is not a resource type this server knows", type));
    }
    return members(type, object, where, true);
  }

 private:
  static tl::unexpected<Error> fail(const Where& where, std::string_view problem) {
    return tl::unexpected(
        Error{ErrorCode::kUnprocessable, fmt::format("{}: {}", where.text(), problem)});
  }

  // The definition of `key` under `base`, and the type its value has: a plain element, or a
  // choice element (valueQuantity under value[x]).
  struct Found {
    const ElementDefinition* element = nullptr;
    std::string type;  // for a choice: the one chosen
  };

  static Found lookup(std::string_view base, std::string_view key) {
    std::string path;
    path.reserve(base.size() + key.size() + 4);
    path.append(base).append(1, '.').append(key);
    if (const auto* element = find_element(path))
      return Found{element, std::string(element->types)};
    for (std::size_t split = 1; split < key.size(); ++split) {
      if (key[split] < 'A' || key[split] > 'Z') continue;
      path.resize(base.size() + 1);
      path.append(key.substr(0, split)).append("[x]");
      const auto* element = find_element(path);
      if (element == nullptr) continue;
      const auto suffix = key.substr(split);
      for (std::size_t start = 0; start <= element->types.size();) {
        const auto bar = element->types.find('|', start);
        const auto type =
            element->types.substr(start, bar == std::string_view::npos ? bar : bar - start);
        if (capitalised(type) == suffix) return Found{element, std::string(type)};
        if (bar == std::string_view::npos) break;
        start = bar + 1;
      }
    }
    return {};
  }

  Status members(std::string_view base, const json::object& object, const Where& where,
                 bool is_resource) {
    for (const auto& member : object) {
      const std::string_view key = member.key();
      if (is_resource && key == "resourceType") continue;
      const auto here = where.member(key);
      if (key.starts_with('_')) {
        // A primitive's id and extensions, beside its value.
        const auto found = lookup(base, key.substr(1));
        if (found.element == nullptr) return fail(here, "not an element of " + std::string(base));
        if (!member.value().is_object() && !member.value().is_array()) {
          return fail(here, "a primitive's extensions are an object");
        }
        continue;
      }
      const auto found = lookup(base, key);
      if (found.element == nullptr) {
        return fail(here, fmt::format("not an element of {}", base));
      }
      RETURN_IF_ERROR(
          cardinality_and_values(*found.element, found.type, member.value(), object, key, here));
    }
    return required(base, object, where);
  }

  Status cardinality_and_values(const ElementDefinition& element, const std::string& type,
                                const json::value& value, const json::object& parent,
                                std::string_view key, const Where& here) {
    if (element.max == 0) return fail(here, "not allowed here");
    if (element.max == 1) {
      if (value.is_array()) return fail(here, "a single value, not an array");
      return typed(element, type, value, here);
    }
    if (!value.is_array()) return fail(here, "a repeating element is an array");
    const auto& items = value.get_array();
    if (items.empty()) return fail(here, "an array is not empty");
    if (element.max != kMany && items.size() > element.max) {
      return fail(here, fmt::format("at most {} values", element.max));
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
      const auto item_where = here.item(i);
      // A null holds a place for a value that has only extensions (in the "_" array).
      if (items[i].is_null()) {
        if (!parent.contains(fmt::format("_{}", key))) {
          return fail(item_where, "null is not a value");
        }
        continue;
      }
      RETURN_IF_ERROR(typed(element, type, items[i], item_where));
    }
    return {};
  }

  Status typed(const ElementDefinition& element, std::string_view type, const json::value& value,
               const Where& here) {
    if (!element.content_reference.empty()) {
      if (!value.is_object()) return fail(here, "an object");
      return members(element.content_reference, value.get_object(), here, false);
    }
    if (type == "BackboneElement" || type == "Element") {
      if (!value.is_object()) return fail(here, "an object");
      return members(element.path, value.get_object(), here, false);
    }
    if (type == "Resource") {
      if (!value.is_object()) return fail(here, "a resource object");
      const auto* resource_type = value.get_object().if_contains("resourceType");
      if (resource_type == nullptr || !resource_type->is_string()) {
        return fail(here, "a resource names its resourceType");
      }
      return resource(resource_type->get_string(), value.get_object(), here);
    }
    if (type == kSystemString) {
      if (!value.is_string() || value.get_string().empty()) return fail(here, "a string");
      // A resource's own id is a FHIR id.
      if (element.path.ends_with(".id") &&
          std::count(element.path.begin(), element.path.end(), '.') == 1) {
        const auto* owner = find_type(element.path.substr(0, element.path.find('.')));
        if (owner != nullptr && owner->resource && !is_id(value.get_string())) {
          return fail(here, "an id is 1 to 64 of [A-Za-z0-9-.]");
        }
      }
      return {};
    }
    if (!type.empty() && type.front() >= 'a' && type.front() <= 'z') {
      return primitive(type, value, here);
    }
    const auto* complex = find_type(type);
    if (complex == nullptr || complex->resource) {
      return fail(here, fmt::format("of type {}, which this server cannot check", type));
    }
    if (!value.is_object()) return fail(here, fmt::format("a {} object", type));
    RETURN_IF_ERROR(members(type, value.get_object(), here, false));
    if (type == "Reference") {
      const auto* reference = value.get_object().if_contains("reference");
      if (reference != nullptr && !is_reference(reference->get_string())) {
        return fail(here.member("reference"),
                    fmt::format("'{}' is not a reference (Type/id, a URL, #id or urn:uuid)",
                                std::string_view(reference->get_string()).substr(0, 100)));
      }
    }
    return {};
  }

  static Status primitive(std::string_view type, const json::value& value, const Where& here) {
    const auto wrong = [&](std::string_view what) { return fail(here, std::string(what)); };
    if (type == "boolean") return value.is_bool() ? Status{} : wrong("true or false");
    if (type == "integer" || type == "positiveInt" || type == "unsignedInt") {
      std::int64_t number = 0;
      if (value.is_int64()) {
        number = value.get_int64();
      } else if (value.is_uint64() &&
                 value.get_uint64() <= std::numeric_limits<std::int32_t>::max()) {
        number = static_cast<std::int64_t>(value.get_uint64());
      } else {
        return wrong("a whole number");
      }
      if (number < std::numeric_limits<std::int32_t>::min() ||
          number > std::numeric_limits<std::int32_t>::max()) {
        return wrong("a 32-bit whole number");
      }
      if (type == "positiveInt" && number < 1) return wrong("a number above 0");
      if (type == "unsignedInt" && number < 0) return wrong("a number of 0 or more");
      return {};
    }
    if (type == "decimal") return value.is_number() ? Status{} : wrong("a number");
    if (!value.is_string()) return wrong(fmt::format("a {} in a JSON string", type));
    const std::string_view text = value.get_string();
    const auto bad = [&](std::string_view what) {
      return fail(here, fmt::format("'{}' is not {}", text.substr(0, 100), what));
    };
    if (type == "base64Binary") return is_base64(text) ? Status{} : bad("base64");
    if (text.size() > kStringBytesMax) return wrong("at most 1 MB (FHIR's limit for strings)");
    if (text.empty()) return wrong("not empty (leave an element out rather than empty)");
    if (type == "string" || type == "markdown") return {};
    if (type == "code") return is_code(text) ? Status{} : bad("a code");
    if (type == "id") return is_id(text) ? Status{} : bad("an id");
    if (type == "uri" || type == "url" || type == "canonical") {
      return is_uri(text) ? Status{} : bad("a uri");
    }
    if (type == "uuid") return is_uuid(text) ? Status{} : bad("a urn:uuid");
    if (type == "oid") return is_oid(text) ? Status{} : bad("a urn:oid");
    if (type == "date") return is_date(text, false, false) ? Status{} : bad("a date");
    if (type == "dateTime") {
      return is_date(text, true, false) ? Status{} : bad("a dateTime (a time needs a zone)");
    }
    if (type == "instant") return is_date(text, true, true) ? Status{} : bad("an instant");
    if (type == "time") return is_time(text) ? Status{} : bad("a time");
    if (type == "xhtml") {
      std::string lowered(text);
      std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (!lowered.starts_with("<div")) return bad("narrative XHTML in a <div>");
      if (lowered.find("<script") != std::string::npos ||
          lowered.find("javascript:") != std::string::npos) {
        return wrong("narrative without scripts (FHIR forbids them)");
      }
      return {};
    }
    return wrong(fmt::format("of type {}, which this server cannot check", type));
  }

  // Elements with min >= 1 directly under `base`.
  static Status required(std::string_view base, const json::object& object, const Where& where) {
    const std::string prefix = std::string(base) + '.';
    const auto* it = std::lower_bound(
        std::begin(kElementDefinitions), std::end(kElementDefinitions), std::string_view(prefix),
        [](const ElementDefinition& element, std::string_view wanted) {
          return element.path < wanted;
        });
    for (; it != std::end(kElementDefinitions) && it->path.starts_with(prefix); ++it) {
      const auto name = it->path.substr(prefix.size());
      if (it->min == 0 || name.find('.') != std::string_view::npos) continue;
      bool present = false;
      if (name.ends_with("[x]")) {
        const auto stem = name.substr(0, name.size() - 3);
        for (const auto& member : object) {
          const std::string_view key = member.key();
          present = present || (key.size() > stem.size() && key.starts_with(stem) &&
                                key[stem.size()] >= 'A' && key[stem.size()] <= 'Z');
        }
      } else {
        present = object.contains(name) || object.contains(fmt::format("_{}", name));
      }
      if (!present) return fail(where.member(name), "required, and missing");
    }
    return {};
  }
};

}  // namespace

Status validate_resource(std::string_view type, const json::object& resource) {
  return Validator().resource(type, resource, Where::root(type));
}

}  // namespace kavach::fhir
