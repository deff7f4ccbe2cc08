#include "consent/consent_policy.h"

#include <algorithm>

namespace kavach::consent {

std::string_view denial_text(Denial denial) {
  switch (denial) {
    case Denial::kNotGranted:
      return "the consent is not granted (denied, revoked or expired)";
    case Denial::kExpired:
      return "the consent has expired";
    case Denial::kWrongHip:
      return "the consent is for another provider";
    case Denial::kWrongHiu:
      return "the consent was given to another facility";
    case Denial::kWrongPatient:
      return "the record belongs to another patient";
    case Denial::kHiTypeNotCovered:
      return "the record's type is not covered by the consent";
    case Denial::kCareContextNotCovered:
      return "the record's care context is not covered";
    case Denial::kOutsideDateRange:
      return "the record's date is outside the consented range";
    case Denial::kFrequencyUsedUp:
      return "the consent's request frequency is used up";
    case Denial::kBreakGlassTooLong:
      return "emergency access lasts at most 24 hours";
  }
  return "denied";
}

std::int64_t frequency_period_start_ms(const ConsentDetail& detail, std::int64_t now_ms) {
  const auto& frequency = detail.permission.frequency;
  const std::int64_t period = std::max<std::int64_t>(
      1, frequency_period_ms(frequency.unit, std::max<std::int64_t>(1, frequency.value)));
  if (now_ms < detail.created_at_ms) return detail.created_at_ms;
  return detail.created_at_ms + (now_ms - detail.created_at_ms) / period * period;
}

std::optional<Denial> check_data_request(const VerifiedArtefact& artefact, ConsentStatus status,
                                         const DataRequest& request) {
  const ConsentDetail& detail = artefact.detail();
  if (status != ConsentStatus::kGranted) return Denial::kNotGranted;
  if (request.now_ms >= detail.permission.data_erase_at_ms) return Denial::kExpired;
  // An emergency artefact is honoured only for the short window it may have, whoever signed it.
  if (detail.purpose == Purpose::kBreakTheGlass &&
      detail.permission.data_erase_at_ms - detail.created_at_ms > kBreakGlassMs) {
    return Denial::kBreakGlassTooLong;
  }
  if (request.hip_id.empty() || detail.hip_id != request.hip_id) return Denial::kWrongHip;
  // The HIP's copy has no hiu; the CM checked the requester against the full artefact before it
  // forwarded the request, and the HIP checks it when the copy names one.
  if (!detail.hiu_id.empty() && detail.hiu_id != request.hiu_id) return Denial::kWrongHiu;
  if (request.requests_in_period < 0 ||
      request.requests_in_period > detail.permission.frequency.repeats) {
    return Denial::kFrequencyUsedUp;
  }
  return std::nullopt;
}

std::optional<Denial> check_record(const VerifiedArtefact& artefact, const RecordFacts& record) {
  const ConsentDetail& detail = artefact.detail();
  if (record.patient_id.empty() || record.patient_id != detail.patient_id) {
    return Denial::kWrongPatient;
  }
  if (std::find(detail.hi_types.begin(), detail.hi_types.end(), record.hi_type) ==
      detail.hi_types.end()) {
    return Denial::kHiTypeNotCovered;
  }
  if (!detail.care_contexts.empty()) {
    const bool listed = std::any_of(
        detail.care_contexts.begin(), detail.care_contexts.end(), [&](const CareContext& context) {
          return !record.care_context_reference.empty() &&
                 context.care_context_reference == record.care_context_reference &&
                 context.patient_reference == record.patient_reference;
        });
    if (!listed) return Denial::kCareContextNotCovered;
  }
  const auto& range = detail.permission.date_range;
  if (!record.care_date_ms || *record.care_date_ms < range.from_ms ||
      *record.care_date_ms > range.to_ms) {
    return Denial::kOutsideDateRange;
  }
  return std::nullopt;
}

std::optional<Denial> check_access(const VerifiedArtefact& artefact, ConsentStatus status,
                                   const DataRequest& request, const RecordFacts& record) {
  if (auto denial = check_data_request(artefact, status, request)) return denial;
  return check_record(artefact, record);
}

}  // namespace kavach::consent
