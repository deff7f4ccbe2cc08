#include "fhir/search_index.h"

#include <algorithm>
#include <array>

#include <boost/json.hpp>

#include "common/limits.h"

namespace kavach::fhir {
namespace {

namespace json = boost::json;

// Indian mobile and landline numbers have ten digits after the country code.
constexpr std::size_t kNationalNumberDigits = 10;

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  });
  return out;
}

std::string digits_only(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c >= '0' && c <= '9') out += c;
  }
  return out;
}

std::string_view string_at(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return (value && value->is_string()) ? std::string_view(value->get_string()) : std::string_view();
}

const json::array* array_at(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return (value && value->is_array()) ? &value->get_array() : nullptr;
}

void add(IndexTerms& terms, std::string name, std::string value) {
  if (value.empty() || terms.size() >= limits::kIndexValuesPerResourceMax) return;
  terms.emplace_back(std::move(name), std::move(value));
}

// A token is indexed as "code" and as "system|code", so both search forms match.
void add_token(IndexTerms& terms, const std::string& name, std::string_view system,
               std::string_view code) {
  if (code.empty()) return;
  add(terms, name, std::string(code));
  if (!system.empty()) add(terms, name, std::string(system) + "|" + std::string(code));
}

void add_codeable_concept(IndexTerms& terms, const std::string& name, const json::value* codeable) {
  if (codeable == nullptr || !codeable->is_object()) return;
  if (const auto* codings = array_at(codeable->get_object(), "coding")) {
    for (const auto& coding : *codings) {
      if (!coding.is_object()) continue;
      add_token(terms, name, string_at(coding.get_object(), "system"),
                string_at(coding.get_object(), "code"));
    }
  }
}

void add_identifiers(IndexTerms& terms, const json::object& resource) {
  if (const auto* identifiers = array_at(resource, "identifier")) {
    for (const auto& identifier : *identifiers) {
      if (!identifier.is_object()) continue;
      add_token(terms, "identifier", string_at(identifier.get_object(), "system"),
                string_at(identifier.get_object(), "value"));
    }
  }
}

void add_reference(IndexTerms& terms, const std::string& name, const json::value* reference) {
  if (reference == nullptr || !reference->is_object()) return;
  add(terms, name, std::string(string_at(reference->get_object(), "reference")));
}

void add_patient_terms(IndexTerms& terms, const json::object& resource) {
  if (const auto* names = array_at(resource, "name")) {
    for (const auto& name : *names) {
      if (!name.is_object()) continue;
      const auto family = lowercase(string_at(name.get_object(), "family"));
      add(terms, "family", family);
      add(terms, "name", family);
      if (const auto* givens = array_at(name.get_object(), "given")) {
        for (const auto& given : *givens) {
          if (!given.is_string()) continue;
          add(terms, "given", lowercase(given.get_string()));
          add(terms, "name", lowercase(given.get_string()));
        }
      }
    }
  }
  if (const auto* telecoms = array_at(resource, "telecom")) {
    for (const auto& telecom : *telecoms) {
      if (telecom.is_object() && string_at(telecom.get_object(), "system") == "phone") {
        // A number matches with or without its country code: "+91 98765 43210" is found by
        // 919876543210 and by 9876543210.
        const auto digits = digits_only(string_at(telecom.get_object(), "value"));
        add(terms, "phone", digits);
        if (digits.size() > kNationalNumberDigits) {
          add(terms, "phone", digits.substr(digits.size() - kNationalNumberDigits));
        }
      }
    }
  }
  add(terms, "birthdate", std::string(string_at(resource, "birthDate")));
  add(terms, "gender", std::string(string_at(resource, "gender")));
}

constexpr std::array<std::string_view, 5> kCommonParameters = {"identifier", "subject", "patient",
                                                               "code", "status"};
constexpr std::array<std::string_view, 6> kPatientParameters = {"family", "given",     "name",
                                                                "phone",  "birthdate", "gender"};

}  // namespace

IndexTerms extract_index_terms(std::string_view type, const json::object& resource) {
  IndexTerms terms;
  add_identifiers(terms, resource);
  add(terms, "status", std::string(string_at(resource, "status")));
  add_codeable_concept(terms, "code", resource.if_contains("code"));
  add_reference(terms, "subject", resource.if_contains("subject"));
  add_reference(terms, "patient", resource.if_contains("patient"));
  // subject and patient are searchable by either name where the reference is to a Patient.
  for (const auto* key : {"subject", "patient"}) {
    const auto* reference = resource.if_contains(key);
    if (reference && reference->is_object()) {
      const auto target = string_at(reference->get_object(), "reference");
      if (target.starts_with("Patient/")) {
        add(terms, key == std::string_view("subject") ? "patient" : "subject", std::string(target));
      }
    }
  }
  if (type == "Patient") add_patient_terms(terms, resource);
  std::sort(terms.begin(), terms.end());
  terms.erase(std::unique(terms.begin(), terms.end()), terms.end());
  return terms;
}

std::string normalise_search_value(std::string_view parameter, std::string_view value) {
  if (parameter == "family" || parameter == "given" || parameter == "name") return lowercase(value);
  if (parameter == "phone") return digits_only(value);
  // "|code" searches for a code with no system; indexed codes carry "code" alone as well.
  if (value.starts_with('|')) return std::string(value.substr(1));
  return std::string(value);
}

bool is_indexed_parameter(std::string_view type, std::string_view parameter) {
  if (std::find(kCommonParameters.begin(), kCommonParameters.end(), parameter) !=
      kCommonParameters.end()) {
    return true;
  }
  return type == "Patient" && std::find(kPatientParameters.begin(), kPatientParameters.end(),
                                        parameter) != kPatientParameters.end();
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
