// ResourceService's Bundle interactions: POST /fhir/R4 with a transaction (all or nothing, in one
// store batch) or a batch (each entry on its own).
#include <fmt/format.h>

#include <functional>
#include <map>
#include <set>

#include <boost/json.hpp>

#include "audit/audit_log.h"
#include "common/limits.h"
#include "common/query_string.h"
#include "common/strict_json.h"
#include "fhir/resource_service.h"
#include "fhir/resource_types.h"

namespace kavach::fhir {
namespace {

namespace json = boost::json;

tl::unexpected<Error> entry_error(ErrorCode code, std::size_t index, std::string_view message) {
  return make_error(code, fmt::format("Bundle entry {}: {}", index, message));
}

std::string string_member(const json::object& object, std::string_view name) {
  const auto* value = object.if_contains(name);
  return value && value->is_string() ? std::string(value->get_string()) : std::string();
}

Result<BundleEntryRequest> parse_entry(const json::value& value, std::size_t index) {
  const auto* entry = value.if_object();
  if (entry == nullptr) return entry_error(ErrorCode::kInvalidArgument, index, "not an object");
  const auto* request = entry->if_contains("request");
  if (request == nullptr || !request->is_object()) {
    return entry_error(ErrorCode::kInvalidArgument, index, "request is missing");
  }
  BundleEntryRequest parsed;
  parsed.method = string_member(request->get_object(), "method");
  std::string url = string_member(request->get_object(), "url");
  parsed.if_none_exist = string_member(request->get_object(), "ifNoneExist");
  if (const auto etag = string_member(request->get_object(), "ifMatch"); !etag.empty()) {
    parsed.if_match = parse_etag(etag);
    if (!parsed.if_match) {
      return entry_error(ErrorCode::kInvalidArgument, index, "ifMatch must be W/\"<version>\"");
    }
  }
  parsed.full_url = string_member(*entry, "fullUrl");
  if (const auto* resource = entry->if_contains("resource"))
    parsed.resource = resource->if_object();
  if (url.starts_with("/")) url.erase(0, 1);
  const auto question = url.find('?');
  const std::string path = url.substr(0, question);
  if (question != std::string::npos) parsed.query = url.substr(question + 1);
  const auto slash = path.find('/');
  parsed.type = path.substr(0, slash);
  if (slash != std::string::npos) parsed.id = path.substr(slash + 1);
  if (parsed.type.empty() || !is_supported_type(parsed.type) ||
      (!parsed.id.empty() && !is_valid_id(parsed.id)) || parsed.id.find('/') != std::string::npos) {
    return entry_error(ErrorCode::kInvalidArgument, index,
                       fmt::format("request.url '{}' is not Type, Type/id or Type?criteria", url));
  }
  if ((parsed.method == "POST" || parsed.method == "PUT") &&
      (parsed.resource == nullptr ||
       string_member(*parsed.resource, "resourceType") != parsed.type)) {
    return entry_error(ErrorCode::kInvalidArgument, index,
                       fmt::format("a {} needs a {} resource", parsed.method, parsed.type));
  }
  return parsed;
}

// Applies `resolve` to every "reference" string in `value`, replacing it when it answers one.
Status rewrite_references(
    json::value& value,
    const std::function<Result<std::optional<std::string>>(std::string_view)>& resolve) {
  if (auto* object = value.if_object()) {
    for (auto& member : *object) {
      if (member.key() == "reference" && member.value().is_string()) {
        ASSIGN_OR_RETURN(const auto replaced, resolve(member.value().get_string()));
        if (replaced) member.value() = *replaced;
      } else {
        RETURN_IF_ERROR(rewrite_references(member.value(), resolve));
      }
    }
  } else if (auto* array = value.if_array()) {
    for (auto& element : *array) RETURN_IF_ERROR(rewrite_references(element, resolve));
  }
  return {};
}

}  // namespace

SearchParameters search_criteria(std::string_view query) {
  SearchParameters criteria;
  for (auto& [name, value] : parse_query(query)) {
    if (name != "_format") criteria.emplace_back(std::move(name), std::move(value));
  }
  return criteria;
}

Result<BundleOutcome> ResourceService::process_bundle(const auth::AccessToken& caller,
                                                      std::string_view body) {
  ASSIGN_OR_RETURN(const json::value parsed, parse_strict_json(body, "the body"));
  const auto* bundle = parsed.if_object();
  if (bundle == nullptr || string_member(*bundle, "resourceType") != "Bundle") {
    return make_error(ErrorCode::kInvalidArgument, "POST /fhir/R4 takes a Bundle");
  }
  const std::string type = string_member(*bundle, "type");
  if (type != "transaction" && type != "batch") {
    return make_error(ErrorCode::kInvalidArgument,
                      "the Bundle's type must be transaction or batch");
  }
  static const json::array kNoEntries;
  const auto* entries = bundle->if_contains("entry");
  const json::array& list =
      entries != nullptr && entries->is_array() ? entries->get_array() : kNoEntries;
  if (list.size() > kBundleEntriesMax) {
    return make_error(ErrorCode::kTooLarge,
                      fmt::format("a Bundle holds at most {} entries", kBundleEntriesMax));
  }
  std::vector<BundleEntryRequest> requests;
  for (std::size_t i = 0; i < list.size(); ++i) {
    auto request = parse_entry(list[i], i);
    if (!request && type == "transaction") return tl::unexpected(request.error());
    if (request) {
      requests.push_back(std::move(*request));
    } else {
      requests.emplace_back().invalid = request.error();
    }
  }
  if (type == "batch") return run_batch(caller, requests);
  return run_transaction(caller, requests);
}

Result<std::optional<std::string>> ResourceService::resolve_conditional_reference(
    const auth::AccessToken& caller, std::string_view reference) {
  const auto question = reference.find('?');
  if (question == std::string_view::npos ||
      reference.substr(0, question).find('/') != std::string_view::npos) {
    return std::nullopt;
  }
  const std::string type(reference.substr(0, question));
  ASSIGN_OR_RETURN(const auto match,
                   single_match(caller, type, search_criteria(reference.substr(question + 1)),
                                auth::Interaction::kRead, audit::Action::kRecordSearch, "read"));
  if (!match) {
    return make_error(ErrorCode::kFailedPrecondition,
                      fmt::format("the conditional reference {} matches nothing", reference));
  }
  return type + "/" + *match;
}

BundleEntryOutcome ResourceService::run_batch_entry(const auth::AccessToken& caller,
                                                    const BundleEntryRequest& request) {
  using Kind = BundleEntryOutcome::Kind;
  auto failed = [](const Error& error) { return BundleEntryOutcome{Kind::kFailed, {}, error}; };
  if (request.invalid) return failed(*request.invalid);
  // Entries of a batch stand alone, but may name existing resources by Type?criteria.
  std::string body;
  if (request.resource) {
    json::value resource = *request.resource;
    auto resolved = rewrite_references(
        resource, [&](std::string_view reference) -> Result<std::optional<std::string>> {
          return resolve_conditional_reference(caller, reference);
        });
    if (!resolved) return failed(resolved.error());
    body = json::serialize(resource);
  }
  if (request.method == "GET" && !request.id.empty()) {
    auto found = read(caller, request.type, request.id);
    if (!found) return failed(found.error());
    return {Kind::kRead, std::move(*found), {}};
  }
  if (request.method == "POST") {
    if (!request.if_none_exist.empty()) {
      auto outcome =
          create_if_none_exist(caller, request.type, body, search_criteria(request.if_none_exist));
      if (!outcome) return failed(outcome.error());
      return {outcome->created ? Kind::kCreated : Kind::kMatched, std::move(outcome->resource), {}};
    }
    auto created = create(caller, request.type, body);
    if (!created) return failed(created.error());
    return {Kind::kCreated, std::move(*created), {}};
  }
  if (request.method == "PUT") {
    if (request.id.empty()) {
      auto outcome = update_where(caller, request.type, search_criteria(request.query), body);
      if (!outcome) return failed(outcome.error());
      return {outcome->created ? Kind::kCreated : Kind::kUpdated, std::move(outcome->resource), {}};
    }
    auto updated = update(caller, request.type, request.id, body, request.if_match);
    if (!updated) return failed(updated.error());
    return {updated->version == 1 ? Kind::kCreated : Kind::kUpdated, std::move(*updated), {}};
  }
  if (request.method == "DELETE") {
    if (request.id.empty()) {
      auto removed = remove_where(caller, request.type, search_criteria(request.query));
      if (!removed) return failed(removed.error());
      if (!*removed) return {Kind::kNothing, {}, {}};
      return {Kind::kDeleted, std::move(**removed), {}};
    }
    auto removed = remove(caller, request.type, request.id);
    if (!removed) return failed(removed.error());
    return {Kind::kDeleted, std::move(*removed), {}};
  }
  return failed(Error{ErrorCode::kInvalidArgument,
                      fmt::format("a batch entry is GET Type/id, POST, PUT or DELETE, not {} {}",
                                  request.method, request.type)});
}

Result<BundleOutcome> ResourceService::run_batch(const auth::AccessToken& caller,
                                                 const std::vector<BundleEntryRequest>& requests) {
  BundleOutcome outcome{false, {}};
  for (const auto& request : requests) outcome.entries.push_back(run_batch_entry(caller, request));
  return outcome;
}

// Where one transaction entry writes: an id for a create, the match of a conditional entry, the
// current version it replaces; with every scope checked.
struct ResourceService::PlannedEntry {
  BundleEntryOutcome::Kind kind = BundleEntryOutcome::Kind::kNothing;
  std::string type;
  std::string id;
  json::value resource;  // POST and PUT
  std::optional<store::RecordVersion> current;
};

Result<ResourceService::PlannedEntry> ResourceService::plan_transaction_entry(
    const auth::AccessToken& caller, const BundleEntryRequest& request, std::size_t index) {
  using Kind = BundleEntryOutcome::Kind;
  PlannedEntry planned;
  planned.type = request.type;
  if (request.resource) planned.resource = *request.resource;
  if (request.method == "POST") {
    RETURN_IF_ERROR(authorise(caller, request.type, "", auth::Interaction::kCreate,
                              audit::Action::kRecordCreate, "create"));
    std::optional<std::string> match;
    if (!request.if_none_exist.empty()) {
      ASSIGN_OR_RETURN(
          match, single_match(caller, request.type, search_criteria(request.if_none_exist),
                              auth::Interaction::kCreate, audit::Action::kRecordCreate, "create"));
    }
    planned.kind = match ? Kind::kMatched : Kind::kCreated;
    planned.id = match ? *match : new_resource_id(unix_ms(clock_.now()));
    return planned;
  }
  if (request.method != "PUT" && request.method != "DELETE") {
    return entry_error(ErrorCode::kInvalidArgument, index,
                       "a transaction takes POST, PUT and DELETE entries");
  }
  const bool put = request.method == "PUT";
  const auto interaction = put ? auth::Interaction::kUpdate : auth::Interaction::kDelete;
  const auto action = put ? audit::Action::kRecordUpdate : audit::Action::kRecordDelete;
  const char* verb = put ? "update" : "delete";
  planned.id = request.id;
  if (planned.id.empty()) {
    ASSIGN_OR_RETURN(const auto match,
                     single_match(caller, request.type, search_criteria(request.query), interaction,
                                  action, verb));
    if (match) planned.id = *match;
  }
  if (!planned.id.empty()) {
    RETURN_IF_ERROR(authorise(caller, request.type, planned.id, interaction, action, verb));
    ASSIGN_OR_RETURN(planned.current, store_.read_current(request.type, planned.id));
  }
  const bool live = planned.current && !planned.current->deleted;
  if (!put) {
    planned.kind = live ? Kind::kDeleted : Kind::kNothing;
    return planned;
  }
  if (planned.id.empty()) planned.id = new_resource_id(unix_ms(clock_.now()));
  if (!live) {
    RETURN_IF_ERROR(authorise(caller, request.type, planned.id, auth::Interaction::kCreate,
                              audit::Action::kRecordCreate, "create"));
  }
  if (request.if_match && (!planned.current || *request.if_match != planned.current->version)) {
    return entry_error(ErrorCode::kFailedPrecondition, index, "ifMatch does not hold");
  }
  planned.kind = live ? Kind::kUpdated : Kind::kCreated;
  return planned;
}

Result<BundleOutcome> ResourceService::run_transaction(
    const auth::AccessToken& caller, const std::vector<BundleEntryRequest>& requests) {
  for (int attempt = 1;; ++attempt) {
    auto outcome = try_transaction(caller, requests);
    if (!outcome && lost_key_race(outcome.error(), attempt)) continue;
    return outcome;
  }
}

Result<BundleOutcome> ResourceService::try_transaction(
    const auth::AccessToken& caller, const std::vector<BundleEntryRequest>& requests) {
  using Kind = BundleEntryOutcome::Kind;
  std::vector<PlannedEntry> plan;
  plan.reserve(requests.size());
  std::map<std::string, std::string, std::less<>> aliases;  // fullUrl -> Type/id
  std::set<std::string> targets;
  // 1. Where each entry writes; nothing is written until every entry is planned.
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const auto& request = requests[i];
    ASSIGN_OR_RETURN(auto planned, plan_transaction_entry(caller, request, i));
    if (planned.kind != Kind::kNothing && planned.kind != Kind::kMatched &&
        !targets.insert(request.type + "/" + planned.id).second) {
      return entry_error(ErrorCode::kInvalidArgument, i,
                         fmt::format("{}/{} is written twice", request.type, planned.id));
    }
    if (!request.full_url.empty()) aliases[request.full_url] = request.type + "/" + planned.id;
    plan.push_back(std::move(planned));
  }
  // 2. References to other entries (by fullUrl) and conditional references (Type?criteria).
  auto resolve = [&](std::string_view reference) -> Result<std::optional<std::string>> {
    if (const auto alias = aliases.find(reference); alias != aliases.end()) return alias->second;
    if (reference.starts_with("urn:uuid:") || reference.starts_with("urn:oid:")) {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("the reference {} names no entry of the Bundle", reference));
    }
    return resolve_conditional_reference(caller, reference);
  };
  // 3. Every version, sealed and indexed, into one batch, with the data keys of partitions
  // written for the first time.
  store::WriteBatch batch;
  vault::KeysToCreate batch_keys;
  std::vector<BundleEntryOutcome> outcomes(requests.size());
  // One audit entry per patient and kind of write, listing its records (audit::fold_records), as
  // a search page's reads are: a transaction of a patient's 100 records wrote 100 entries.
  std::vector<audit::AuditEntry> writes;
  writes.reserve(plan.size());
  for (std::size_t i = 0; i < plan.size(); ++i) {
    PlannedEntry& planned = plan[i];
    outcomes[i].kind = planned.kind;
    if (planned.kind == Kind::kCreated || planned.kind == Kind::kUpdated) {
      RETURN_IF_ERROR(rewrite_references(planned.resource, resolve));
      const std::int64_t version = planned.current ? planned.current->version + 1 : 1;
      ASSIGN_OR_RETURN(
          auto prepared,
          prepare_version(caller,
                          planned.kind == Kind::kCreated ? audit::Action::kRecordCreate
                                                         : audit::Action::kRecordUpdate,
                          planned.type, planned.id, version,
                          std::move(planned.resource.as_object()), batch_keys));
      writes.push_back(std::move(prepared.audit));
      batch.records.push_back(std::move(prepared.write));
      outcomes[i].resource = std::move(prepared.resource);
    } else if (planned.kind == Kind::kDeleted) {
      ASSIGN_OR_RETURN(auto tombstone, prepare_tombstone(caller, *planned.current));
      writes.push_back(std::move(tombstone.audit));
      batch.records.push_back(std::move(tombstone.write));
      outcomes[i].resource = std::move(tombstone.resource);
    } else if (planned.kind == Kind::kMatched) {
      outcomes[i].resource = StoredResource{planned.type, planned.id, 0, 0, false, ""};
    }
  }
  for (const auto& entry : audit::fold_records(std::move(writes))) {
    RETURN_IF_ERROR(audit::append_entry(batch, entry));
  }
  batch_keys.add_to(batch);
  auto committed = store_.commit(std::move(batch));
  if (!committed) {
    if (committed.error().code == ErrorCode::kConflict) {
      return make_error(ErrorCode::kConflict,
                        "a resource in the transaction was changed meanwhile; nothing was written");
    }
    return tl::unexpected(committed.error());
  }
  return BundleOutcome{true, std::move(outcomes)};
}

}  // namespace kavach::fhir
