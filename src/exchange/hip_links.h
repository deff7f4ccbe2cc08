// HipLinks: a provider node's part in discovery and linking. The CM asks on a patient's behalf
// whether this hospital holds records of theirs (care-contexts/discover); the HIP looks its
// patients up by the verified identifiers (ABHA address or number, mobile), then keeps only those
// whose name, gender and year of birth also agree (ABDM's rules: fuzzy name, year within 2), and
// answers with the one patient that matches and their visits, or says none or too many do
// (it never guesses between two people). To link, it sends a one-time code to the mobile it
// holds for the patient (not one the request names), and once the patient gives the code back
// it writes the patient's ABHA address onto the Patient record, which is what the consent gate
// matches artefacts on. All reads and the write go through the record store as this node,
// logged like any other. When a linked patient has a new visit, the HIP tells the CM.
// Thread-safety: safe from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "consent/hip_consents.h"
#include "consent/one_time_codes.h"
#include "exchange/patient_links.h"
#include "fhir/resource_service.h"
#include "vault/sealed_documents.h"

namespace kavach::exchange {

// What the CM tells a HIP about the patient it looks for.
struct PatientQuery {
  std::string abha_address;
  std::string abha_number;  // digits only, "" when not given
  std::string mobile;       // digits only, "" when not given
  std::string name;
  std::string gender;  // M, F, O or U
  int year_of_birth = 0;
};

// The patient of a care-contexts/discover message ({id, verifiedIdentifiers, name, gender,
// yearOfBirth}); kInvalidArgument naming the field at fault.
Result<PatientQuery> parse_patient_query(const boost::json::object& patient);

// The demographic part of ABDM's match: a similar name (each part of the shorter name spelled
// alike, after folding common transliteration variants, up to a typo), the same gender (U matches
// any), a year of birth within 2. `patient` is a FHIR Patient.
bool demographics_match(const PatientQuery& query, const boost::json::object& patient);

class HipLinks {
 public:
  HipLinks(consent::HipConsents& consents, fhir::ResourceService& resources,
           vault::SealedDocuments& documents, consent::OneTimeCodes& codes, std::string cm_id,
           std::string hip_name)
      : consents_(consents),
        resources_(resources),
        documents_(documents),
        codes_(codes),
        cm_id_(std::move(cm_id)),
        hip_name_(std::move(hip_name)) {}

  void on_messages_queued(std::function<void()> wake) { wake_outbox_ = std::move(wake); }

  // care-contexts/discover, links/link/init and links/link/confirm from the CM (signed by it);
  // each answers through the outbox. kUnauthenticated when not the CM's.
  Status discover(const boost::json::object& body, std::string_view signature);
  Status link_init(const boost::json::object& body, std::string_view signature);
  Status link_confirm(const boost::json::object& body, std::string_view signature);
  // HIP-initiated linking of new visits: tells the CM (links/context/notify) of each Encounter
  // created since the last pass for a patient whose record carries an ABHA address (a linked
  // patient), following the store's change feed from a stored position, so a restart neither
  // skips nor repeats a visit. Returns how many the CM was told of.
  Result<std::size_t> notify_new_contexts(std::size_t batch = 200);
  // HIP-initiated linking (links/link/add-contexts): proposes to the CM to link every visit of
  // `patient_id`, whose record must carry the patient's ABHA address; the patient accepts it at
  // the CM. kFailedPrecondition when the record carries no ABHA address.
  Status propose_links(std::string_view patient_id);
  // on-add-contexts from the CM, signed by it.
  Status proposal_answered(const boost::json::object& body, std::string_view signature);

 private:
  Result<std::vector<std::pair<std::string, std::string>>> candidates(const PatientQuery& query);
  Result<std::vector<CareContextEntry>> visits_of(const std::string& patient_id);
  Status answer(std::string_view path, boost::json::object body);

  consent::HipConsents& consents_;
  fhir::ResourceService& resources_;
  vault::SealedDocuments& documents_;
  consent::OneTimeCodes& codes_;
  const std::string cm_id_;
  const std::string hip_name_;
  std::function<void()> wake_outbox_;
  std::mutex notify_mutex_;  // one pass over the change feed at a time
};

}  // namespace kavach::exchange
