#include "audit/entry_json.h"

#include "common/time_format.h"
#include "crypto/encoding.h"

namespace kavach::audit {

boost::json::object entry_json(const AuditEntry& entry) {
  boost::json::object json;
  json["time"] = format_instant_ms(entry.time_ms);
  json["action"] = action_name(entry.action);
  json["outcome"] = outcome_name(entry.outcome);
  json["basis"] = basis_name(entry.basis);
  boost::json::object actor{{"kind", actor_kind_name(entry.actor_kind)}, {"id", entry.actor_id}};
  if (!entry.facility_id.empty()) actor["facility"] = entry.facility_id;
  json["actor"] = std::move(actor);
  if (!entry.subject.empty()) json["patient"] = entry.subject;
  if (!entry.resource_type.empty()) {
    boost::json::object resource{{"type", entry.resource_type}};
    if (!entry.resource_id.empty()) resource["id"] = entry.resource_id;
    if (entry.resource_version != 0) resource["version"] = entry.resource_version;
    json["resource"] = std::move(resource);
  }
  if (!entry.purpose.empty()) json["purpose"] = entry.purpose;
  if (!entry.consent_id.empty()) json["consent"] = entry.consent_id;
  if (!entry.reason.empty()) json["reason"] = entry.reason;
  if (!entry.content_hash.empty()) json["content_sha256"] = crypto::to_hex(entry.content_hash);
  if (!entry.further_records.empty()) {
    boost::json::array further;
    for (const auto& record : entry.further_records) {
      boost::json::object resource{
          {"type", record.type}, {"id", record.id}, {"version", record.version}};
      if (!record.content_hash.empty()) {
        resource["content_sha256"] = crypto::to_hex(record.content_hash);
      }
      further.push_back(std::move(resource));
    }
    json["further_resources"] = std::move(further);
  }
  return json;
}

}  // namespace kavach::audit
