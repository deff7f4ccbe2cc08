// FacilityRegistry: the health facilities (HIPs, HIUs, or both) and health professionals that may
// take part in consent and exchange, each with an id, a name, an Ed25519 public key and (for
// facilities) the callback URL that every message to it goes to. Callback URLs come only from
// here, never from a request, so no caller can point the consent manager at an address of its
// choosing. Only registered, active entries take part; deactivating one stops it at once.
//
// Entries are sealed documents (node key); every change is an audit entry in the same commit.
// Thread-safety: safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit_entry.h"
#include "common/error.h"
#include "vault/sealed_documents.h"

namespace kavach::consent {

inline constexpr std::string_view kFacilityType = "_Facility";
inline constexpr std::string_view kProfessionalType = "_Professional";
inline constexpr std::size_t kRegistryIdMax = 64;
inline constexpr std::size_t kRegistryPageMax = 1000;

enum class FacilityRole : std::uint8_t { kHip, kHiu };

struct Facility {
  std::string id;
  std::string name;
  bool hip = false;
  bool hiu = false;
  std::string callback_url;  // https, or http on loopback only
  std::string public_key;    // Ed25519, base64url (32 bytes)
  bool active = true;
};

struct Professional {
  std::string id;
  std::string name;
  std::string facility_id;
  std::string registration_type = "REGNO";  // as in ABDM's requester.identifier
  std::string registration_value;
  std::string registration_system;
  std::string public_key;
  bool active = true;
};

// Who made a change, for the audit entry.
struct RegistryActor {
  audit::ActorKind kind = audit::ActorKind::kOperator;
  std::string id;
};

// Checks the shape of each field: ids of 1 to 64 letters, digits, '.', '_' or '-'; a name; a
// callback URL that is https (or http to 127.0.0.1/localhost/[::1]); a 32-byte key.
Status validate_facility(const Facility& facility);
Status validate_professional(const Professional& professional);

class FacilityRegistry {
 public:
  explicit FacilityRegistry(vault::SealedDocuments& documents) : documents_(documents) {}

  // kAlreadyExists when the id is taken.
  Status add_facility(const Facility& facility, const RegistryActor& by);
  // Replaces every field but the id; kNotFound for an unknown id.
  Status update_facility(const Facility& facility, const RegistryActor& by);
  Result<Facility> facility(std::string_view id);
  Result<std::vector<Facility>> facilities(std::string_view after_id, std::size_t limit);
  // The facility when it is registered, active and has `role`; kPermissionDenied saying which
  // of those it is not.
  Result<Facility> participant(std::string_view id, FacilityRole role);

  Status add_professional(const Professional& professional, const RegistryActor& by);
  Status update_professional(const Professional& professional, const RegistryActor& by);
  Result<Professional> professional(std::string_view id);
  Result<std::vector<Professional>> professionals(std::string_view after_id, std::size_t limit);
  // The active professional of an active facility with that registration number there;
  // kPermissionDenied otherwise.
  Result<Professional> practising(std::string_view facility_id,
                                  std::string_view registration_value);

 private:
  Status put(vault::Document document, bool create, std::vector<vault::DocumentIndexValue> index,
             const RegistryActor& by);

  vault::SealedDocuments& documents_;
};

}  // namespace kavach::consent
