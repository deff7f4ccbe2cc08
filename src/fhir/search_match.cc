#include "fhir/search_match.h"

#include <algorithm>

#include "fhir/search_index.h"

namespace kavach::fhir {
namespace {

namespace json = boost::json;

// "system|code", "|code" (no system), "system|" (any code in it) or "code" (any system).
struct TokenQuery {
  bool has_system = false;
  std::string system;
  std::string code;
};

TokenQuery parse_token(std::string_view text) {
  const auto bar = text.find('|');
  if (bar == std::string_view::npos) return TokenQuery{false, "", std::string(text)};
  return TokenQuery{true, std::string(text.substr(0, bar)), std::string(text.substr(bar + 1))};
}

bool token_matches(const TokenQuery& query, const Token& token) {
  if (query.has_system && token.system != query.system) return false;
  return query.code.empty() ? query.has_system : token.code == query.code;
}

bool has_value(const ParameterDefinition& parameter, const json::object& resource) {
  switch (parameter.kind) {
    case ParameterKind::kToken:
    case ParameterKind::kPhone:
      return !tokens_of(parameter, resource).empty();
    case ParameterKind::kString:
      return !strings_of(parameter, resource).empty();
    case ParameterKind::kReference:
      return !references_of(parameter, resource).empty();
    case ParameterKind::kDate:
      return !dates_of(parameter, resource).empty();
  }
  return false;
}

template <typename Values, typename Test>
bool any_pair(const std::vector<SearchValue>& wanted, const Values& stored, Test test) {
  return std::any_of(wanted.begin(), wanted.end(), [&](const SearchValue& value) {
    return std::any_of(stored.begin(), stored.end(),
                       [&](const auto& item) { return test(value, item); });
  });
}

}  // namespace

bool matches(const SearchPredicate& predicate, const json::object& resource) {
  if (!predicate.chain.empty() || predicate.parameter == nullptr) return false;
  const auto& parameter = *predicate.parameter;
  if (predicate.modifier == SearchModifier::kMissing) {
    return has_value(parameter, resource) != predicate.missing;
  }
  switch (parameter.kind) {
    case ParameterKind::kToken: {
      const auto tokens = tokens_of(parameter, resource);
      const bool found =
          any_pair(predicate.values, tokens, [](const auto& value, const auto& token) {
            return token_matches(parse_token(value.text), token);
          });
      return predicate.modifier == SearchModifier::kNot ? !found : found;
    }
    case ParameterKind::kPhone: {
      const auto tokens = tokens_of(parameter, resource);
      const bool found =
          any_pair(predicate.values, tokens, [](const auto& value, const auto& token) {
            return token.code == phone_digits(value.text);
          });
      return predicate.modifier == SearchModifier::kNot ? !found : found;
    }
    case ParameterKind::kString: {
      const bool exact = predicate.modifier == SearchModifier::kExact;
      return any_pair(predicate.values, strings_of(parameter, resource),
                      [exact](const auto& value, const std::string& text) {
                        return exact ? text == value.text
                                     : fold_case(text).starts_with(fold_case(value.text));
                      });
    }
    case ParameterKind::kReference: {
      const auto& target = predicate.target_type;
      return any_pair(predicate.values, references_of(parameter, resource),
                      [&target](const auto& value, const std::string& reference) {
                        return reference == normalise_reference(value.text, target);
                      });
    }
    case ParameterKind::kDate:
      return any_pair(predicate.values, dates_of(parameter, resource),
                      [](const auto& value, const DateRange& range) {
                        return date_matches(value.comparator, value.range, range);
                      });
  }
  return false;
}

std::optional<std::vector<std::string>> candidate_index_values(const SearchPredicate& predicate) {
  if (!predicate.chain.empty() || predicate.parameter == nullptr ||
      predicate.parameter == &kIdParameter || predicate.parameter == &kLastUpdatedParameter ||
      predicate.modifier == SearchModifier::kMissing ||
      predicate.modifier == SearchModifier::kNot) {
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (const auto& value : predicate.values) {
    switch (predicate.parameter->kind) {
      case ParameterKind::kToken: {
        const auto token = parse_token(value.text);
        if (token.code.empty()) return std::nullopt;  // "system|": any code in the system
        // "|code" is indexed under the bare code, which every code carries; "system|code" too,
        // but for identifiers (indexes_token_system).
        const bool by_system =
            token.has_system && !token.system.empty() && indexes_token_system(*predicate.parameter);
        out.push_back(by_system ? token.system + "|" + token.code : token.code);
        break;
      }
      case ParameterKind::kPhone:
        out.push_back(phone_digits(value.text));
        break;
      case ParameterKind::kString:
        out.push_back(string_index_value(value.text));
        break;
      case ParameterKind::kReference: {
        auto reference = normalise_reference(value.text, predicate.target_type);
        if (reference.empty()) return std::nullopt;
        out.push_back(std::move(reference));
        break;
      }
      case ParameterKind::kDate: {
        auto buckets = date_candidate_values(value.comparator, value.range);
        if (!buckets) return std::nullopt;
        out.insert(out.end(), buckets->begin(), buckets->end());
        break;
      }
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::optional<store::RecordedRange> recorded_range(const SearchPredicate& predicate) {
  if (!predicate.chain.empty() || predicate.modifier != SearchModifier::kNone ||
      predicate.values.empty()) {
    return std::nullopt;
  }
  // A record's meta.lastUpdated is its recorded_at_ms, written to the millisecond, so a stored
  // instant t is the range [t, t + 1) that date_matches compares: each comparator below is
  // date_matches solved for t. Alternatives (a comma) join into the span that covers them all.
  std::optional<store::RecordedRange> covered;
  for (const auto& value : predicate.values) {
    const std::int64_t low = value.range.low_ms;
    const std::int64_t high = value.range.high_ms;
    store::RecordedRange range;
    switch (value.comparator) {
      case DateComparator::kEq:
        range = {low, high};
        break;
      case DateComparator::kGt:
      case DateComparator::kSa:
        range = {high, kUnboundedAfter};
        break;
      case DateComparator::kGe:
        range = {low, kUnboundedAfter};
        break;
      case DateComparator::kLt:
      case DateComparator::kEb:
        range = {kUnboundedBefore, low};
        break;
      case DateComparator::kLe:
        range = {kUnboundedBefore, high};
        break;
      case DateComparator::kNe:
        return std::nullopt;
    }
    if (!covered) {
      covered = range;
    } else {
      covered->from_ms = std::min(covered->from_ms, range.from_ms);
      covered->to_ms = std::max(covered->to_ms, range.to_ms);
    }
  }
  return covered;
}

std::optional<std::int64_t> sort_key(const SearchSort& sort, const json::object& resource) {
  std::optional<std::int64_t> key;
  for (const auto& range : dates_of(*sort.parameter, resource)) {
    if (sort.descending) {
      key = std::max(key.value_or(kUnboundedBefore), range.high_ms);
    } else {
      key = std::min(key.value_or(kUnboundedAfter), range.low_ms);
    }
  }
  return key;
}

}  // namespace kavach::fhir
