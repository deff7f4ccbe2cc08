// HipDataFlow: a provider node's part in the data flow. The CM forwards an HIU's request
// (health-information/hip/request, signed by the CM); the HIP checks it against the artefact it
// holds and counts it against the consent's frequency (HipConsents::begin_data_request), reads the
// patient's records through the consent gate (so exactly what the artefact allows is read, and
// every read is logged), packs one FHIR document Bundle per care context and HI type
// (document_bundles.h), encrypts each for the HIU with Fidelius, a fresh key pair and nonce per
// page and one entry per page, and answers the CM (on-request) - all in one commit, so a request
// is either fully planned or not at all and the CM's outbox sends it again.
//
// The pages then go to the HIU's dataPushUrl one at a time, in order, from a durable queue: a
// page is marked sent only after the HIU answered 2xx, a failure is retried with backoff, a node
// that restarts resumes at the first unsent page, and the HIU drops a page it already has, so
// every page arrives exactly once. Before each page the consent is checked again: a revocation or
// expiry stops the transfer at once. When every page is delivered the HIP tells the CM
// (health-information/notify, TRANSFERRED, DELIVERED per care context); when it gives up, FAILED,
// naming the care contexts that were not delivered. Plaintext exists only in memory while a page
// is built; what waits to be pushed is the Fidelius ciphertext, sealed under the patient's key.
// A document too large for one message goes as a `link` entry, fetched with a one-time token.
// Thread-safety: safe from any thread; push_due() runs on one worker at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "common/clock.h"
#include "consent/consent_record_gate.h"
#include "consent/hip_consents.h"
#include "fhir/resource_service.h"
#include "vault/sealed_documents.h"

namespace kavach::exchange {

inline constexpr std::string_view kHipTransferType = "_HipTransfer";
inline constexpr std::string_view kHipTransferPageType = "_HipTransferPage";
inline constexpr std::string_view kHipLinkedContentType = "_HipLinkedContent";  // written once
inline constexpr std::string_view kHipLinkTokenType = "_HipLinkToken";          // armed or used
inline constexpr std::string_view kLinksPath = "/v0.5/health-information/links/";

// Posts one page; returns the HTTP status, or kUnavailable when the HIU cannot be reached.
using PushTransport = std::function<Result<int>(const std::string& url, const std::string& body)>;

struct HipDataFlowOptions {
  std::string cm_id;      // where acknowledgements and notices go (through the outbox)
  std::string base_url;   // this HIP's public URL, for the bundles' fullUrls
  std::string hip_name;   // the documents' author
  int attempts_max = 12;  // per page, before the transfer fails
  std::chrono::milliseconds first_backoff{500};
  std::chrono::milliseconds backoff_max{std::chrono::seconds(30)};
  std::size_t batch_max = 50;  // transfers looked at per pass
  // A document whose ciphertext is larger goes as a `link` entry: the HIU fetches it from
  // <base_url>/v0.5/health-information/links/<token> with a one-time token.
  std::size_t link_threshold_bytes = 4 * 1024 * 1024;
};

struct PushCounts {
  std::size_t pushed = 0;
  std::size_t retried = 0;
  std::size_t finished = 0;  // transferred or failed
};

class HipDataFlow {
 public:
  HipDataFlow(vault::SealedDocuments& documents, consent::HipConsents& consents,
              consent::ConsentRecordGate& gate, fhir::ResourceService& resources,
              PushTransport transport, const Clock& clock, HipDataFlowOptions options)
      : documents_(documents),
        consents_(consents),
        gate_(gate),
        resources_(resources),
        transport_(std::move(transport)),
        clock_(clock),
        options_(std::move(options)) {}

  // Called after each commit that queued outbox messages, and after each accepted request.
  void on_messages_queued(std::function<void()> wake) { wake_outbox_ = std::move(wake); }
  void on_pages_queued(std::function<void()> wake) { wake_pusher_ = std::move(wake); }

  // A hip/request from the CM. kUnauthenticated when it is not the CM's; a request the artefact
  // does not allow is answered to the CM (on-request with an error, then FAILED) and logged, and
  // is not an error here. A repeated transaction changes nothing.
  Status receive(const boost::json::object& body, std::string_view signature);
  // One pass over the transfers with a page due; what the worker runs, and what tests call.
  Result<PushCounts> push_due();
  // The ciphertext behind a link entry. The token works once; the HIP arms it again only when it
  // pushes the page again (the HIU did not acknowledge it). kNotFound otherwise.
  Result<std::string> linked_content(std::string_view token);

 private:
  struct Planned;
  Result<Planned> plan(const std::string& transaction_id, const std::string& hiu_id,
                       const consent::HeldConsent& held, const boost::json::object& hi_request);
  Status refuse(const std::string& request_id, const std::string& transaction_id,
                const std::string& consent_id, const std::string& hiu_id, const Error& why);
  Status push_next(vault::Document& transfer, PushCounts& counts);
  Status finish(vault::Document& transfer, bool transferred, const std::string& why);
  Status commit(store::WriteBatch batch);

  vault::SealedDocuments& documents_;
  consent::HipConsents& consents_;
  consent::ConsentRecordGate& gate_;
  fhir::ResourceService& resources_;
  PushTransport transport_;
  const Clock& clock_;
  const HipDataFlowOptions options_;
  std::function<void()> wake_outbox_;
  std::function<void()> wake_pusher_;
  std::mutex push_mutex_;  // one pass at a time
};

}  // namespace kavach::exchange
