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
// The FHIR API: create, read, vread, update (with If-Match), JSON Patch, delete, history,
// conditional create/update/delete, transaction and batch Bundles, and search (search_query.h for
// the grammar; the search itself is in resource_search.cc). Every write is validated against the R4
// StructureDefinitions first (validator.h).
//
// Thread-safety: safe from any thread.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "audit/audit_entry.h"
#include "auth/token_service.h"
#include "common/clock.h"
#include "common/error.h"
#include "fhir/record_gate.h"
#include "fhir/search_query.h"
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

using SearchParameters = QueryParameters;

// A search by plain criteria, for the node's own services (the full grammar is accepted).
struct SearchRequest {
  std::string type;
  SearchParameters parameters;  // name, value (all must match)
  std::size_t count = 20;
  std::string after_id;  // cursor for the next page
};

struct SearchPage {
  std::vector<StoredResource> resources;
  std::string next_after_id;  // empty on the last page
};

// What a bulk export takes (FHIR Bulk Data Access: system, Patient and Group level).
struct ExportSelection {
  std::string type;
  // Only records in these patients' compartments; all patients' when `every_patient`; every
  // record of the type when neither (a system-level export).
  bool every_patient = false;
  std::vector<std::string> patients;  // sorted
  std::int64_t since_ms = 0;          // _since: only records changed at or after
  std::int64_t as_of_ms = 0;          // the export's transaction time: versions current then
};

struct SearchResult {
  std::vector<StoredResource> matches;
  std::vector<StoredResource> included;  // by _include and _revinclude, each once
  std::string next_cursor;               // the _cursor of the next page; empty on the last
  std::optional<std::size_t> total;      // with _total or _summary=count, when counted
};

struct HistoryPage {
  std::vector<StoredResource> versions;  // newest first, tombstones included
  std::int64_t next_before = 0;          // cursor for the next page; 0 on the last
};

// A version ready to commit: the sealed, indexed record, its audit entry, and the resource as
// the caller will see it.
struct PreparedWrite {
  store::RecordWrite write;
  audit::AuditEntry audit;
  StoredResource resource;
};

// A create whose commit is queued: the resource as it is once the commit is durable, and the
// ticket that says when (or that it failed). Nothing may be answered from it before then.
struct QueuedCreate {
  StoredResource resource;
  store::CommitTicket durable;
};

// The outcome of a conditional create or update: the resource, and whether it was created.
struct ConditionalOutcome {
  StoredResource resource;
  bool created = false;
};

inline constexpr std::size_t kBundleEntriesMax = 5000;

// One entry of a transaction or batch Bundle, as parsed.
struct BundleEntryRequest {
  std::string method;  // GET, POST, PUT, DELETE
  std::string type;
  std::string id;     // for Type/id
  std::string query;  // for Type?criteria
  std::string if_none_exist;
  std::optional<std::int64_t> if_match;
  std::string full_url;
  const boost::json::object* resource = nullptr;  // into the parsed Bundle
  std::optional<Error> invalid;                   // a batch entry that could not be parsed
};

// What happened to one entry: kFailed (with the error) only in a batch.
struct BundleEntryOutcome {
  enum class Kind { kCreated, kUpdated, kMatched, kRead, kDeleted, kNothing, kFailed };
  Kind kind = Kind::kNothing;
  std::optional<StoredResource> resource;
  std::optional<Error> error;
};

struct BundleOutcome {
  bool transaction = false;
  std::vector<BundleEntryOutcome> entries;  // in the Bundle's order
};

// Search parameters from a query string ("identifier=sys|v&status=final"), percent-decoded; as
// they come in If-None-Exist, conditional URLs and conditional references.
SearchParameters search_criteria(std::string_view query);

// A version number (a positive integer), as in vread URLs, _count and paging cursors.
std::optional<std::int64_t> parse_version(std::string_view text);
// An If-Match (or Bundle ifMatch) ETag: W/"3", or a plain "3".
std::optional<std::int64_t> parse_etag(std::string_view etag);

// A new server-assigned id: 32 hex digits, the creation time in milliseconds (`now_ms`, from the
// service's clock) then 80 random bits, so ids sort in creation order (the indexes keyed by id
// grow at one end) and stay unguessable.
std::string new_resource_id(std::int64_t now_ms);

class ResourceService {
 public:
  ResourceService(store::Store& store, vault::RecordSealer& sealer, const Clock& clock)
      : store_(store), sealer_(sealer), clock_(clock) {}

  // Enables reads under a consent (callers with a consent_id); without a gate they are refused.
  // Set before serving.
  void set_record_gate(RecordGate* gate) { gate_ = gate; }
  // Sees the content of every rewrite (an update or patch of an existing record) before it is
  // sealed, with the writing client's id; an error refuses the write. The anomaly guard's
  // ciphertext check (guard/access_guard.h). Set before serving.
  using RewriteInspector = std::function<Status(std::string_view principal, std::string_view type,
                                                std::string_view json)>;
  void set_rewrite_inspector(RewriteInspector inspector) {
    rewrite_inspector_ = std::move(inspector);
  }

  Result<StoredResource> create(const auth::AccessToken& caller, std::string_view type,
                                std::string_view body);
  // The same create with its commit queued rather than waited for, so the calling thread is free
  // while the commit is made durable (the HTTP layer holds the answer until then:
  // http::Response::durable_first). A create that must also make the data key of another
  // record's patient (a race another request may win, which create() retries) is committed
  // before this returns, as create() does.
  Result<QueuedCreate> create_queued(const auth::AccessToken& caller, std::string_view type,
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
  // A search (search_query.h). Every returned or included record matches the query exactly (by
  // the check, or by an index that decides it), is checked against the caller's scopes or, under
  // a consent, by the gate, and is logged; under a consent the query must name the patient. The
  // total counts only what the caller may see.
  Result<SearchResult> search(const auth::AccessToken& caller, const SearchQuery& query);
  Result<SearchPage> search(const auth::AccessToken& caller, const SearchRequest& request);
  // Type-level history: every version of every `type` record, newest first, before the cursor.
  Result<HistoryPage> type_history(const auth::AccessToken& caller, std::string_view type,
                                   std::int64_t before, std::size_t count);
  // Patient/{id}/$everything: the patient and the current version of every record in their
  // compartment that the caller's scopes let it read, in (type, id) order, after the cursor
  // ("Type/id", empty for the start).
  Result<SearchPage> everything(const auth::AccessToken& caller, std::string_view patient_id,
                                std::string_view after, std::size_t count);

  // Conditional interactions (FHIR R4 3.1.0.8-3.1.0.9). `criteria` are search parameters; they
  // need the search scope too, since the answer tells whether a match exists. Several matches
  // are kFailedPrecondition (412). Two concurrent conditional creates may both create.
  // POST with If-None-Exist: creates, or returns the one match (created = false).
  Result<ConditionalOutcome> create_if_none_exist(const auth::AccessToken& caller,
                                                  std::string_view type, std::string_view body,
                                                  const SearchParameters& criteria);
  // PUT /type?criteria: updates the one match, or creates (with the body's id, if it has one).
  Result<ConditionalOutcome> update_where(const auth::AccessToken& caller, std::string_view type,
                                          const SearchParameters& criteria, std::string_view body);
  // DELETE /type?criteria: deletes the one match; nullopt when nothing matches.
  Result<std::optional<StoredResource>> remove_where(const auth::AccessToken& caller,
                                                     std::string_view type,
                                                     const SearchParameters& criteria);
  // POST /fhir/R4: a transaction Bundle (every entry or none, in one commit; references to other
  // entries by fullUrl and conditional references Type?criteria are resolved) or a batch Bundle
  // (each entry on its own, failures reported per entry).
  Result<BundleOutcome> process_bundle(const auth::AccessToken& caller, std::string_view body);

  // Bulk export (bulk_export.cc). May `caller` export records of `type`? Read on the type, and
  // not under a consent.
  Status export_allowed(const auth::AccessToken& caller, std::string_view type);
  // The ids of the records
  // the selection exports, after `after` in id order, at most `limit`; nothing is opened.
  Result<std::vector<std::string>> export_ids(const auth::AccessToken& caller,
                                              const ExportSelection& selection,
                                              const std::string& after, std::size_t limit);
  // The records `ids` as they were at selection.as_of_ms, one JSON resource per line (NDJSON),
  // each logged as record.export before the text is returned.
  Result<std::string> export_ndjson(const auth::AccessToken& caller,
                                    const ExportSelection& selection,
                                    const std::vector<std::string>& ids);
  // The Patient members of Group/{id} (a Group/{id}/$export), as ids; the caller reads the Group.
  Result<std::vector<std::string>> group_patients(const auth::AccessToken& caller,
                                                  std::string_view group_id);

  // PATCH with a JSON Patch (RFC 6902) applied to the current version; `if_match` as update().
  Result<StoredResource> patch(const auth::AccessToken& caller, std::string_view type,
                               std::string_view id, std::string_view json_patch,
                               std::optional<std::int64_t> if_match);

 private:
  Result<StoredResource> write_version(const auth::AccessToken& caller, audit::Action action,
                                       std::string_view type, std::string_view id,
                                       std::int64_t version, std::string_view body);
  Result<StoredResource> open(const store::RecordVersion& record);
  // The same within a request that opens many records (vault::OpenedKeys).
  Result<StoredResource> open(const store::RecordVersion& record, vault::OpenedKeys& opened);
  // The current version of (type, id): kNotFound when it never existed, kGone when deleted.
  Result<store::RecordVersion> read_live(std::string_view type, std::string_view id);
  // A tombstone version after `current`; commits nothing.
  Result<PreparedWrite> prepare_tombstone(const auth::AccessToken& caller,
                                          const store::RecordVersion& current);
  // "Type/id" for a conditional reference "Type?criteria" with exactly one match; nullopt for
  // any other reference; kFailedPrecondition when nothing or several match.
  Result<std::optional<std::string>> resolve_conditional_reference(const auth::AccessToken& caller,
                                                                   std::string_view reference);
  BundleEntryOutcome run_batch_entry(const auth::AccessToken& caller,
                                     const BundleEntryRequest& request);
  Result<BundleOutcome> run_batch(const auth::AccessToken& caller,
                                  const std::vector<BundleEntryRequest>& requests);
  Result<BundleOutcome> run_transaction(const auth::AccessToken& caller,
                                        const std::vector<BundleEntryRequest>& requests);
  // Whether a write that failed with `error` at its `attempt`-th try lost a race to store a
  // partition's first data key (vault::KeysToCreate): it is then prepared once more, under the
  // stored key. A commit reports kAlreadyExists for nothing else.
  static bool lost_key_race(const Error& error, int attempt) {
    return error.code == ErrorCode::kAlreadyExists && attempt == 1;
  }
  Result<BundleOutcome> try_transaction(const auth::AccessToken& caller,
                                        const std::vector<BundleEntryRequest>& requests);
  struct PlannedEntry;
  Result<PlannedEntry> plan_transaction_entry(const auth::AccessToken& caller,
                                              const BundleEntryRequest& request, std::size_t index);
  // Stamps id and meta on `resource`, seals and indexes it as `version`; commits nothing.
  // A partition without a data key yet gets one in `batch_keys`, to commit with the version.
  Result<PreparedWrite> prepare_version(const auth::AccessToken& caller, audit::Action action,
                                        std::string_view type, std::string_view id,
                                        std::int64_t version, boost::json::object resource,
                                        vault::KeysToCreate& batch_keys);
  // Opens `record` for the caller and logs the access durably before returning it. Under a
  // consent, a record outside the grant is refused as not found (nothing is hinted at) and the
  // refusal is logged with the patient it concerned.
  Result<StoredResource> open_logged(const auth::AccessToken& caller, audit::Action action,
                                     const store::RecordVersion& record,
                                     const RecordGrant* grant = nullptr);
  // The grant of a caller reading under a consent; null for a caller reading under scopes.
  // Failures are logged as refusals of `action` on (type, id).
  Result<std::unique_ptr<RecordGrant>> consent_grant(const auth::AccessToken& caller,
                                                     audit::Action action, std::string_view type,
                                                     std::string_view id);
  // True when the opened record may go to the caller: always under scopes; under a consent, when
  // the gate allows it.
  Result<bool> released(const RecordGrant* grant, const store::RecordVersion& record,
                        const StoredResource& resource);
  // Checks the caller's scope; a refusal is logged, naming the record's patient when it exists.
  Status authorise(const auth::AccessToken& caller, std::string_view type, std::string_view id,
                   auth::Interaction interaction, audit::Action action, std::string_view verb);
  audit::AuditEntry entry_for(const auth::AccessToken& caller, audit::Action action,
                              const RecordGrant* grant = nullptr) const;
  // An audit entry for `caller`'s `action` on `record`.
  audit::AuditEntry access_entry(const auth::AccessToken& caller, audit::Action action,
                                 const RecordGrant* grant,
                                 const store::RecordVersion& record) const;

  // The version of (type, id) current at `as_of_ms`; nullopt when it did not exist or was
  // deleted then.
  Result<std::optional<store::RecordVersion>> version_as_of(const std::string& type,
                                                            const std::string& id,
                                                            std::int64_t as_of_ms);

  // Search (resource_search.cc).
  // Where candidate ids come from: a fixed list (from _id), the records carrying any of a set of
  // index values under one name, or the records last written within a span of time (from
  // _lastUpdated, or all of time when nothing else selects).
  struct CandidateSource {
    enum class Kind { kIds, kIndex, kRecorded };
    Kind kind = Kind::kRecorded;
    std::string type;
    std::vector<std::string> ids;      // kIds: sorted, without repeats
    std::string name;                  // kIndex
    std::vector<store::Bytes> values;  // kIndex
    store::RecordedRange recorded;     // kRecorded
    // kIndex: the index answers the search's only predicate exactly (a reference, looked up under
    // its own name, with no modifier), so a candidate the index was read for needs no check.
    bool exact = false;
  };
  // A record that passed every predicate (and the grant), opened. `object` is its parsed form,
  // left empty when the index alone decided the match and the caller did not ask for it.
  struct SearchMatch {
    store::RecordVersion record;
    StoredResource resource;
    boost::json::object object;
  };
  // The index lookup (or list of ids) that proposes candidates for `predicates`, in id order.
  Result<CandidateSource> candidate_source(std::string_view type,
                                           const std::vector<SearchPredicate>& predicates);
  // The next candidate ids, with the position an index answer holds for (store::IndexMatches; 0
  // for the other sources).
  Result<store::IndexMatches> next_candidates(const CandidateSource& source,
                                              const std::string& after, std::size_t limit);
  // Opens `record` and checks it against every predicate and the grant; nullopt when it fails.
  // `matched_by_index`: the index has already decided the predicates (CandidateSource::exact, for
  // the version read), so without a grant the record is opened but neither parsed nor checked
  // again; a grant's gate still needs it parsed. The record moves into the match: copying its
  // sealed payload was about 1.4% of a search by subject.
  Result<std::optional<SearchMatch>> check_candidate(store::RecordVersion record,
                                                     const std::vector<SearchPredicate>& predicates,
                                                     const RecordGrant* grant,
                                                     vault::OpenedKeys& opened,
                                                     bool matched_by_index = false);
  // What a scan's visit needs of each match besides the record and its JSON.
  enum class MatchDetail { kRecord, kParsed };
  // Calls `visit` with each match after `after` in id order, until it returns false. `expected`
  // is how many matches the visit will likely take (0: no idea, or all of them); the first
  // candidates are looked up and read in that number rather than a whole read's worth. With
  // MatchDetail::kRecord a match's `object` may be left empty.
  Status scan_matches(std::string_view type, const std::vector<SearchPredicate>& predicates,
                      const RecordGrant* grant, std::string after, std::size_t expected,
                      MatchDetail detail, const std::function<bool(SearchMatch&&)>& visit);
  // The predicates with chains resolved into the references they select.
  Result<std::vector<SearchPredicate>> resolve_chains(const auth::AccessToken& caller,
                                                      const SearchQuery& query,
                                                      const RecordGrant* grant);
  // The records _include and _revinclude add to `page`, into result.included.
  Status add_includes(const auth::AccessToken& caller, const SearchQuery& query,
                      const RecordGrant* grant, const std::vector<SearchMatch>& page,
                      SearchResult& result, std::vector<audit::AuditEntry>& accesses);
  // One page of matches (and result's cursor and total), in sort order or in id order.
  Status page_sorted(const SearchQuery& query, const std::vector<SearchPredicate>& predicates,
                     const RecordGrant* grant, SearchResult& result,
                     std::vector<SearchMatch>& page);
  Status page_in_id_order(const SearchQuery& query, const std::vector<SearchPredicate>& predicates,
                          const RecordGrant* grant, SearchResult& result,
                          std::vector<SearchMatch>& page);
  // The id of the one resource matching `criteria`: nullopt for none, kFailedPrecondition for
  // several. The caller must hold `interaction` and search on `type`.
  Result<std::optional<std::string>> single_match(const auth::AccessToken& caller,
                                                  std::string_view type,
                                                  const SearchParameters& criteria,
                                                  auth::Interaction interaction,
                                                  audit::Action action, std::string_view verb);

  store::Store& store_;
  vault::RecordSealer& sealer_;
  const Clock& clock_;
  RecordGate* gate_ = nullptr;
  RewriteInspector rewrite_inspector_;
};

}  // namespace kavach::fhir
