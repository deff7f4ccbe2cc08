#include "fhir/search_index.h"

#include <algorithm>

#include <boost/json.hpp>

#include "fhir/search_parameters.h"

namespace kavach::fhir {
namespace {

namespace json = boost::json;

std::string_view string_at(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return (value && value->is_string()) ? std::string_view(value->get_string()) : std::string_view();
}

void add_terms(IndexTerms& terms, const ParameterDefinition& parameter,
               const json::object& resource) {
  const std::string name(parameter.name);
  switch (parameter.kind) {
    case ParameterKind::kToken:
    case ParameterKind::kPhone:
      for (auto& token : tokens_of(parameter, resource)) {
        if (!token.system.empty() && indexes_token_system(parameter)) {
          terms.emplace_back(name, token.system + "|" + token.code);
        }
        terms.emplace_back(name, std::move(token.code));
      }
      break;
    case ParameterKind::kString:
      for (const auto& text : strings_of(parameter, resource)) {
        const auto folded = fold_case(text);
        for (std::size_t length = 1; length <= std::min(folded.size(), kStringPrefixBytesMax);
             ++length) {
          terms.emplace_back(name, folded.substr(0, length));
        }
      }
      break;
    case ParameterKind::kReference:
      for (auto& reference : references_of(parameter, resource)) {
        terms.emplace_back(name, std::move(reference));
      }
      break;
    case ParameterKind::kDate:
      for (const auto& range : dates_of(parameter, resource)) {
        for (auto& bucket : date_index_values(range)) terms.emplace_back(name, std::move(bucket));
      }
      break;
  }
}

}  // namespace

IndexTerms extract_index_terms(std::string_view type, const json::object& resource) {
  IndexTerms terms;
  for (const auto& parameter : parameters_of(type)) {
    if (parameter.indexed_as.empty()) add_terms(terms, parameter, resource);
  }
  std::sort(terms.begin(), terms.end());
  terms.erase(std::unique(terms.begin(), terms.end()), terms.end());
  return terms;
}

std::string string_index_value(std::string_view text) {
  return fold_case(text.substr(0, std::min(text.size(), kStringPrefixBytesMax)));
}

std::string partition_of(std::string_view type, std::string_view id, const json::object& resource) {
  if (type == "Patient") return std::string(id);
  for (const auto* key : {"subject", "patient"}) {
    const auto* reference = resource.if_contains(key);
    if (reference && reference->is_object()) {
      const auto target = string_at(reference->get_object(), "reference");
      if (target.starts_with("Patient/") && target.size() > 8) return std::string(target.substr(8));
    }
  }
  return "";
}

}  // namespace kavach::fhir
