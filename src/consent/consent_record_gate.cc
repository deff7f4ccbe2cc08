#include "consent/consent_record_gate.h"

#include <fmt/format.h>

#include "consent/abha.h"
#include "consent/consent_policy.h"
#include "consent/record_classification.h"

namespace kavach::consent {
namespace {

constexpr std::size_t kPatientMatchesMax = 16;

class ConsentGrant final : public fhir::RecordGrant {
 public:
  ConsentGrant(VerifiedArtefact artefact, std::set<std::string> patients, std::string facility)
      : artefact_(std::move(artefact)),
        patients_(std::move(patients)),
        facility_(std::move(facility)),
        purpose_(purpose_code(artefact_.detail().purpose)) {}
  const std::string& consent_id() const override { return artefact_.detail().consent_id; }
  const std::string& purpose() const override { return purpose_; }
  const std::string& facility_id() const override { return facility_; }
  const VerifiedArtefact& artefact() const { return artefact_; }
  bool covers_patient(const std::string& partition) const { return patients_.contains(partition); }

 private:
  VerifiedArtefact artefact_;
  std::set<std::string> patients_;
  std::string facility_;
  std::string purpose_;
};

}  // namespace

Result<std::set<std::string>> ConsentRecordGate::patients_with(std::string_view abha_address) {
  std::vector<std::string> values{fmt::format("{}|{}", kAbhaAddressSystem, abha_address)};
  // A number's own address "<14 digits>@cm" also matches the number, however it is written.
  if (auto address = parse_abha_address(abha_address);
      address && address->name.size() == kAbhaNumberDigits &&
      std::isdigit(static_cast<unsigned char>(address->name.front()))) {
    values.push_back(fmt::format("{}|{}", kAbhaNumberSystem, address->name));
    values.push_back(fmt::format("{}|{}", kAbhaNumberSystem, format_abha_number(address->name)));
  }
  std::set<std::string> ids;
  for (const auto& value : values) {
    ASSIGN_OR_RETURN(auto entry, sealer_.blind_index("Patient", "identifier", value));
    ASSIGN_OR_RETURN(const auto found, store_.find(store::IndexQuery{"Patient", std::move(entry),
                                                                     "", kPatientMatchesMax}));
    ids.insert(found.begin(), found.end());
  }
  return ids;
}

Result<std::unique_ptr<fhir::RecordGrant>> ConsentRecordGate::grant_for(
    const auth::AccessToken& caller) {
  const auto facility = caller.scopes.opaque_value(kFacilityScopePrefix);
  if (!caller.scopes.has(kHiuScope) || facility.empty()) {
    return make_error(
        ErrorCode::kPermissionDenied,
        "reading under a consent needs an HIU client (scopes abdm/hiu, facility:<id>)");
  }
  auto held = consents_.consent(caller.consent_id);
  if (!held) {
    if (held.error().code != ErrorCode::kNotFound) return tl::unexpected(held.error());
    return make_error(ErrorCode::kPermissionDenied, "this provider holds no consent with that id");
  }
  const DataRequest request{std::string(facility), consents_.hip_id(), unix_ms(clock_.now()), 0};
  if (const auto denial = check_data_request(held->artefact, held->status, request)) {
    return make_error(ErrorCode::kPermissionDenied, std::string(denial_text(*denial)));
  }
  ASSIGN_OR_RETURN(auto patients, patients_with(held->artefact.detail().patient_id));
  return std::unique_ptr<fhir::RecordGrant>(
      new ConsentGrant(std::move(held->artefact), std::move(patients), std::string(facility)));
}

Result<bool> ConsentRecordGate::allows(const fhir::RecordGrant& grant,
                                       const store::RecordVersion& record,
                                       const boost::json::object& resource) {
  const auto& consent = static_cast<const ConsentGrant&>(grant);
  if (!consent.covers_patient(record.partition)) return false;
  if (record.type == "Patient") return true;
  const auto hi_type = hi_type_of(record.type, resource);
  if (!hi_type) return false;
  RecordFacts facts;
  facts.patient_id = consent.artefact().detail().patient_id;
  facts.patient_reference = record.partition;
  facts.care_context_reference = care_context_of(record.type, record.id, resource);
  facts.hi_type = *hi_type;
  facts.care_date_ms = care_date_of(record.type, resource);
  return !check_record(consent.artefact(), facts).has_value();
}

}  // namespace kavach::consent
