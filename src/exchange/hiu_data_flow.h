// HiuDataFlow: a user node's (HIU's) part in the data flow, and its keeping of what it receives.
//
// A professional asks for the records under an artefact granted to them. The HIU fetches the
// artefact from the CM and checks its signature and that it names this professional, makes a
// fresh Fidelius key pair and nonce for the request, and asks the CM
// (health-information/cm/request, signed with this node's key) to have the HIP push to this
// node. Pages pushed by the HIP are decrypted, their MD5 checksums checked, and each document
// Bundle is stored sealed under a data key of its own consent ("hiu.<consent id>"), as is the
// request's private key; a page that arrives twice is acknowledged and dropped. A `link` entry is
// fetched only from under the HIP's registered URL (which the CM names), so a page cannot make
// this node fetch anything else. When all pages are
// in, the HIU tells the CM (notify, TRANSFERRED); a HIP's FAILED notice, passed on by the CM, marks
// the request failed with the care contexts that did not arrive.
//
// Only the professional the artefact names sees the records, each view logged, and only while the
// consent stands. A sweeper (which resumes after a restart, since it works from stored state)
// erases a consent's data at dataEraseAt or as soon as the consent is revoked or expires, by
// destroying its data key (crypto-shredding), and logs the erasure.
// Thread-safety: safe from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "common/clock.h"
#include "consent/hiu_consents.h"
#include "exchange/peer_messages.h"
#include "vault/key_vault.h"
#include "vault/sealed_documents.h"

namespace kavach::exchange {

inline constexpr std::string_view kHiuArtefactType = "_HiuArtefact";
inline constexpr std::string_view kHiuTransferType = "_HiuTransfer";
inline constexpr std::string_view kHiuTransferKeyType = "_HiuTransferKey";
inline constexpr std::string_view kHiuBundleType = "_HiuBundle";
inline constexpr std::size_t kHiuBundlesListedMax = 1000;

// Fetches the ciphertext behind a link entry (an HTTP GET); kUnavailable when it cannot.
using LinkFetch = std::function<Result<std::string>(const std::string& url)>;
// The ciphertext behind a page's `link` entry, fetched only from under the HIP's registered URL
// (`hip_url`), so a page cannot make a node fetch anything else; kInvalidArgument for a link
// elsewhere, kUnavailable when the fetch fails.
Result<std::string> fetch_link_entry(const LinkFetch& fetch, std::string_view link,
                                     std::string_view hip_url);

struct HiuDataFlowOptions {
  std::string hiu_id;
  std::string cm_id;
  std::string push_url;  // this node's health-information/transfer URL, as registered at the CM
  std::chrono::minutes key_lifetime{60};
  std::size_t sweep_batch = 200;
};

struct HiuTransfer {
  std::string transaction_id;
  std::string consent_id;
  std::string hip_id;
  std::string status;  // REQUESTED, RECEIVED or FAILED
  std::int64_t pages_received = 0;
  std::int64_t page_count = 0;  // 0 until the first page (or the HIP's notice) says
  std::string detail;           // why it failed
};

struct ReceivedDocument {
  std::string care_context;
  std::string transaction_id;
  boost::json::object bundle;
};

struct ReceivedRecords {
  std::string consent_id;
  std::string hip_id;
  std::int64_t erase_at_ms = 0;
  std::vector<HiuTransfer> transfers;
  std::vector<ReceivedDocument> documents;
};

class HiuDataFlow {
 public:
  HiuDataFlow(vault::SealedDocuments& documents, vault::KeyVault& keys,
              consent::HiuConsents& consents, PeerCall cm, LinkFetch fetch_link, const Clock& clock,
              HiuDataFlowOptions options)
      : documents_(documents),
        keys_(keys),
        consents_(consents),
        cm_(std::move(cm)),
        fetch_link_(std::move(fetch_link)),
        clock_(clock),
        options_(std::move(options)) {}

  void on_messages_queued(std::function<void()> wake) { wake_outbox_ = std::move(wake); }

  // `professional` (their registration number) asks for the records under `consent_id`.
  // kPermissionDenied when the artefact names someone else or no longer stands; the CM's
  // refusals come back as they are.
  Result<HiuTransfer> request(std::string_view client_id, std::string_view professional,
                              std::string_view consent_id);
  // A page pushed to health-information/transfer. kNotFound for a transaction this node did not
  // start (or not yet recorded: the HIP retries); kFailedPrecondition when it was erased or
  // failed; kInvalidArgument when it does not decrypt or its checksum is wrong.
  Status receive_page(const boost::json::object& body);
  // hiu/on-request and hiu/notify from the CM, signed by it.
  Status receive_cm_message(const boost::json::object& body, std::string_view signature);
  // What `professional` may see under `consent_id`; each document's view is logged.
  Result<ReceivedRecords> records(std::string_view client_id, std::string_view professional,
                                  std::string_view consent_id);
  // Erases the data of consents past dataEraseAt, revoked or expired; returns how many.
  Result<std::size_t> sweep();

 private:
  Result<std::vector<HiuTransfer>> transfers_of(std::string_view consent_id);
  Status erase(vault::Document& artefact, std::string_view why);
  Status commit(store::WriteBatch batch);

  vault::SealedDocuments& documents_;
  vault::KeyVault& keys_;
  consent::HiuConsents& consents_;
  PeerCall cm_;
  LinkFetch fetch_link_;
  const Clock& clock_;
  const HiuDataFlowOptions options_;
  std::function<void()> wake_outbox_;
};

// The partition (and so the data key) of what an HIU received under a consent.
std::string received_data_partition(std::string_view consent_id);

}  // namespace kavach::exchange
