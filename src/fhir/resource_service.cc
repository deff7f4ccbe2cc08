#include "fhir/resource_service.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "audit/audit_log.h"
#include "audit/merkle_tree.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/strict_json.h"
#include "common/time_format.h"
#include "crypto/encoding.h"
#include "crypto/public_random.h"
#include "fhir/json_patch.h"
#include "fhir/resource_types.h"
#include "fhir/search_index.h"
#include "fhir/validator.h"

namespace kavach::fhir {
namespace {

namespace json = boost::json;

void describe_record(audit::AuditEntry& entry, const store::RecordVersion& record) {
  entry.subject = record.partition;
  entry.resource_type = record.type;
  entry.resource_id = record.id;
  entry.resource_version = record.version;
  if (!record.payload.empty()) {
    const auto hash = vault::payload_digest(record);
    entry.content_hash.assign(hash.begin(), hash.end());
  }
}

Status check_type_and_id(std::string_view type, std::string_view id) {
  if (!is_supported_type(type)) {
    return make_error(ErrorCode::kNotFound, fmt::format("this server does not store {}", type));
  }
  if (!id.empty() && !is_valid_id(id)) {
    return make_error(ErrorCode::kInvalidArgument, "a resource id is 1 to 64 of [A-Za-z0-9-.]");
  }
  return {};
}

Result<json::object> parse_resource(std::string_view type, std::string_view body) {
  ASSIGN_OR_RETURN(json::value parsed, parse_strict_json(body, "the body"));
  if (!parsed.is_object()) {
    return make_error(ErrorCode::kInvalidArgument, "the body is not a FHIR resource object");
  }
  auto& object = parsed.get_object();
  const auto* resource_type = object.if_contains("resourceType");
  if (!resource_type || !resource_type->is_string() || resource_type->get_string() != type) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("resourceType must be \"{}\" at this endpoint", type));
  }
  return std::move(object);
}

}  // namespace

std::optional<std::int64_t> parse_version(std::string_view text) {
  std::int64_t version = 0;
  const auto parsed = std::from_chars(text.data(), text.data() + text.size(), version);
  if (parsed.ec != std::errc() || parsed.ptr != text.data() + text.size() || version < 1) {
    return std::nullopt;
  }
  return version;
}

std::optional<std::int64_t> parse_etag(std::string_view etag) {
  if (etag.starts_with("W/")) etag.remove_prefix(2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  return parse_version(etag);
}

std::string new_resource_id(std::int64_t now_ms) {
  // The creation time in milliseconds (48 bits), then 80 random bits, as in a version 7 UUID: the
  // ids a node assigns sort roughly in creation order, so a new record's entries in the indexes
  // keyed by id (records by version and by patient, the patient's data key and audit entries)
  // go to the last page of each rather than to a random one. With random ids every create wrote
  // several random pages; creates went from about 1,400/s to 3,500/s (bench/RESULTS.md,
  // session 11). The id tells when the resource was created, which its first version's
  // meta.lastUpdated tells anyone who can read it; 80 random bits keep it unguessable.
  std::array<std::uint8_t, 10> random{};
  crypto::fill_public_random(random);
  return fmt::format("{:012x}{}", now_ms & 0xffff'ffff'ffff, crypto::to_hex(random));
}

Result<StoredResource> ResourceService::open(const store::RecordVersion& record) {
  vault::OpenedKeys opened;
  return open(record, opened);
}

Result<StoredResource> ResourceService::open(const store::RecordVersion& record,
                                             vault::OpenedKeys& opened) {
  StoredResource resource{record.type,           record.id,      record.version,
                          record.recorded_at_ms, record.deleted, ""};
  if (record.deleted) return resource;
  ASSIGN_OR_RETURN(resource.json, sealer_.open(record, opened));
  return resource;
}

audit::AuditEntry ResourceService::entry_for(const auth::AccessToken& caller, audit::Action action,
                                             const RecordGrant* grant) const {
  audit::AuditEntry entry;
  entry.time_ms = unix_ms(clock_.now());
  entry.action = action;
  entry.basis = audit::Basis::kScope;
  entry.actor_kind = audit::ActorKind::kClient;
  entry.actor_id = caller.client_id;
  if (grant != nullptr) {
    // Emergency access is logged as such, so every read under it is flagged for review.
    entry.basis = grant->purpose() == "BTG" ? audit::Basis::kBreakGlass : audit::Basis::kConsent;
    entry.consent_id = grant->consent_id();
    entry.purpose = grant->purpose();
    entry.facility_id = grant->facility_id();
  } else if (!caller.consent_id.empty()) {
    entry.basis = audit::Basis::kConsent;
    entry.consent_id = caller.consent_id;
  }
  return entry;
}

namespace {

// Logs a refused access; `entry` already names what was asked for.
void log_refusal(store::Store& store, audit::AuditEntry entry, ErrorCode code) {
  entry.outcome = audit::Outcome::kDenied;
  entry.reason = std::string(error_code_name(code));
  if (auto logged = audit::record_entries(store, {&entry, 1}); !logged) {
    log::error("audit.refusal_not_logged", {{"error", logged.error().message}});
  }
}

// Names (type, id) in `entry` and, when the record exists, the patient it belongs to, so they see
// the attempt. For refusals made before the record was read.
audit::AuditEntry about(store::Store& store, audit::AuditEntry entry, std::string_view type,
                        std::string_view id) {
  entry.resource_type = std::string(type);
  entry.resource_id = std::string(id);
  if (!id.empty()) {
    if (auto record = store.read_current(std::string(type), std::string(id)); record && *record) {
      entry.subject = (*record)->partition;
    }
  }
  return entry;
}

// The refusal of a record already in hand: no second read to find its patient.
audit::AuditEntry about(audit::AuditEntry entry, const store::RecordVersion& record) {
  describe_record(entry, record);
  entry.content_hash.clear();
  return entry;
}

}  // namespace

Result<std::unique_ptr<RecordGrant>> ResourceService::consent_grant(const auth::AccessToken& caller,
                                                                    audit::Action action,
                                                                    std::string_view type,
                                                                    std::string_view id) {
  if (caller.consent_id.empty()) return std::unique_ptr<RecordGrant>();
  auto grant =
      gate_ != nullptr
          ? gate_->grant_for(caller)
          : Result<std::unique_ptr<RecordGrant>>(tl::unexpected(
                Error{ErrorCode::kPermissionDenied, "this node serves no records under consent"}));
  if (!grant)
    log_refusal(store_, about(store_, entry_for(caller, action), type, id), grant.error().code);
  return grant;
}

Result<bool> ResourceService::released(const RecordGrant* grant, const store::RecordVersion& record,
                                       const StoredResource& resource) {
  if (grant == nullptr) return true;
  if (record.deleted || gate_ == nullptr) return false;
  boost::system::error_code error;
  auto parsed = json::parse(resource.json, error);
  if (error || !parsed.is_object()) {
    return make_error(ErrorCode::kDataLoss, "a stored resource is not a JSON object");
  }
  return gate_->allows(*grant, record, parsed.as_object());
}

Status ResourceService::authorise(const auth::AccessToken& caller, std::string_view type,
                                  std::string_view id, auth::Interaction interaction,
                                  audit::Action action, std::string_view verb) {
  // A caller under a consent has no scopes here: the interactions that serve it check the grant
  // record by record and never come through this path, so anything that does is refused.
  if (caller.consent_id.empty() && caller.scopes.allows(type, interaction)) return {};
  // The answer to the caller stays 403 whether or not the record exists.
  log_refusal(store_, about(store_, entry_for(caller, action), type, id),
              ErrorCode::kPermissionDenied);
  if (!caller.consent_id.empty()) {
    return make_error(ErrorCode::kPermissionDenied,
                      fmt::format("a consent allows reading records, not to {} {}", verb, type));
  }
  return make_error(ErrorCode::kPermissionDenied,
                    fmt::format("the client's scopes do not allow it to {} {}", verb, type));
}

Result<StoredResource> ResourceService::open_logged(const auth::AccessToken& caller,
                                                    audit::Action action,
                                                    const store::RecordVersion& record,
                                                    const RecordGrant* grant) {
  ASSIGN_OR_RETURN(auto resource, open(record));
  ASSIGN_OR_RETURN(const bool allowed, released(grant, record, resource));
  if (!allowed) {
    log_refusal(store_, about(entry_for(caller, action, grant), record),
                ErrorCode::kPermissionDenied);
    return make_error(ErrorCode::kNotFound,
                      fmt::format("{}/{} is not known", record.type, record.id));
  }
  auto entry = entry_for(caller, action, grant);
  describe_record(entry, record);
  RETURN_IF_ERROR(audit::record_entries(store_, {&entry, 1}));
  return resource;
}

Result<PreparedWrite> ResourceService::prepare_version(const auth::AccessToken& caller,
                                                       audit::Action action, std::string_view type,
                                                       std::string_view id, std::int64_t version,
                                                       json::object resource,
                                                       vault::KeysToCreate& batch_keys) {
  // Every write (create, update, patch, transaction entry) passes here: a resource that does not
  // conform to R4 is refused whole, before anything is sealed or indexed.
  RETURN_IF_ERROR(validate_resource(type, resource));
  const std::int64_t now_ms = unix_ms(clock_.now());
  resource["id"] = id;
  json::object meta;
  if (const auto* old_meta = resource.if_contains("meta"); old_meta && old_meta->is_object()) {
    meta = old_meta->get_object();
  }
  meta["versionId"] = std::to_string(version);
  meta["lastUpdated"] = format_instant_ms(now_ms);
  resource["meta"] = std::move(meta);

  PreparedWrite prepared;
  store::RecordWrite& write = prepared.write;
  write.record.partition = partition_of(type, id, resource);
  write.record.type = std::string(type);
  write.record.id = std::string(id);
  write.record.version = version;
  write.record.recorded_at_ms = now_ms;
  write.expected_version = version - 1;
  const auto terms = extract_index_terms(type, resource);
  if (terms.size() > limits::kIndexValuesPerResourceMax) {
    return make_error(ErrorCode::kUnprocessable,
                      fmt::format("the {} has more searchable values than the {} a record may have",
                                  type, limits::kIndexValuesPerResourceMax));
  }
  for (const auto& [name, value] : terms) {
    ASSIGN_OR_RETURN(auto entry, sealer_.blind_index(type, name, value));
    write.index.push_back(std::move(entry));
  }
  std::string text = json::serialize(resource);
  if (version > 1 && rewrite_inspector_) {
    RETURN_IF_ERROR(rewrite_inspector_(caller.client_id, type, text));
  }
  RETURN_IF_ERROR(sealer_.seal(write.record, text, batch_keys));
  prepared.audit = entry_for(caller, action);
  describe_record(prepared.audit, write.record);
  prepared.resource =
      StoredResource{std::string(type), std::string(id), version, now_ms, false, std::move(text)};
  return prepared;
}

namespace {

// One prepared write as one commit: the keys it made, its audit entry and the record.
Result<store::WriteBatch> batch_of(PreparedWrite& prepared, vault::KeysToCreate& batch_keys) {
  store::WriteBatch batch;
  batch_keys.add_to(batch);
  RETURN_IF_ERROR(audit::append_entry(batch, prepared.audit));
  batch.records.push_back(std::move(prepared.write));
  return batch;
}

}  // namespace

Result<StoredResource> ResourceService::write_version(const auth::AccessToken& caller,
                                                      audit::Action action, std::string_view type,
                                                      std::string_view id, std::int64_t version,
                                                      std::string_view body) {
  for (int attempt = 1;; ++attempt) {
    ASSIGN_OR_RETURN(auto resource, parse_resource(type, body));
    vault::KeysToCreate batch_keys;
    ASSIGN_OR_RETURN(auto prepared, prepare_version(caller, action, type, id, version,
                                                    std::move(resource), batch_keys));
    ASSIGN_OR_RETURN(auto batch, batch_of(prepared, batch_keys));
    auto committed = store_.commit(std::move(batch));
    if (committed) return std::move(prepared.resource);
    if (lost_key_race(committed.error(), attempt)) continue;
    if (committed.error().code == ErrorCode::kConflict) {
      return make_error(
          ErrorCode::kConflict,
          fmt::format("{}/{} was changed by another request; read it and retry", type, id));
    }
    return tl::unexpected(committed.error());
  }
}

Result<StoredResource> ResourceService::create(const auth::AccessToken& caller,
                                               std::string_view type, std::string_view body) {
  RETURN_IF_ERROR(check_type_and_id(type, ""));
  RETURN_IF_ERROR(authorise(caller, type, "", auth::Interaction::kCreate,
                            audit::Action::kRecordCreate, "create"));
  return write_version(caller, audit::Action::kRecordCreate, type,
                       new_resource_id(unix_ms(clock_.now())), 1, body);
}

Result<QueuedCreate> ResourceService::create_queued(const auth::AccessToken& caller,
                                                    std::string_view type, std::string_view body) {
  RETURN_IF_ERROR(check_type_and_id(type, ""));
  RETURN_IF_ERROR(authorise(caller, type, "", auth::Interaction::kCreate,
                            audit::Action::kRecordCreate, "create"));
  const auto id = new_resource_id(unix_ms(clock_.now()));
  ASSIGN_OR_RETURN(auto resource, parse_resource(type, body));
  vault::KeysToCreate batch_keys;
  ASSIGN_OR_RETURN(auto prepared, prepare_version(caller, audit::Action::kRecordCreate, type, id, 1,
                                                  std::move(resource), batch_keys));
  // No other request can write under a new id until this one answers with it, so the commit
  // cannot conflict, and a key made for the record's own partition (a new Patient's) cannot be
  // made by another request meanwhile. A key for another partition can: that create is made the
  // way create() makes it, retrying should it lose the race.
  if (!batch_keys.empty() && prepared.write.record.partition != id) {
    ASSIGN_OR_RETURN(auto created,
                     write_version(caller, audit::Action::kRecordCreate, type, id, 1, body));
    return QueuedCreate{std::move(created), store::CommitTicket::done(store::CommitReceipt{})};
  }
  ASSIGN_OR_RETURN(auto batch, batch_of(prepared, batch_keys));
  return QueuedCreate{std::move(prepared.resource), store_.commit_queued(std::move(batch))};
}

Result<StoredResource> ResourceService::read(const auth::AccessToken& caller, std::string_view type,
                                             std::string_view id) {
  RETURN_IF_ERROR(check_type_and_id(type, id));
  ASSIGN_OR_RETURN(const auto grant, consent_grant(caller, audit::Action::kRecordRead, type, id));
  if (!grant) {
    RETURN_IF_ERROR(
        authorise(caller, type, id, auth::Interaction::kRead, audit::Action::kRecordRead, "read"));
  }
  // The record and its patient's key in one read snapshot; the audit entry's commit ends it.
  const auto reads = store_.hold_reads();
  auto record = read_live(type, id);
  if (!record && grant && record.error().code == ErrorCode::kGone) {
    return make_error(ErrorCode::kNotFound, fmt::format("{}/{} is not known", type, id));
  }
  if (!record) return tl::unexpected(record.error());
  return open_logged(caller, audit::Action::kRecordRead, *record, grant.get());
}

Result<store::RecordVersion> ResourceService::read_live(std::string_view type,
                                                        std::string_view id) {
  ASSIGN_OR_RETURN(auto record, store_.read_current(std::string(type), std::string(id)));
  if (!record) return make_error(ErrorCode::kNotFound, fmt::format("{}/{} is not known", type, id));
  if (record->deleted) {
    return make_error(ErrorCode::kGone, fmt::format("{}/{} was deleted", type, id));
  }
  return std::move(*record);
}

Result<StoredResource> ResourceService::vread(const auth::AccessToken& caller,
                                              std::string_view type, std::string_view id,
                                              std::int64_t version) {
  RETURN_IF_ERROR(check_type_and_id(type, id));
  ASSIGN_OR_RETURN(const auto grant, consent_grant(caller, audit::Action::kRecordRead, type, id));
  if (!grant) {
    RETURN_IF_ERROR(
        authorise(caller, type, id, auth::Interaction::kRead, audit::Action::kRecordRead, "read"));
  }
  // The version and its patient's key in one read snapshot, as read() holds them.
  const auto reads = store_.hold_reads();
  ASSIGN_OR_RETURN(const auto record,
                   store_.read_version(std::string(type), std::string(id), version));
  if (!record || (grant && record->deleted)) {
    return make_error(ErrorCode::kNotFound,
                      fmt::format("{}/{} has no version {}", type, id, version));
  }
  if (record->deleted) {
    return make_error(ErrorCode::kGone,
                      fmt::format("version {} of {}/{} is a deletion", version, type, id));
  }
  return open_logged(caller, audit::Action::kRecordRead, *record, grant.get());
}

Result<StoredResource> ResourceService::update(const auth::AccessToken& caller,
                                               std::string_view type, std::string_view id,
                                               std::string_view body,
                                               std::optional<std::int64_t> if_match) {
  RETURN_IF_ERROR(check_type_and_id(type, id));
  RETURN_IF_ERROR(authorise(caller, type, id, auth::Interaction::kUpdate,
                            audit::Action::kRecordUpdate, "update"));
  ASSIGN_OR_RETURN(const auto current, store_.read_current(std::string(type), std::string(id)));
  const std::int64_t current_version = current ? current->version : 0;
  if (if_match && *if_match != current_version) {
    return make_error(
        ErrorCode::kFailedPrecondition,
        fmt::format("{}/{} is at version {}, not {}", type, id, current_version, *if_match));
  }
  // Update as create: a client may choose the id of a resource that does not exist yet.
  if (!current) {
    RETURN_IF_ERROR(authorise(caller, type, id, auth::Interaction::kCreate,
                              audit::Action::kRecordCreate, "create"));
  }
  return write_version(caller,
                       current ? audit::Action::kRecordUpdate : audit::Action::kRecordCreate, type,
                       id, current_version + 1, body);
}

Result<StoredResource> ResourceService::remove(const auth::AccessToken& caller,
                                               std::string_view type, std::string_view id) {
  RETURN_IF_ERROR(check_type_and_id(type, id));
  RETURN_IF_ERROR(authorise(caller, type, id, auth::Interaction::kDelete,
                            audit::Action::kRecordDelete, "delete"));
  ASSIGN_OR_RETURN(const auto current, store_.read_current(std::string(type), std::string(id)));
  if (!current)
    return make_error(ErrorCode::kNotFound, fmt::format("{}/{} is not known", type, id));
  if (current->deleted)
    return StoredResource{current->type,           current->id, current->version,
                          current->recorded_at_ms, true,        ""};
  ASSIGN_OR_RETURN(auto tombstone, prepare_tombstone(caller, *current));
  store::WriteBatch batch;
  RETURN_IF_ERROR(audit::append_entry(batch, tombstone.audit));
  batch.records.push_back(std::move(tombstone.write));
  RETURN_IF_ERROR(store_.commit(std::move(batch)));
  return std::move(tombstone.resource);
}

Result<PreparedWrite> ResourceService::prepare_tombstone(const auth::AccessToken& caller,
                                                         const store::RecordVersion& current) {
  PreparedWrite prepared;
  store::RecordWrite& write = prepared.write;
  write.record = current;
  write.record.version = current.version + 1;
  write.record.recorded_at_ms = unix_ms(clock_.now());
  write.record.deleted = true;
  write.record.payload.clear();
  write.expected_version = current.version;
  prepared.audit = entry_for(caller, audit::Action::kRecordDelete);
  describe_record(prepared.audit, write.record);
  const auto& tombstone = write.record;
  prepared.resource = StoredResource{tombstone.type,           tombstone.id, tombstone.version,
                                     tombstone.recorded_at_ms, true,         ""};
  return prepared;
}

Result<std::vector<StoredResource>> ResourceService::history(const auth::AccessToken& caller,
                                                             std::string_view type,
                                                             std::string_view id,
                                                             std::size_t count) {
  RETURN_IF_ERROR(check_type_and_id(type, id));
  ASSIGN_OR_RETURN(const auto grant,
                   consent_grant(caller, audit::Action::kRecordHistory, type, id));
  if (!grant) {
    RETURN_IF_ERROR(authorise(caller, type, id, auth::Interaction::kRead,
                              audit::Action::kRecordHistory, "read the history of"));
  }
  // The versions and their patient's key in one read snapshot; the audit entry's commit ends it.
  const auto reads = store_.hold_reads();
  ASSIGN_OR_RETURN(const auto versions, store_.history(std::string(type), std::string(id), count));
  std::vector<StoredResource> resources;
  const store::RecordVersion* newest = nullptr;
  vault::OpenedKeys opened;  // one patient's key, read and unwrapped once
  for (const auto& version : versions) {
    ASSIGN_OR_RETURN(auto resource, open(version, opened));
    ASSIGN_OR_RETURN(const bool allowed, released(grant.get(), version, resource));
    if (!allowed) continue;  // under a consent: only versions within it, tombstones never
    if (newest == nullptr) newest = &version;
    resources.push_back(std::move(resource));
  }
  if (newest == nullptr) {
    if (grant && !versions.empty()) {
      log_refusal(
          store_,
          about(entry_for(caller, audit::Action::kRecordHistory, grant.get()), versions.front()),
          ErrorCode::kPermissionDenied);
    }
    return make_error(ErrorCode::kNotFound, fmt::format("{}/{} is not known", type, id));
  }
  // One entry for the interaction, naming the newest version returned.
  auto entry = entry_for(caller, audit::Action::kRecordHistory, grant.get());
  describe_record(entry, *newest);
  entry.content_hash.clear();
  RETURN_IF_ERROR(audit::record_entries(store_, {&entry, 1}));
  return resources;
}

audit::AuditEntry ResourceService::access_entry(const auth::AccessToken& caller,
                                                audit::Action action, const RecordGrant* grant,
                                                const store::RecordVersion& record) const {
  auto entry = entry_for(caller, action, grant);
  describe_record(entry, record);
  return entry;
}

Result<std::optional<std::string>> ResourceService::single_match(
    const auth::AccessToken& caller, std::string_view type, const SearchParameters& criteria,
    auth::Interaction interaction, audit::Action action, std::string_view verb) {
  RETURN_IF_ERROR(check_type_and_id(type, ""));
  RETURN_IF_ERROR(authorise(caller, type, "", interaction, action, verb));
  RETURN_IF_ERROR(authorise(caller, type, "", auth::Interaction::kSearch,
                            audit::Action::kRecordSearch, "search"));
  ASSIGN_OR_RETURN(const auto query, parse_search_query(type, criteria));
  if (query.predicates.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "give at least one search criterion");
  }
  ASSIGN_OR_RETURN(const auto predicates, resolve_chains(caller, query, nullptr));
  std::vector<std::string> ids;
  RETURN_IF_ERROR(scan_matches(type, predicates, nullptr, "", 2, MatchDetail::kRecord,
                               [&ids](SearchMatch&& match) {
                                 ids.push_back(match.record.id);
                                 return ids.size() < 2;
                               }));
  if (ids.size() > 1) {
    return make_error(
        ErrorCode::kFailedPrecondition,
        fmt::format("the criteria match more than one {}; make them selective", type));
  }
  if (ids.empty()) return std::nullopt;
  return ids.front();
}

Result<ConditionalOutcome> ResourceService::create_if_none_exist(const auth::AccessToken& caller,
                                                                 std::string_view type,
                                                                 std::string_view body,
                                                                 const SearchParameters& criteria) {
  ASSIGN_OR_RETURN(const auto match,
                   single_match(caller, type, criteria, auth::Interaction::kCreate,
                                audit::Action::kRecordCreate, "create"));
  if (match) {
    ASSIGN_OR_RETURN(const auto record, store_.read_current(std::string(type), *match));
    if (!record || record->deleted) {
      return make_error(ErrorCode::kConflict, "the match changed; retry");
    }
    ASSIGN_OR_RETURN(auto existing, open_logged(caller, audit::Action::kRecordRead, *record));
    return ConditionalOutcome{std::move(existing), false};
  }
  ASSIGN_OR_RETURN(auto created, write_version(caller, audit::Action::kRecordCreate, type,
                                               new_resource_id(unix_ms(clock_.now())), 1, body));
  return ConditionalOutcome{std::move(created), true};
}

Result<ConditionalOutcome> ResourceService::update_where(const auth::AccessToken& caller,
                                                         std::string_view type,
                                                         const SearchParameters& criteria,
                                                         std::string_view body) {
  ASSIGN_OR_RETURN(const auto match,
                   single_match(caller, type, criteria, auth::Interaction::kUpdate,
                                audit::Action::kRecordUpdate, "update"));
  ASSIGN_OR_RETURN(const auto resource, parse_resource(type, body));
  std::string body_id;
  if (const auto* id = resource.if_contains("id"); id && id->is_string())
    body_id = id->get_string();
  if (match) {
    if (!body_id.empty() && body_id != *match) {
      return make_error(
          ErrorCode::kInvalidArgument,
          fmt::format("the body's id {} is not the matching {}/{}", body_id, type, *match));
    }
    ASSIGN_OR_RETURN(auto updated, update(caller, type, *match, body, std::nullopt));
    return ConditionalOutcome{std::move(updated), false};
  }
  if (!body_id.empty()) {
    ASSIGN_OR_RETURN(auto created, update(caller, type, body_id, body, std::nullopt));
    return ConditionalOutcome{std::move(created), true};
  }
  ASSIGN_OR_RETURN(auto created, create(caller, type, body));
  return ConditionalOutcome{std::move(created), true};
}

Result<std::optional<StoredResource>> ResourceService::remove_where(
    const auth::AccessToken& caller, std::string_view type, const SearchParameters& criteria) {
  ASSIGN_OR_RETURN(const auto match,
                   single_match(caller, type, criteria, auth::Interaction::kDelete,
                                audit::Action::kRecordDelete, "delete"));
  if (!match) return std::nullopt;
  ASSIGN_OR_RETURN(auto removed, remove(caller, type, *match));
  return removed;
}

Result<StoredResource> ResourceService::patch(const auth::AccessToken& caller,
                                              std::string_view type, std::string_view id,
                                              std::string_view json_patch,
                                              std::optional<std::int64_t> if_match) {
  RETURN_IF_ERROR(check_type_and_id(type, id));
  RETURN_IF_ERROR(authorise(caller, type, id, auth::Interaction::kUpdate,
                            audit::Action::kRecordUpdate, "update"));
  ASSIGN_OR_RETURN(const auto live, read_live(type, id));
  const auto* current = &live;
  if (if_match && *if_match != current->version) {
    return make_error(
        ErrorCode::kFailedPrecondition,
        fmt::format("{}/{} is at version {}, not {}", type, id, current->version, *if_match));
  }
  ASSIGN_OR_RETURN(const auto text, sealer_.open(*current));
  boost::system::error_code error;
  const auto document = json::parse(text, error);
  if (error) return make_error(ErrorCode::kDataLoss, "a stored resource is not JSON");
  ASSIGN_OR_RETURN(const auto patched, apply_json_patch(document, json_patch));
  const auto* object = patched.if_object();
  if (object == nullptr) {
    return make_error(ErrorCode::kUnprocessable, "the patch must leave a resource object");
  }
  const auto* patched_type = object->if_contains("resourceType");
  const auto* patched_id = object->if_contains("id");
  if (!patched_type || *patched_type != json::value(type) || !patched_id ||
      *patched_id != json::value(id)) {
    return make_error(ErrorCode::kUnprocessable, "a patch may not change resourceType or id");
  }
  return write_version(caller, audit::Action::kRecordUpdate, type, id, current->version + 1,
                       json::serialize(patched));
}

Result<HistoryPage> ResourceService::type_history(const auth::AccessToken& caller,
                                                  std::string_view type, std::int64_t before,
                                                  std::size_t count) {
  RETURN_IF_ERROR(check_type_and_id(type, ""));
  RETURN_IF_ERROR(authorise(caller, type, "", auth::Interaction::kRead,
                            audit::Action::kRecordHistory, "read the history of"));
  count = std::clamp<std::size_t>(count, 1, limits::kPageSizeMax - 1);
  ASSIGN_OR_RETURN(auto versions, store_.type_history(std::string(type), before, count + 1));
  HistoryPage page;
  if (versions.size() > count) {
    versions.resize(count);
    page.next_before = versions.back().sequence;
  }
  std::vector<audit::AuditEntry> accesses;
  vault::OpenedKeys opened;
  for (const auto& version : versions) {
    ASSIGN_OR_RETURN(auto resource, open(version, opened));
    page.versions.push_back(std::move(resource));
    accesses.push_back(entry_for(caller, audit::Action::kRecordHistory));
    describe_record(accesses.back(), version);
  }
  RETURN_IF_ERROR(audit::record_entries(store_, audit::fold_records(std::move(accesses))));
  return page;
}

Result<SearchPage> ResourceService::everything(const auth::AccessToken& caller,
                                               std::string_view patient_id, std::string_view after,
                                               std::size_t count) {
  RETURN_IF_ERROR(check_type_and_id("Patient", patient_id));
  ASSIGN_OR_RETURN(const auto grant,
                   consent_grant(caller, audit::Action::kRecordRead, "Patient", patient_id));
  if (!grant) {
    RETURN_IF_ERROR(authorise(caller, "Patient", patient_id, auth::Interaction::kRead,
                              audit::Action::kRecordRead, "read"));
  }
  // The patient, their records and their key in one read snapshot, so every page of records is
  // read as of one moment; the audit entries' commit ends it.
  const auto reads = store_.hold_reads();
  ASSIGN_OR_RETURN(const auto patient_record, read_live("Patient", patient_id));
  if (grant) {
    // The patient must be the one the consent covers before anything of theirs is listed.
    ASSIGN_OR_RETURN(const auto patient, open(patient_record));
    ASSIGN_OR_RETURN(const bool allowed, released(grant.get(), patient_record, patient));
    if (!allowed) {
      log_refusal(store_,
                  about(entry_for(caller, audit::Action::kRecordRead, grant.get()), patient_record),
                  ErrorCode::kPermissionDenied);
      return make_error(ErrorCode::kNotFound, fmt::format("Patient/{} is not known", patient_id));
    }
  }
  std::string after_type;
  std::string after_id;
  if (!after.empty()) {
    const auto slash = after.find('/');
    if (slash == std::string_view::npos) {
      return make_error(ErrorCode::kInvalidArgument, "an $everything cursor is Type/id");
    }
    after_type = std::string(after.substr(0, slash));
    after_id = std::string(after.substr(slash + 1));
  }
  count = std::clamp<std::size_t>(count, 1, limits::kPageSizeMax - 1);
  SearchPage page;
  std::vector<audit::AuditEntry> accesses;
  vault::OpenedKeys opened;  // the one patient's key, read and unwrapped once
  // Records of types outside the caller's scopes are skipped, so a page may take several reads.
  while (page.resources.size() < count) {
    ASSIGN_OR_RETURN(const auto records, store_.partition_records(std::string(patient_id),
                                                                  after_type, after_id, count));
    for (const auto& record : records) {
      after_type = record.type;
      after_id = record.id;
      if (!is_supported_type(record.type) ||
          (!grant && !caller.scopes.allows(record.type, auth::Interaction::kRead))) {
        continue;
      }
      ASSIGN_OR_RETURN(auto resource, open(record, opened));
      ASSIGN_OR_RETURN(const bool allowed, released(grant.get(), record, resource));
      if (!allowed) continue;
      page.resources.push_back(std::move(resource));
      accesses.push_back(entry_for(caller, audit::Action::kRecordRead, grant.get()));
      describe_record(accesses.back(), record);
      if (page.resources.size() == count) {
        page.next_after_id = fmt::format("{}/{}", record.type, record.id);
        break;
      }
    }
    if (records.size() < count) break;
  }
  RETURN_IF_ERROR(audit::record_entries(store_, audit::fold_records(std::move(accesses))));
  return page;
}

}  // namespace kavach::fhir
