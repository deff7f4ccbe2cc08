// PatientLinks: the consent manager's part in discovery and linking (ABDM care-contexts/discover,
// links/link/init and confirm, and their on-* answers).
//
// A patient asks the CM to look for their records at a HIP. The CM sends the HIP what it knows of
// them (ABHA address and number and mobile as verified identifiers, name, gender, year of birth),
// and the HIP answers with the one patient that matches and its care contexts (visits). The
// patient picks the visits to link; the HIP sends a one-time code to the mobile it holds for the
// patient, and the patient gives the code back through the CM. Once the HIP confirms, the CM keeps
// the index of which HIP holds which of the patient's care contexts, never clinical data; the
// patient sees it and chooses from it when granting consent. A HIP can add a new visit to a linked
// patient (links/context/notify), and propose links itself (links/link/add-contexts), which wait
// until the patient accepts them.
//
// Every step is a message through the signed outbox, answered later; the patient polls the
// discovery for its state. Discoveries and links are sealed under the patient's key.
// Thread-safety: safe from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "common/clock.h"
#include "consent/facility_registry.h"
#include "consent/patient_accounts.h"
#include "vault/sealed_documents.h"

namespace kavach::exchange {

inline constexpr std::string_view kDiscoveryType = "_Discovery";
inline constexpr std::string_view kLinkedCareContextsType = "_LinkedCareContexts";
inline constexpr std::string_view kDiscoverPath = "/v0.5/care-contexts/discover";
inline constexpr std::string_view kOnDiscoverPath = "/v0.5/care-contexts/on-discover";
inline constexpr std::string_view kLinkInitPath = "/v0.5/links/link/init";
inline constexpr std::string_view kOnLinkInitPath = "/v0.5/links/link/on-init";
inline constexpr std::string_view kLinkConfirmPath = "/v0.5/links/link/confirm";
inline constexpr std::string_view kOnLinkConfirmPath = "/v0.5/links/link/on-confirm";
inline constexpr std::string_view kContextNotifyPath = "/v0.5/links/context/notify";
inline constexpr std::string_view kAddContextsPath = "/v0.5/links/link/add-contexts";
inline constexpr std::string_view kOnAddContextsPath = "/v0.5/links/link/on-add-contexts";
inline constexpr std::size_t kCareContextsMax = 500;

struct CareContextEntry {
  std::string reference;
  std::string display;
};

struct Discovery {
  std::string id;  // the transaction id
  std::string hip_id;
  // DISCOVERING, FOUND, NOT_FOUND, LINKING, AWAITING_CODE, CONFIRMING, LINKED or FAILED; or
  // PROPOSED, for links a HIP proposed
  std::string status;
  std::string patient_reference;
  std::string display;
  std::vector<CareContextEntry> care_contexts;
  std::vector<std::string> matched_by;
  std::string code_hint;  // where the HIP sent the code ("XXXXXX3210")
  std::string error;
};

struct LinkedHip {
  std::string hip_id;
  std::string hip_name;
  std::string patient_reference;
  std::string display;
  std::vector<CareContextEntry> care_contexts;
};

class PatientLinks {
 public:
  PatientLinks(vault::SealedDocuments& documents, consent::PatientAccounts& accounts,
               consent::FacilityRegistry& registry, const Clock& clock)
      : documents_(documents), accounts_(accounts), registry_(registry), clock_(clock) {}

  void on_messages_queued(std::function<void()> wake) { wake_outbox_ = std::move(wake); }

  // --- The patient's side (`caller` acts for `abha_number`). ---
  Result<Discovery> discover(const consent::PatientSession& caller, std::string_view abha_number,
                             std::string_view hip_id);
  Result<Discovery> discovery(const consent::PatientSession& caller, std::string_view abha_number,
                              std::string_view id);
  // Asks the HIP to link `references` (a subset of what it found); it sends a code.
  Result<Discovery> link(const consent::PatientSession& caller, std::string_view abha_number,
                         std::string_view id, const std::vector<std::string>& references);
  Result<Discovery> confirm(const consent::PatientSession& caller, std::string_view abha_number,
                            std::string_view id, std::string_view code);
  Result<std::vector<LinkedHip>> links(const consent::PatientSession& caller,
                                       std::string_view abha_number);
  // HIP-initiated linking: the visits a HIP proposed to link (links/link/add-contexts) wait for
  // the patient, who accepts them here (in place of ABDM's link token from users/auth).
  Result<std::vector<Discovery>> proposals(const consent::PatientSession& caller,
                                           std::string_view abha_number);
  Result<Discovery> accept(const consent::PatientSession& caller, std::string_view abha_number,
                           std::string_view id);
  // The ABHA address the HIPs know the patient `caller` acts for by.
  Result<std::string> subject(const consent::PatientSession& caller, std::string_view abha_number);

  // --- The HIP's answers (`hip_id` is the authenticated facility). ---
  Status on_discover(std::string_view hip_id, const boost::json::object& body);
  Status on_link_init(std::string_view hip_id, const boost::json::object& body);
  Status on_link_confirm(std::string_view hip_id, const boost::json::object& body);
  Status context_notify(std::string_view hip_id, const boost::json::object& body);
  // links/link/add-contexts: a proposal, kept for the patient to accept; answered on-add-contexts.
  Status propose(std::string_view hip_id, const boost::json::object& body);

 private:
  Result<std::pair<consent::Account, vault::Document>> patient_discovery(
      const consent::PatientSession& caller, std::string_view abha_number, std::string_view id);
  Result<vault::Document> hip_discovery(std::string_view hip_id, std::string_view id);
  Status save_link(const vault::Document& discovery, const boost::json::object& patient,
                   store::WriteBatch& batch);
  Status commit(store::WriteBatch batch);

  vault::SealedDocuments& documents_;
  consent::PatientAccounts& accounts_;
  consent::FacilityRegistry& registry_;
  const Clock& clock_;
  std::function<void()> wake_outbox_;
};

// ABDM's care-context list [{referenceNumber, display}], strictly.
Result<std::vector<CareContextEntry>> parse_care_contexts(const boost::json::value& value,
                                                          std::string_view where);
boost::json::array care_contexts_to_json(const std::vector<CareContextEntry>& contexts);

}  // namespace kavach::exchange
