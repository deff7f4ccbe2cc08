// ResourceService's part of bulk export: which records a selection exports, and their NDJSON as of
// the export's transaction time. The jobs themselves are in bulk_exports.cc.
#include <algorithm>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "audit/audit_log.h"
#include "common/limits.h"
#include "fhir/resource_service.h"
#include "fhir/resource_types.h"

namespace kavach::fhir {
namespace {

namespace json = boost::json;

}  // namespace

Status ResourceService::export_allowed(const auth::AccessToken& caller, std::string_view type) {
  if (!caller.consent_id.empty()) {
    return make_error(ErrorCode::kPermissionDenied, "a consent does not allow a bulk export");
  }
  if (!is_supported_type(type)) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("_type: this server does not store {}", type));
  }
  if (!caller.scopes.allows(type, auth::Interaction::kRead)) {
    return make_error(ErrorCode::kPermissionDenied,
                      fmt::format("the client's scopes do not allow it to read {}", type));
  }
  return {};
}

Result<std::optional<store::RecordVersion>> ResourceService::version_as_of(const std::string& type,
                                                                           const std::string& id,
                                                                           std::int64_t as_of_ms) {
  ASSIGN_OR_RETURN(auto current, store_.read_current(type, id));
  if (!current) return std::nullopt;
  std::optional<store::RecordVersion> found;
  if (current->recorded_at_ms <= as_of_ms) {
    found = std::move(current);
  } else {
    // Changed since the export began: the version before the change, if any.
    ASSIGN_OR_RETURN(const auto versions, store_.history(type, id, limits::kHistoryVersionsMax));
    for (const auto& version : versions) {
      if (version.recorded_at_ms <= as_of_ms) {
        found = version;
        break;
      }
    }
  }
  if (found && found->deleted) return std::nullopt;
  return found;
}

Result<std::vector<std::string>> ResourceService::export_ids(const auth::AccessToken& caller,
                                                             const ExportSelection& selection,
                                                             const std::string& after,
                                                             std::size_t limit) {
  RETURN_IF_ERROR(export_allowed(caller, selection.type));
  ASSIGN_OR_RETURN(const auto source, candidate_source(selection.type, {}));
  std::vector<std::string> ids;
  std::string cursor = after;
  for (;;) {
    ASSIGN_OR_RETURN(const auto candidates, next_candidates(source, cursor, limits::kPageSizeMax));
    for (const auto& id : candidates.ids) {
      cursor = id;
      ASSIGN_OR_RETURN(const auto record, version_as_of(selection.type, id, selection.as_of_ms));
      if (!record || record->recorded_at_ms < selection.since_ms) continue;
      const bool in_compartment =
          selection.every_patient ? !record->partition.empty()
                                  : std::binary_search(selection.patients.begin(),
                                                       selection.patients.end(), record->partition);
      if ((selection.every_patient || !selection.patients.empty()) && !in_compartment) continue;
      ids.push_back(id);
      if (ids.size() == limit) return ids;
    }
    if (candidates.ids.size() < limits::kPageSizeMax) return ids;
  }
}

Result<std::string> ResourceService::export_ndjson(const auth::AccessToken& caller,
                                                   const ExportSelection& selection,
                                                   const std::vector<std::string>& ids) {
  RETURN_IF_ERROR(export_allowed(caller, selection.type));
  std::string lines;
  std::vector<audit::AuditEntry> accesses;
  vault::OpenedKeys opened;
  for (const auto& id : ids) {
    ASSIGN_OR_RETURN(const auto record, version_as_of(selection.type, id, selection.as_of_ms));
    if (!record) continue;  // erased or gone since the ids were chosen
    auto resource = open(*record, opened);
    if (!resource && resource.error().code == ErrorCode::kGone) continue;  // patient erased
    if (!resource) return tl::unexpected(resource.error());
    lines += resource->json;
    lines += '\n';
    accesses.push_back(access_entry(caller, audit::Action::kRecordExport, nullptr, *record));
  }
  // Every record in the file is on record before the file is handed out.
  RETURN_IF_ERROR(audit::record_entries(store_, audit::fold_records(std::move(accesses))));
  return lines;
}

Result<std::vector<std::string>> ResourceService::group_patients(const auth::AccessToken& caller,
                                                                 std::string_view group_id) {
  ASSIGN_OR_RETURN(const auto group, read(caller, "Group", group_id));
  std::vector<std::string> patients;
  const auto parsed = json::parse(group.json);
  if (const auto* members = parsed.as_object().if_contains("member");
      members != nullptr && members->is_array()) {
    for (const auto& member : members->get_array()) {
      const auto* entity = member.as_object().if_contains("entity");
      if (entity == nullptr || !entity->is_object()) continue;
      const auto* reference = entity->get_object().if_contains("reference");
      if (reference == nullptr || !reference->is_string()) continue;
      const std::string_view text = reference->get_string();
      if (text.starts_with("Patient/")) patients.emplace_back(text.substr(8));
    }
  }
  std::sort(patients.begin(), patients.end());
  patients.erase(std::unique(patients.begin(), patients.end()), patients.end());
  return patients;
}

}  // namespace kavach::fhir
