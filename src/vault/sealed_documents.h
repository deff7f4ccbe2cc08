// SealedDocuments: the node's own records (accounts, registries, consents, outbox messages) kept
// as JSON documents in the record store, sealed and versioned exactly like FHIR resources.
//
// Each document is a record of an internal type (named with a leading '_', which no FHIR type has,
// so the FHIR API can never reach one), sealed under its partition's data key: a patient's
// documents are erased with the patient's key. Writes are prepared here and committed by the
// caller, so a document, its index entries and its audit entry land in one atomic batch, and the
// store's optimistic versioning turns every read-modify-write into a compare-and-swap.
// Searchable values are indexed through blind indexes (keyed hashes), never in plaintext.
// Thread-safety: safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "common/clock.h"
#include "common/error.h"
#include "store/store.h"
#include "vault/record_sealer.h"

namespace kavach::vault {

struct Document {
  std::string type;
  std::string id;
  std::string partition;     // the patient it belongs to, "" for node-wide documents
  std::int64_t version = 0;  // 0 before it is first stored
  std::int64_t recorded_at_ms = 0;
  boost::json::object body;
};

// A value to index: blind (a keyed hash of the value) unless `plain` says the value carries no
// identifying meaning (a status, a facility id).
struct DocumentIndexValue {
  std::string name;
  std::string value;
  bool plain = false;
};

class SealedDocuments {
 public:
  SealedDocuments(store::Store& store, RecordSealer& sealer, const Clock& clock)
      : store_(store), sealer_(sealer), clock_(clock) {}

  // The current version; nullopt when absent or deleted.
  Result<std::optional<Document>> read(std::string_view type, std::string_view id);
  // The write of `document` as version + 1, expecting `document.version` to be current; updates
  // `document.version` and `recorded_at_ms` to what will be stored. Commits nothing.
  Result<store::RecordWrite> prepare(Document& document,
                                     const std::vector<DocumentIndexValue>& index);
  // prepare() and commit, with `also` (audit entries, other writes) in the same batch.
  // kConflict when another writer changed the document first.
  Status write(Document& document, const std::vector<DocumentIndexValue>& index,
               store::WriteBatch also = {});
  // Ids of live documents of `type` indexed with (name, value), in id order, after `after_id`.
  Result<std::vector<std::string>> find(std::string_view type, const DocumentIndexValue& value,
                                        std::size_t limit, std::string_view after_id = {});
  // find() and read() of each match.
  Result<std::vector<Document>> find_documents(std::string_view type,
                                               const DocumentIndexValue& value, std::size_t limit,
                                               std::string_view after_id = {});

  store::Store& store() { return store_; }
  const Clock& clock() const { return clock_; }

 private:
  Result<store::IndexEntry> index_entry(std::string_view type, const DocumentIndexValue& value);

  store::Store& store_;
  RecordSealer& sealer_;
  const Clock& clock_;
};

}  // namespace kavach::vault
