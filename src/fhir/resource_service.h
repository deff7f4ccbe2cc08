// ResourceService: the record store of a provider node (HIP), over FHIR R4 JSON.
//
// Every interaction checks the caller's SMART scopes here, in the domain, so no HTTP handler can
// skip the check, and lands in the audit log: a write's entry commits in the same batch as the
// write; a read's entry is durable before the record is returned; a refusal is logged with the
// patient it concerned. Entries name the record and the SHA-256 of its sealed payload, never its
// content. Each write appends a new version (history is never rewritten; delete writes a
// tombstone), seals the resource under its patient's data key and replaces its blind-index entries
// in the same atomic batch. Reads open and authenticate the sealed payload before returning it.
//
// This is the foundation's slice of the FHIR API: create, read, vread, update (with If-Match),
// delete, history and equality search on indexed parameters. Validation against the R4
// StructureDefinitions, conditional interactions, bundles and the full search grammar follow.
//
// Thread-safety: safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "audit/audit_entry.h"
#include "auth/token_service.h"
#include "common/clock.h"
#include "common/error.h"
#include "store/store.h"
#include "vault/record_sealer.h"

namespace kavach::fhir {

struct StoredResource {
  std::string type;
  std::string id;
  std::int64_t version = 0;
  std::int64_t last_updated_ms = 0;
  bool deleted = false;
  std::string json;  // the resource with id and meta filled in; empty for a tombstone
};

struct SearchRequest {
  std::string type;
  std::vector<std::pair<std::string, std::string>> parameters;  // name, value (all must match)
  std::size_t count = 20;
  std::string after_id;  // cursor for the next page
};

struct SearchPage {
  std::vector<StoredResource> resources;
  std::string next_after_id;  // empty on the last page
};

class ResourceService {
 public:
  ResourceService(store::Store& store, vault::RecordSealer& sealer, const Clock& clock)
      : store_(store), sealer_(sealer), clock_(clock) {}

  Result<StoredResource> create(const auth::AccessToken& caller, std::string_view type,
                                std::string_view body);
  Result<StoredResource> read(const auth::AccessToken& caller, std::string_view type,
                              std::string_view id);
  Result<StoredResource> vread(const auth::AccessToken& caller, std::string_view type,
                               std::string_view id, std::int64_t version);
  // if_match: the version the caller last saw; a stale one is kFailedPrecondition.
  Result<StoredResource> update(const auth::AccessToken& caller, std::string_view type,
                                std::string_view id, std::string_view body,
                                std::optional<std::int64_t> if_match);
  Result<StoredResource> remove(const auth::AccessToken& caller, std::string_view type,
                                std::string_view id);
  Result<std::vector<StoredResource>> history(const auth::AccessToken& caller,
                                              std::string_view type, std::string_view id,
                                              std::size_t count);
  Result<SearchPage> search(const auth::AccessToken& caller, const SearchRequest& request);

 private:
  Result<StoredResource> write_version(const auth::AccessToken& caller, audit::Action action,
                                       std::string_view type, std::string_view id,
                                       std::int64_t version, std::string_view body);
  Result<StoredResource> open(const store::RecordVersion& record);
  // Opens `record` for the caller and logs the access durably before returning it.
  Result<StoredResource> open_logged(const auth::AccessToken& caller, audit::Action action,
                                     const store::RecordVersion& record);
  // Checks the caller's scope; a refusal is logged, naming the record's patient when it exists.
  Status authorise(const auth::AccessToken& caller, std::string_view type, std::string_view id,
                   auth::Interaction interaction, audit::Action action, std::string_view verb);
  audit::AuditEntry entry_for(const auth::AccessToken& caller, audit::Action action) const;

  store::Store& store_;
  vault::RecordSealer& sealer_;
  const Clock& clock_;
};

}  // namespace kavach::fhir
