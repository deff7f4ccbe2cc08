#include "consent/facility_registry.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "audit/audit_log.h"
#include "crypto/encoding.h"

namespace kavach::consent {
namespace {

namespace json = boost::json;

bool valid_id(std::string_view id) {
  return !id.empty() && id.size() <= kRegistryIdMax &&
         std::all_of(id.begin(), id.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
         });
}

bool valid_name(std::string_view name) {
  return !name.empty() && name.size() <= 200 && std::none_of(name.begin(), name.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20;
  });
}

bool valid_public_key(std::string_view key) {
  if (key.empty()) return true;  // optional until the facility signs requests (issue 5)
  auto bytes = crypto::from_base64url(key);
  return bytes && bytes->size() == 32;
}

// https anywhere; http only to this machine, where no one can listen in.
bool valid_callback_url(std::string_view url) {
  if (url.empty()) return true;
  if (url.size() > 512) return false;
  if (std::any_of(url.begin(), url.end(), [](char c) {
        return static_cast<unsigned char>(c) <= 0x20 || c == '"' || c == '\\';
      })) {
    return false;
  }
  if (url.starts_with("https://")) return url.size() > 8;
  if (!url.starts_with("http://")) return false;
  const std::string_view rest = url.substr(7);
  for (const std::string_view host : {"127.0.0.1", "localhost", "[::1]"}) {
    if (rest.starts_with(host) &&
        (rest.size() == host.size() || rest[host.size()] == ':' || rest[host.size()] == '/')) {
      return true;
    }
  }
  return false;
}

json::object facility_body(const Facility& f) {
  return {{"name", f.name},
          {"hip", f.hip},
          {"hiu", f.hiu},
          {"callback_url", f.callback_url},
          {"public_key", f.public_key},
          {"active", f.active}};
}

Facility facility_from(const vault::Document& d) {
  Facility f;
  f.id = d.id;
  f.name = std::string(d.body.at("name").as_string());
  f.hip = d.body.at("hip").as_bool();
  f.hiu = d.body.at("hiu").as_bool();
  f.callback_url = std::string(d.body.at("callback_url").as_string());
  f.public_key = std::string(d.body.at("public_key").as_string());
  f.active = d.body.at("active").as_bool();
  return f;
}

json::object professional_body(const Professional& p) {
  return {{"name", p.name},
          {"facility_id", p.facility_id},
          {"registration_type", p.registration_type},
          {"registration_value", p.registration_value},
          {"registration_system", p.registration_system},
          {"public_key", p.public_key},
          {"active", p.active}};
}

Professional professional_from(const vault::Document& d) {
  Professional p;
  p.id = d.id;
  const auto text = [&](std::string_view name) { return std::string(d.body.at(name).as_string()); };
  p.name = text("name");
  p.facility_id = text("facility_id");
  p.registration_type = text("registration_type");
  p.registration_value = text("registration_value");
  p.registration_system = text("registration_system");
  p.public_key = text("public_key");
  p.active = d.body.at("active").as_bool();
  return p;
}

const vault::DocumentIndexValue kListed{"listed", "1", true};

vault::DocumentIndexValue registration_index(std::string_view facility_id,
                                             std::string_view registration_value) {
  return {"registration", fmt::format("{}|{}", facility_id, registration_value), false};
}

}  // namespace

Status validate_facility(const Facility& f) {
  if (!valid_id(f.id))
    return make_error(ErrorCode::kInvalidArgument,
                      "a facility id is 1 to 64 letters, digits, '.', '_' or '-'");
  if (!valid_name(f.name))
    return make_error(ErrorCode::kInvalidArgument,
                      "a facility needs a name of up to 200 characters");
  if (!f.hip && !f.hiu)
    return make_error(ErrorCode::kInvalidArgument, "a facility is an HIP, an HIU or both");
  if (!valid_callback_url(f.callback_url)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "a callback URL is https (http only to 127.0.0.1 or localhost)");
  }
  if (!valid_public_key(f.public_key)) {
    return make_error(ErrorCode::kInvalidArgument, "a public key is 32 Ed25519 bytes in base64url");
  }
  return {};
}

Status validate_professional(const Professional& p) {
  if (!valid_id(p.id))
    return make_error(ErrorCode::kInvalidArgument,
                      "a professional id is 1 to 64 letters, digits, '.', '_' or '-'");
  if (!valid_name(p.name))
    return make_error(ErrorCode::kInvalidArgument,
                      "a professional needs a name of up to 200 characters");
  if (!valid_id(p.facility_id))
    return make_error(ErrorCode::kInvalidArgument, "a professional belongs to a facility");
  if (!valid_name(p.registration_value) || !valid_name(p.registration_type)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "a professional needs a registration type and number");
  }
  if (!valid_public_key(p.public_key)) {
    return make_error(ErrorCode::kInvalidArgument, "a public key is 32 Ed25519 bytes in base64url");
  }
  return {};
}

Status FacilityRegistry::put(vault::Document document, bool create,
                             std::vector<vault::DocumentIndexValue> index,
                             const RegistryActor& by) {
  ASSIGN_OR_RETURN(const auto existing, documents_.read(document.type, document.id));
  if (create && existing) {
    return make_error(ErrorCode::kAlreadyExists,
                      fmt::format("{} is already registered", document.id));
  }
  if (!create && !existing) {
    return make_error(ErrorCode::kNotFound, fmt::format("{} is not registered", document.id));
  }
  document.version = existing ? existing->version : 0;
  audit::AuditEntry entry;
  entry.time_ms = unix_ms(documents_.clock().now());
  entry.action = audit::Action::kRegistryChange;
  entry.basis = audit::Basis::kOperator;
  entry.actor_kind = by.kind;
  entry.actor_id = by.id;
  entry.resource_type = document.type;
  entry.resource_id = document.id;
  store::WriteBatch batch;
  RETURN_IF_ERROR(audit::append_entry(batch, entry));
  index.push_back(kListed);
  auto written = documents_.write(document, index, std::move(batch));
  if (!written && written.error().code == ErrorCode::kConflict) {
    return make_error(create ? ErrorCode::kAlreadyExists : ErrorCode::kConflict,
                      fmt::format("{} was changed at the same time; try again", document.id));
  }
  return written;
}

Status FacilityRegistry::add_facility(const Facility& facility, const RegistryActor& by) {
  RETURN_IF_ERROR(validate_facility(facility));
  return put({std::string(kFacilityType), facility.id, "", 0, 0, facility_body(facility)}, true, {},
             by);
}

Status FacilityRegistry::update_facility(const Facility& facility, const RegistryActor& by) {
  RETURN_IF_ERROR(validate_facility(facility));
  return put({std::string(kFacilityType), facility.id, "", 0, 0, facility_body(facility)}, false,
             {}, by);
}

Result<Facility> FacilityRegistry::facility(std::string_view id) {
  if (!valid_id(id)) return make_error(ErrorCode::kNotFound, "no facility has that id");
  ASSIGN_OR_RETURN(const auto document, documents_.read(kFacilityType, id));
  if (!document)
    return make_error(ErrorCode::kNotFound, fmt::format("facility {} is not registered", id));
  return facility_from(*document);
}

Result<std::vector<Facility>> FacilityRegistry::facilities(std::string_view after_id,
                                                           std::size_t limit) {
  ASSIGN_OR_RETURN(const auto documents,
                   documents_.find_documents(kFacilityType, kListed,
                                             std::min(limit, kRegistryPageMax), after_id));
  std::vector<Facility> out;
  for (const auto& document : documents) out.push_back(facility_from(document));
  return out;
}

Result<Facility> FacilityRegistry::participant(std::string_view id, FacilityRole role) {
  auto found = facility(id);
  if (!found) {
    if (found.error().code != ErrorCode::kNotFound) return found;
    return make_error(ErrorCode::kPermissionDenied,
                      fmt::format("facility {} is not registered", id));
  }
  if (!found->active) {
    return make_error(ErrorCode::kPermissionDenied, fmt::format("facility {} is not active", id));
  }
  if (role == FacilityRole::kHip && !found->hip) {
    return make_error(ErrorCode::kPermissionDenied,
                      fmt::format("facility {} is not registered as an HIP", id));
  }
  if (role == FacilityRole::kHiu && !found->hiu) {
    return make_error(ErrorCode::kPermissionDenied,
                      fmt::format("facility {} is not registered as an HIU", id));
  }
  return found;
}

Status FacilityRegistry::add_professional(const Professional& p, const RegistryActor& by) {
  RETURN_IF_ERROR(validate_professional(p));
  ASSIGN_OR_RETURN(const auto facility_of, facility(p.facility_id));
  (void)facility_of;
  return put({std::string(kProfessionalType), p.id, "", 0, 0, professional_body(p)}, true,
             {registration_index(p.facility_id, p.registration_value)}, by);
}

Status FacilityRegistry::update_professional(const Professional& p, const RegistryActor& by) {
  RETURN_IF_ERROR(validate_professional(p));
  ASSIGN_OR_RETURN(const auto facility_of, facility(p.facility_id));
  (void)facility_of;
  return put({std::string(kProfessionalType), p.id, "", 0, 0, professional_body(p)}, false,
             {registration_index(p.facility_id, p.registration_value)}, by);
}

Result<Professional> FacilityRegistry::professional(std::string_view id) {
  if (!valid_id(id)) return make_error(ErrorCode::kNotFound, "no professional has that id");
  ASSIGN_OR_RETURN(const auto document, documents_.read(kProfessionalType, id));
  if (!document) {
    return make_error(ErrorCode::kNotFound, fmt::format("professional {} is not registered", id));
  }
  return professional_from(*document);
}

Result<std::vector<Professional>> FacilityRegistry::professionals(std::string_view after_id,
                                                                  std::size_t limit) {
  ASSIGN_OR_RETURN(const auto documents,
                   documents_.find_documents(kProfessionalType, kListed,
                                             std::min(limit, kRegistryPageMax), after_id));
  std::vector<Professional> out;
  for (const auto& document : documents) out.push_back(professional_from(document));
  return out;
}

Result<Professional> FacilityRegistry::practising(std::string_view facility_id,
                                                  std::string_view registration_value) {
  ASSIGN_OR_RETURN(const auto documents,
                   documents_.find_documents(
                       kProfessionalType, registration_index(facility_id, registration_value), 2));
  for (const auto& document : documents) {
    Professional p = professional_from(document);
    if (!p.active) continue;
    auto facility_of = facility(p.facility_id);
    if (facility_of && facility_of->active) return p;
  }
  return make_error(ErrorCode::kPermissionDenied,
                    fmt::format("no active professional with registration {} at facility {}",
                                registration_value, facility_id));
}

}  // namespace kavach::consent
