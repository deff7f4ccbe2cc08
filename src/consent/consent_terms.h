// The vocabulary of consent, exactly as ABDM v0.5 spells it (../shared/reference/abdm.md):
// purposes, health-information types, access modes, frequency units and statuses, and the terms a
// consent request asks for and a grant allows. Text forms are the ABDM codes; parsing refuses
// anything else. Thread-safety: plain values and stateless functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "common/error.h"

namespace kavach::consent {

enum class Purpose : std::uint8_t {
  kCareManagement,           // CAREMGT
  kBreakTheGlass,            // BTG
  kPublicHealth,             // PUBHLTH
  kHealthcarePayment,        // HPAYMT
  kDiseaseSpecificResearch,  // DSRCH
  kSelfRequested,            // PATRQT
};
enum class HiType : std::uint8_t {
  kOpConsultation,
  kPrescription,
  kDischargeSummary,
  kDiagnosticReport,
  kImmunizationRecord,
  kHealthDocumentRecord,
  kWellnessRecord,
  kInvoice,  // ABDM v3
};
inline constexpr HiType kAllHiTypes[] = {HiType::kOpConsultation,     HiType::kPrescription,
                                         HiType::kDischargeSummary,   HiType::kDiagnosticReport,
                                         HiType::kImmunizationRecord, HiType::kHealthDocumentRecord,
                                         HiType::kWellnessRecord,     HiType::kInvoice};
// ABDM v0.5's seven, every clinical type: what an artefact the CM makes on its own may name (a
// v0.5 HIP or HIU refuses an artefact naming Invoice, a v3 addition).
inline constexpr HiType kClinicalHiTypes[] = {
    HiType::kOpConsultation,   HiType::kPrescription,       HiType::kDischargeSummary,
    HiType::kDiagnosticReport, HiType::kImmunizationRecord, HiType::kHealthDocumentRecord,
    HiType::kWellnessRecord};

enum class AccessMode : std::uint8_t { kView, kStore, kQuery, kStream };
enum class FrequencyUnit : std::uint8_t { kHour, kDay, kWeek, kMonth, kYear };
enum class ConsentStatus : std::uint8_t { kRequested, kGranted, kDenied, kRevoked, kExpired };

std::string_view purpose_code(Purpose purpose);
// The display text ABDM gives each purpose ("Care Management").
std::string_view purpose_text(Purpose purpose);
std::optional<Purpose> parse_purpose(std::string_view code);
std::string_view hi_type_code(HiType type);
std::optional<HiType> parse_hi_type(std::string_view code);
std::string_view access_mode_code(AccessMode mode);
std::optional<AccessMode> parse_access_mode(std::string_view code);
std::string_view frequency_unit_code(FrequencyUnit unit);
std::optional<FrequencyUnit> parse_frequency_unit(std::string_view code);
std::string_view consent_status_code(ConsentStatus status);
std::optional<ConsentStatus> parse_consent_status(std::string_view code);
// The length of one frequency period: `value` units (months as 30 days, years as 365).
std::int64_t frequency_period_ms(FrequencyUnit unit, std::int64_t value);

inline constexpr std::size_t kHiTypesMax = 8;
inline constexpr std::size_t kCareContextsMax = 500;
inline constexpr std::int64_t kFrequencyValueMax = 1000;
inline constexpr std::int64_t kFrequencyRepeatsMax = 10'000;

struct DateRange {
  std::int64_t from_ms = 0;
  std::int64_t to_ms = 0;
  bool operator==(const DateRange&) const = default;
};

// The HIU may ask for data `repeats` + 1 times in each period of `value` `unit`s (ABDM leaves the
// meaning open; docs/consent.md states Kavach's reading).
struct Frequency {
  FrequencyUnit unit = FrequencyUnit::kHour;
  std::int64_t value = 1;
  std::int64_t repeats = 0;
  bool operator==(const Frequency&) const = default;
};

struct Permission {
  AccessMode access_mode = AccessMode::kView;
  DateRange date_range;  // which records: by the date of care they describe
  std::int64_t data_erase_at_ms = 0;
  Frequency frequency;
  bool operator==(const Permission&) const = default;
};

struct CareContext {
  std::string patient_reference;  // the patient's id at the HIP
  std::string care_context_reference;
  bool operator==(const CareContext&) const = default;
};

struct Requester {
  std::string name;
  std::string identifier_type;  // e.g. REGNO
  std::string identifier_value;
  std::string identifier_system;
  bool operator==(const Requester&) const = default;
};

// What a consent request asks for (ABDM `consent` of consent-requests/init) and, narrowed by the
// patient, what a grant allows.
struct ConsentTerms {
  Purpose purpose = Purpose::kCareManagement;
  std::string patient_id;             // the ABHA address
  std::optional<std::string> hip_id;  // when the request names one HIP
  std::vector<CareContext> care_contexts;
  std::string hiu_id;
  Requester requester;
  std::vector<HiType> hi_types;
  Permission permission;
  bool operator==(const ConsentTerms&) const = default;
};

// Parses ABDM's `consent` object of a consent request. kInvalidArgument names the first field in
// error; `now_ms` is needed because dataEraseAt must lie in the future and the date range must be
// ordered.
Result<ConsentTerms> parse_consent_terms(const boost::json::object& consent, std::int64_t now_ms);
boost::json::object consent_terms_to_json(const ConsentTerms& terms);

// Shared by the parsers of requests and artefacts.
Result<Permission> parse_permission(const boost::json::value& value);
boost::json::object permission_to_json(const Permission& permission);
boost::json::object purpose_to_json(Purpose purpose);
Result<Purpose> parse_purpose_object(const boost::json::value& value);
Result<std::vector<HiType>> parse_hi_types(const boost::json::value& value);
// {"from", "to"}, two instants; errors name `path`.
Result<DateRange> parse_date_range(const boost::json::value& value, std::string_view path);
boost::json::array hi_types_to_json(const std::vector<HiType>& types);
Result<std::vector<CareContext>> parse_care_contexts(const boost::json::value* value);
boost::json::array care_contexts_to_json(const std::vector<CareContext>& contexts);
Result<Requester> parse_requester(const boost::json::value& value);
boost::json::object requester_to_json(const Requester& requester);

// True when `narrower` allows nothing that `wider` does not: its HI types, HIPs, care contexts,
// date range, erase time and frequency are each within the wider one's. Purpose, patient, HIU,
// requester and access mode must be equal. On false, `why` says which term was widened.
bool within(const ConsentTerms& narrower, const ConsentTerms& wider, std::string* why);

}  // namespace kavach::consent
