#include "fhir/search_query.h"

#include <algorithm>
#include <array>
#include <charconv>

#include <fmt/format.h>

#include "common/limits.h"
#include "fhir/resource_types.h"

namespace kavach::fhir {
namespace {

constexpr std::size_t kElementsMax = 50;
constexpr std::size_t kIncludesMax = 10;

Error invalid(std::string message) {
  return Error{ErrorCode::kInvalidArgument, std::move(message)};
}

// Splits at commas not escaped with a backslash, unescaping "\," (FHIR R4 search 3.1.1.6).
std::vector<std::string> split_alternatives(std::string_view value) {
  std::vector<std::string> parts(1);
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\\' && i + 1 < value.size() &&
        (value[i + 1] == ',' || value[i + 1] == '\\' || value[i + 1] == '|' ||
         value[i + 1] == '$')) {
      parts.back() += value[++i];
    } else if (value[i] == ',') {
      parts.emplace_back();
    } else {
      parts.back() += value[i];
    }
  }
  return parts;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  for (;;) {
    const auto at = text.find(separator);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

struct Prefix {
  std::string_view text;
  DateComparator comparator;
};
constexpr std::array<Prefix, 8> kPrefixes = {{{"eq", DateComparator::kEq},
                                              {"ne", DateComparator::kNe},
                                              {"gt", DateComparator::kGt},
                                              {"lt", DateComparator::kLt},
                                              {"ge", DateComparator::kGe},
                                              {"le", DateComparator::kLe},
                                              {"sa", DateComparator::kSa},
                                              {"eb", DateComparator::kEb}}};

Result<SearchValue> parse_date_value(std::string_view name, std::string_view text) {
  SearchValue value;
  if (text.size() >= 2 && text[0] >= 'a' && text[0] <= 'z') {
    const auto prefix = text.substr(0, 2);
    const auto* found = std::find_if(kPrefixes.begin(), kPrefixes.end(),
                                     [&](const Prefix& known) { return known.text == prefix; });
    if (found == kPrefixes.end()) {
      return tl::unexpected(invalid(
          fmt::format("{}: the prefix '{}' is not supported (use eq, ne, gt, lt, ge, le, sa or eb)",
                      name, prefix)));
    }
    value.comparator = found->comparator;
    text.remove_prefix(2);
  }
  const auto range = parse_date_range(text);
  if (!range) {
    return tl::unexpected(invalid(fmt::format(
        "{}: '{}' is not a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss][zone])",
        name, text)));
  }
  value.text = std::string(text);
  value.range = *range;
  return value;
}

Result<SearchModifier> parse_modifier(const ParameterDefinition& parameter, std::string_view name,
                                      std::string_view modifier, std::string& target_type) {
  if (modifier.empty()) return SearchModifier::kNone;
  if (modifier == "missing") return SearchModifier::kMissing;
  if (modifier == "exact" && parameter.kind == ParameterKind::kString)
    return SearchModifier::kExact;
  if (modifier == "not" &&
      (parameter.kind == ParameterKind::kToken || parameter.kind == ParameterKind::kPhone)) {
    return SearchModifier::kNot;
  }
  if (parameter.kind == ParameterKind::kReference && is_supported_type(modifier)) {
    if (parameter.target_only && modifier != parameter.target) {
      return tl::unexpected(
          invalid(fmt::format("{}: {} refers only to {}", name, parameter.name, parameter.target)));
    }
    target_type = std::string(modifier);
    return SearchModifier::kNone;
  }
  return tl::unexpected(
      invalid(fmt::format("{}: the modifier ':{}' is not supported here", name, modifier)));
}

Result<SearchPredicate> parse_predicate(std::string_view type, std::string_view name,
                                        std::string_view value, bool allow_chain) {
  SearchPredicate predicate;
  predicate.name = std::string(name);
  std::string_view head = name;
  std::string_view chained;
  if (const auto dot = name.find('.'); dot != std::string_view::npos) {
    if (!allow_chain) {
      return tl::unexpected(
          invalid(fmt::format("{}: only one level of chaining is supported", name)));
    }
    head = name.substr(0, dot);
    chained = name.substr(dot + 1);
  }
  const auto colon = head.find(':');
  const auto parameter_name = head.substr(0, colon);
  const auto modifier =
      colon == std::string_view::npos ? std::string_view() : head.substr(colon + 1);
  predicate.parameter = find_parameter(type, parameter_name);
  if (predicate.parameter == nullptr) {
    return tl::unexpected(invalid(fmt::format("unknown search parameter '{}' for {}", name, type)));
  }
  const auto& parameter = *predicate.parameter;
  predicate.target_type = std::string(parameter.target);
  ASSIGN_OR_RETURN(predicate.modifier,
                   parse_modifier(parameter, name, modifier, predicate.target_type));
  if (value.size() > limits::kSearchValueBytesMax) {
    return tl::unexpected(invalid(fmt::format("{}: the value is too long", name)));
  }

  if (!chained.empty()) {
    if (parameter.kind != ParameterKind::kReference ||
        predicate.modifier != SearchModifier::kNone) {
      return tl::unexpected(
          invalid(fmt::format("{}: only a reference parameter can be chained", name)));
    }
    ASSIGN_OR_RETURN(auto inner, parse_predicate(predicate.target_type, chained, value, false));
    predicate.chain.push_back(std::move(inner));
    return predicate;
  }
  if (predicate.modifier == SearchModifier::kMissing) {
    if (value != "true" && value != "false") {
      return tl::unexpected(invalid(fmt::format("{}: :missing takes true or false", name)));
    }
    predicate.missing = value == "true";
    return predicate;
  }
  const auto alternatives = split_alternatives(value);
  if (alternatives.size() > kSearchAlternativesMax) {
    return tl::unexpected(invalid(fmt::format("{}: too many alternatives", name)));
  }
  for (const auto& alternative : alternatives) {
    if (alternative.empty()) {
      return tl::unexpected(invalid(fmt::format("{}: an empty value", name)));
    }
    if (parameter.kind == ParameterKind::kDate) {
      ASSIGN_OR_RETURN(auto parsed, parse_date_value(name, alternative));
      predicate.values.push_back(std::move(parsed));
    } else {
      predicate.values.push_back(SearchValue{alternative, DateComparator::kEq, DateRange{}});
    }
  }
  return predicate;
}

Result<SearchSort> parse_sort(std::string_view type, std::string_view value) {
  if (value.find(',') != std::string_view::npos) {
    return tl::unexpected(invalid("_sort: sort by one parameter"));
  }
  SearchSort sort;
  if (value.starts_with('-')) {
    sort.descending = true;
    value.remove_prefix(1);
  }
  sort.parameter = find_parameter(type, value);
  if (sort.parameter == nullptr ||
      (sort.parameter->kind != ParameterKind::kDate && sort.parameter != &kIdParameter)) {
    return tl::unexpected(invalid(fmt::format(
        "_sort: '{}' is not a date parameter of {} (nor _lastUpdated or _id)", value, type)));
  }
  return sort;
}

// "Observation:subject" or "Observation:subject:Patient".
Result<SearchInclude> parse_include(std::string_view what, std::string_view value) {
  const auto parts = split(value, ':');
  if (parts.size() < 2 || parts.size() > 3 || !is_supported_type(parts[0])) {
    return tl::unexpected(
        invalid(fmt::format("{}: '{}' is not Type:parameter[:Target]", what, value)));
  }
  SearchInclude include;
  include.source_type = std::string(parts[0]);
  include.parameter = find_parameter(parts[0], parts[1]);
  if (include.parameter == nullptr || include.parameter->kind != ParameterKind::kReference) {
    return tl::unexpected(invalid(
        fmt::format("{}: '{}' is not a reference parameter of {}", what, parts[1], parts[0])));
  }
  if (parts.size() == 3) {
    if (!is_supported_type(parts[2])) {
      return tl::unexpected(invalid(fmt::format("{}: unknown type '{}'", what, parts[2])));
    }
    include.target_type = std::string(parts[2]);
  }
  return include;
}

Result<std::size_t> parse_count(std::string_view value) {
  std::size_t count = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), count);
  if (error != std::errc() || end != value.data() + value.size()) {
    return tl::unexpected(invalid(fmt::format("_count: '{}' is not a number", value)));
  }
  return std::min(count, limits::kPageSizeMax);
}

bool is_element_name(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  });
}

}  // namespace

Result<SearchQuery> parse_search_query(std::string_view type, const QueryParameters& parameters) {
  if (!is_supported_type(type)) {
    return tl::unexpected(invalid(fmt::format("{} is not a supported resource type", type)));
  }
  SearchQuery query;
  query.type = std::string(type);
  for (const auto& [name, value] : parameters) {
    if (name == "_count") {
      ASSIGN_OR_RETURN(query.count, parse_count(value));
      // _count=0 asks for no entries: the total alone (FHIR R4 search 3.1.1.5.7).
      if (query.count == 0) query.summary_count = true;
    } else if (name == "_cursor") {
      query.cursor = value;
    } else if (name == "_sort") {
      ASSIGN_OR_RETURN(query.sort, parse_sort(type, value));
    } else if (name == "_total") {
      if (value != "none" && value != "estimate" && value != "accurate") {
        return tl::unexpected(invalid("_total: use none, estimate or accurate"));
      }
      query.total = value != "none";
    } else if (name == "_summary") {
      if (value != "count" && value != "false") {
        return tl::unexpected(invalid("_summary: only count and false are supported"));
      }
      query.summary_count = value == "count";
    } else if (name == "_elements") {
      for (const auto element : split(value, ',')) {
        if (!is_element_name(element) || query.elements.size() == kElementsMax) {
          return tl::unexpected(invalid(fmt::format("_elements: '{}' is not an element", element)));
        }
        query.elements.emplace_back(element);
      }
    } else if (name == "_include" || name == "_revinclude") {
      if (query.includes.size() + query.revincludes.size() == kIncludesMax) {
        return tl::unexpected(invalid("too many _include and _revinclude parameters"));
      }
      ASSIGN_OR_RETURN(auto include, parse_include(name, value));
      if (name == "_include" && include.source_type != type) {
        return tl::unexpected(
            invalid(fmt::format("_include: '{}' does not start with {}", value, type)));
      }
      if (name == "_revinclude" && include.parameter->target_only &&
          include.parameter->target != type) {
        return tl::unexpected(
            invalid(fmt::format("_revinclude: '{}' never refers to {}", value, type)));
      }
      (name == "_include" ? query.includes : query.revincludes).push_back(std::move(include));
    } else if (name.starts_with("_include:") || name.starts_with("_revinclude:") ||
               name == "_contained" || name == "_has" || name.starts_with("_has:") ||
               name == "_text" || name == "_content" || name == "_filter" || name == "_query") {
      return tl::unexpected(invalid(fmt::format("{} is not supported", name)));
    } else {
      if (query.predicates.size() == kSearchPredicatesMax) {
        return tl::unexpected(invalid("too many search parameters"));
      }
      ASSIGN_OR_RETURN(auto predicate, parse_predicate(type, name, value, true));
      query.predicates.push_back(std::move(predicate));
    }
  }
  return query;
}

bool is_exact_reference(const SearchPredicate& predicate) {
  return predicate.parameter != nullptr && predicate.parameter->kind == ParameterKind::kReference &&
         predicate.parameter->indexed_as.empty() && predicate.modifier == SearchModifier::kNone &&
         predicate.chain.empty();
}

bool is_one_page_search(const SearchQuery& query) {
  return has_small_records(query.type) && query.predicates.size() == 1 &&
         is_exact_reference(query.predicates.front()) &&
         query.predicates.front().values.size() == 1 && !query.sort && !query.total &&
         !query.summary_count && query.includes.empty() && query.revincludes.empty() &&
         query.count <= kBriefPageSizeMax;
}

}  // namespace kavach::fhir
