// The consent check under attack: 100,000+ random access attempts over actors, patients, consents,
// purposes, HI types, dates and times, with artefacts that are granted, denied, narrowed, revoked,
// expired, forged, signed by another key, tampered with or replayed. Each artefact travels as JSON
// through the verifier, as it would reach a HIP. The oracle decides from what the generator meant
// to grant, not from the artefact, and the test fails on any record served outside it (and, so the
// test cannot pass by refusing everything, on any allowed record refused).
#include "consent/consent_policy.h"

#include <random>

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace kavach::consent {
namespace {

constexpr std::int64_t kDayMs = 86'400'000;
constexpr std::int64_t kEpoch = 1'800'000'000'000;

crypto::SecretBytes seed(std::uint8_t fill) {
  return crypto::SecretBytes(std::vector<std::uint8_t>(32, fill));
}

const std::vector<std::string> kPatients = {"asha@sbx", "ravi.k@sbx", "meera@sbx"};
const std::vector<std::string> kHips = {"aiims-delhi", "cmc-vellore"};
const std::vector<std::string> kHius = {"apollo-chennai", "fortis-noida"};
const std::vector<std::string> kContexts = {"OP-1", "OP-2", "IP-3"};

enum class Tampering { kNone, kForged, kEdited, kSwappedSignature };

// What the generator meant: the ground truth the oracle judges by.
struct Intent {
  ConsentDetail detail;
  ConsentStatus status = ConsentStatus::kGranted;
  Tampering tampering = Tampering::kNone;
};

class World {
 public:
  explicit World(std::uint32_t seed_value) : random_(seed_value) {}

  std::int64_t between(std::int64_t low, std::int64_t high) {
    return std::uniform_int_distribution<std::int64_t>(low, high)(random_);
  }
  template <class T>
  const T& pick(const std::vector<T>& values) {
    return values[static_cast<std::size_t>(
        between(0, static_cast<std::int64_t>(values.size()) - 1))];
  }
  bool chance(int percent) { return between(0, 99) < percent; }

  Intent intent() {
    Intent intent;
    ConsentDetail& d = intent.detail;
    d.consent_id = "c-" + std::to_string(between(0, 1'000'000'000));
    d.created_at_ms = kEpoch + between(0, 30) * kDayMs;
    d.patient_id = pick(kPatients);
    d.hip_id = pick(kHips);
    d.hiu_id = pick(kHius);
    d.consent_manager_id = "sbx";
    d.requester = Requester{"Dr. Rao", "REGNO", "KA" + std::to_string(between(1, 99)), ""};
    d.purpose = chance(10) ? Purpose::kBreakTheGlass : Purpose::kCareManagement;
    for (const HiType type : kAllHiTypes)
      if (chance(40)) d.hi_types.push_back(type);
    if (d.hi_types.empty()) d.hi_types.push_back(HiType::kPrescription);
    if (chance(50)) {
      for (const auto& context : kContexts)
        if (chance(50)) d.care_contexts.push_back({"PT-" + d.patient_id, context});
    }
    d.permission.date_range.from_ms = kEpoch - between(0, 400) * kDayMs;
    d.permission.date_range.to_ms = d.permission.date_range.from_ms + between(0, 300) * kDayMs;
    d.permission.data_erase_at_ms = d.created_at_ms + between(1, 60) * kDayMs;
    if (d.purpose == Purpose::kBreakTheGlass && chance(50)) {
      d.permission.data_erase_at_ms = d.created_at_ms + between(1, 30) * kDayMs / 24;  // <= 30 h
    }
    d.permission.frequency = {FrequencyUnit::kDay, between(1, 3), between(0, 3)};
    const auto roll = between(0, 99);
    intent.status = roll < 60   ? ConsentStatus::kGranted
                    : roll < 70 ? ConsentStatus::kDenied
                    : roll < 80 ? ConsentStatus::kRevoked
                    : roll < 90 ? ConsentStatus::kExpired
                                : ConsentStatus::kRequested;
    const auto attack = between(0, 99);
    intent.tampering = attack < 85   ? Tampering::kNone
                       : attack < 90 ? Tampering::kForged
                       : attack < 95 ? Tampering::kEdited
                                     : Tampering::kSwappedSignature;
    return intent;
  }

  RecordFacts record(const Intent& intent) {
    RecordFacts facts;
    facts.patient_id = chance(80) ? intent.detail.patient_id : pick(kPatients);
    facts.patient_reference = "PT-" + facts.patient_id;
    facts.care_context_reference = chance(5) ? "" : pick(kContexts);
    facts.hi_type = pick(std::vector<HiType>(std::begin(kAllHiTypes), std::end(kAllHiTypes)));
    if (!chance(3)) {
      const auto& range = intent.detail.permission.date_range;
      facts.care_date_ms = between(range.from_ms - 30 * kDayMs, range.to_ms + 30 * kDayMs);
      if (chance(10)) facts.care_date_ms = chance(50) ? range.from_ms : range.to_ms;
    }
    return facts;
  }

  DataRequest request(const Intent& intent) {
    DataRequest request;
    request.hiu_id = chance(85) ? intent.detail.hiu_id : pick(kHius);
    request.hip_id = chance(85) ? intent.detail.hip_id : pick(kHips);
    request.now_ms = intent.detail.created_at_ms + between(-kDayMs, 70 * kDayMs);
    request.requests_in_period = between(0, 4);
    return request;
  }

 private:
  std::mt19937_64 random_;
};

// The oracle: written from the rules of issue 4, over the intent rather than the artefact.
bool allowed(const Intent& intent, const DataRequest& request, const RecordFacts& record) {
  const ConsentDetail& d = intent.detail;
  if (intent.tampering != Tampering::kNone) return false;
  if (intent.status != ConsentStatus::kGranted) return false;
  if (d.purpose == Purpose::kBreakTheGlass &&
      d.permission.data_erase_at_ms - d.created_at_ms > 24 * 3'600'000LL) {
    return false;
  }
  if (request.now_ms >= d.permission.data_erase_at_ms) return false;
  if (request.hip_id != d.hip_id || request.hiu_id != d.hiu_id) return false;
  if (request.requests_in_period > d.permission.frequency.repeats) return false;
  if (record.patient_id != d.patient_id) return false;
  bool type_granted = false;
  for (const HiType type : d.hi_types) type_granted |= type == record.hi_type;
  if (!type_granted) return false;
  if (!d.care_contexts.empty()) {
    bool listed = false;
    for (const auto& context : d.care_contexts) {
      listed |= context.care_context_reference == record.care_context_reference &&
                context.patient_reference == record.patient_reference;
    }
    if (!listed) return false;
  }
  if (!record.care_date_ms) return false;
  return *record.care_date_ms >= d.permission.date_range.from_ms &&
         *record.care_date_ms <= d.permission.date_range.to_ms;
}

// The artefact as it reaches the HIP: JSON, possibly attacked on the way.
// An edit that happens to change nothing (an empty list emptied) is no attack; `intent` says so.
boost::json::object deliver(Intent& intent, const ArtefactSigner& cm, const ArtefactSigner& rogue,
                            World& world) {
  const ArtefactSigner& signer = intent.tampering == Tampering::kForged ? rogue : cm;
  auto wire = signed_artefact_to_json(*signer.sign(intent.status, intent.detail));
  if (intent.tampering == Tampering::kEdited) {
    auto& detail = wire["consentDetail"].as_object();
    const boost::json::object original = detail;
    switch (world.between(0, 3)) {
      case 0:
        detail["hiTypes"] =
            hi_types_to_json(std::vector<HiType>(std::begin(kAllHiTypes), std::end(kAllHiTypes)));
        break;
      case 1:
        detail["permission"].as_object()["dataEraseAt"] = "2099-01-01T00:00:00.000Z";
        break;
      case 2:
        detail["careContexts"] = boost::json::array();
        break;
      default:
        detail["hiu"] = {{"id", world.pick(kHius)}};
        break;
    }
    if (detail == original) intent.tampering = Tampering::kNone;
  } else if (intent.tampering == Tampering::kSwappedSignature) {
    // A genuine signature, replayed from another artefact.
    ConsentDetail other = intent.detail;
    other.consent_id += "-other";
    wire["signature"] = cm.sign(ConsentStatus::kGranted, other)->signature;
  }
  return wire;
}

TEST(ConsentPolicy, ServesNothingOutsideAValidArtefactOver100000Attempts) {
  World world(20261129);
  const auto cm = *ArtefactSigner::from_seed(seed(1));
  const auto rogue = *ArtefactSigner::from_seed(seed(2));
  const auto verifier = ArtefactVerifier::from_public_key(cm.public_key());
  std::size_t attempts = 0, served = 0, refused_by_signature = 0, wrongly_served = 0,
              wrongly_refused = 0;
  while (attempts < 100'000) {
    Intent intent = world.intent();
    const auto wire = deliver(intent, cm, rogue, world);
    const auto opened = verifier.open(wire);
    for (int i = 0; i < 20; ++i, ++attempts) {
      const DataRequest request = world.request(intent);
      const RecordFacts record = world.record(intent);
      bool served_now = false;
      if (opened) {
        // The status a HIP acts on is the CM's latest word for this consent, not a replayed one.
        served_now = !check_access(*opened, intent.status, request, record).has_value();
      } else {
        ++refused_by_signature;
      }
      const bool should = allowed(intent, request, record);
      served += served_now;
      wrongly_served += served_now && !should;
      wrongly_refused += !served_now && should;
    }
  }
  EXPECT_EQ(wrongly_served, 0U);
  EXPECT_EQ(wrongly_refused, 0U);
  // The mix exercised both outcomes in earnest.
  EXPECT_GT(served, 1000U);
  EXPECT_GT(refused_by_signature, 5000U);
}

TEST(ConsentPolicy, EachRuleRefusesWithItsOwnReason) {
  const auto cm = *ArtefactSigner::from_seed(seed(1));
  const auto verifier = ArtefactVerifier::from_public_key(cm.public_key());
  ConsentDetail d;
  d.consent_id = "c-1";
  d.created_at_ms = kEpoch;
  d.patient_id = "asha@sbx";
  d.hip_id = "aiims-delhi";
  d.hiu_id = "apollo-chennai";
  d.consent_manager_id = "sbx";
  d.hi_types = {HiType::kPrescription};
  d.care_contexts = {{"PT-asha", "OP-1"}};
  d.permission.date_range = {kEpoch - 10 * kDayMs, kEpoch};
  d.permission.data_erase_at_ms = kEpoch + kDayMs;
  d.permission.frequency = {FrequencyUnit::kHour, 1, 0};
  const auto artefact =
      *verifier.open(signed_artefact_to_json(*cm.sign(ConsentStatus::kGranted, d)));
  const DataRequest request{"apollo-chennai", "aiims-delhi", kEpoch + 1000, 0};
  const RecordFacts record{"asha@sbx", "PT-asha", "OP-1", HiType::kPrescription, kEpoch - kDayMs};
  EXPECT_FALSE(check_access(artefact, ConsentStatus::kGranted, request, record).has_value());

  const auto denial = [&](auto change_request, auto change_record,
                          ConsentStatus status = ConsentStatus::kGranted) {
    DataRequest r = request;
    RecordFacts f = record;
    change_request(r);
    change_record(f);
    return check_access(artefact, status, r, f);
  };
  const auto same = [](auto&) {};
  EXPECT_EQ(denial(same, same, ConsentStatus::kRevoked), Denial::kNotGranted);
  EXPECT_EQ(denial([](DataRequest& r) { r.now_ms = kEpoch + kDayMs; }, same), Denial::kExpired);
  EXPECT_EQ(denial([](DataRequest& r) { r.hip_id = "cmc-vellore"; }, same), Denial::kWrongHip);
  EXPECT_EQ(denial([](DataRequest& r) { r.hiu_id = "fortis-noida"; }, same), Denial::kWrongHiu);
  EXPECT_EQ(denial([](DataRequest& r) { r.requests_in_period = 1; }, same),
            Denial::kFrequencyUsedUp);
  EXPECT_EQ(denial(same, [](RecordFacts& f) { f.patient_id = "ravi.k@sbx"; }),
            Denial::kWrongPatient);
  EXPECT_EQ(denial(same, [](RecordFacts& f) { f.hi_type = HiType::kOpConsultation; }),
            Denial::kHiTypeNotCovered);
  EXPECT_EQ(denial(same, [](RecordFacts& f) { f.care_context_reference = "OP-2"; }),
            Denial::kCareContextNotCovered);
  EXPECT_EQ(denial(same, [](RecordFacts& f) { f.care_date_ms = kEpoch + 1; }),
            Denial::kOutsideDateRange);
  EXPECT_EQ(denial(same, [](RecordFacts& f) { f.care_date_ms.reset(); }),
            Denial::kOutsideDateRange);
}

TEST(ConsentPolicy, FrequencyPeriodsCountFromTheArtefactsCreation) {
  ConsentDetail d;
  d.created_at_ms = kEpoch;
  d.permission.frequency = {FrequencyUnit::kDay, 2, 0};
  EXPECT_EQ(frequency_period_start_ms(d, kEpoch), kEpoch);
  EXPECT_EQ(frequency_period_start_ms(d, kEpoch + 2 * kDayMs - 1), kEpoch);
  EXPECT_EQ(frequency_period_start_ms(d, kEpoch + 2 * kDayMs), kEpoch + 2 * kDayMs);
  EXPECT_EQ(frequency_period_start_ms(d, kEpoch - 5), kEpoch);
}

}  // namespace
}  // namespace kavach::consent
