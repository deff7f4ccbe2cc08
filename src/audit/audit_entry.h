// AuditEntry: one event of the audit log, and its canonical byte encoding (the Merkle leaf).
//
// An entry says who did what to which record, on what basis, with what outcome and when. It holds
// ids, codes, purposes, hashes and times only: never a patient's name, a clinical value or a
// resource's content (the content is named by the SHA-256 of its sealed payload).
//
// Encoding, version 1: the byte 0x01, then each present field as (tag: 1 byte, length: 2 bytes
// big-endian, value), in strictly increasing tag order. Integers are 8 bytes big-endian; text is
// UTF-8 without control characters; absent optional fields are left out. decode() accepts only
// that exact form (no unknown or repeated tags, no disorder, no trailing bytes), so every entry
// has exactly one encoding and re-encoding a decoded entry gives back the same bytes.
// Version 2 is version 1 with one more field, the further records an event touched (a page of
// search results); the byte 0x02 marks exactly the entries that carry it, so every entry written
// before it keeps its bytes (and its place in the Merkle tree). Version 3 (0x03), what entries
// with further records are written in now, is version 2 with those records written compactly
// (docs/audit.md); entries already written in version 2 stay valid as they are.
// Thread-safety: plain values and stateless functions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace kavach::audit {

inline constexpr std::uint8_t kEntryFormatVersion = 1;
// Entries with further records: written in version 3; version 2 is read (and re-encoded, to check
// its canonical form) as it was written.
inline constexpr std::uint8_t kEntryWithRecordsFormatVersion = 3;
inline constexpr std::uint8_t kEntryWithFullRecordsFormatVersion = 2;
inline constexpr std::size_t kEntryTextBytesMax = 256;
inline constexpr std::size_t kEntryBytesMax = 4096;
// A further record's type and id: FHIR ids are at most 64 characters, type names shorter.
inline constexpr std::size_t kTouchedRecordTextBytesMax = 64;

// What happened. The text forms ("fhir.read", ...) are what the AuditEvent views and the CLI show.
enum class Action : std::uint8_t {
  kRecordCreate = 1,
  kRecordRead = 2,
  kRecordUpdate = 3,
  kRecordDelete = 4,
  kRecordHistory = 5,
  kRecordSearch = 6,
  kPatientErase = 7,
  kKeyRotate = 8,
  kClientRegister = 9,
  kAuditRead = 10,  // an auditor (or, through the CM, the patient) read entries of the log
  // Consent manager: accounts, registries and consent decisions.
  kAccountEnrol = 11,
  kAccountSignIn = 12,
  kAccountChange = 13,  // lock, unlock, password, nominee, session ended
  kRegistryChange = 14,
  kConsentRequest = 15,
  kConsentGrant = 16,
  kConsentDeny = 17,
  kConsentRevoke = 18,
  kConsentExpire = 19,
  kConsentFetch = 20,
  kBreakGlass = 21,
  // Health-information exchange: a data request under a consent (at the CM and the HIP), a page
  // of records pushed to or received by a user node, and a user node's erasure of what it got.
  kDataRequest = 22,
  kDataTransfer = 23,
  kDataErase = 24,
  kRecordExport = 25,  // a record written into a bulk export's output
  // The anomaly guard locked a principal, and an administrator released it.
  kPrincipalLock = 26,
  kPrincipalRelease = 27,
  // A user node (HIU) looked a patient up by health ID at the consent manager.
  kPatientFind = 28,
};
inline constexpr Action kLastAction = Action::kPatientFind;

enum class Outcome : std::uint8_t {
  kAllowed = 1,
  kDenied = 2,
};

// Why the actor could do it: a client's granted scopes, a patient's consent artefact, an
// emergency break-the-glass, or an operator at the node's console.
enum class Basis : std::uint8_t {
  kScope = 1,
  kConsent = 2,
  kBreakGlass = 3,
  kOperator = 4,
};

enum class ActorKind : std::uint8_t {
  kClient = 1,
  kProfessional = 2,
  kPatient = 3,
  kOperator = 4,
  kNode = 5,
};

// A record touched by the same event as the one an entry's resource fields name, of the same
// patient: a search page is logged as one entry per patient listing what it returned, not one
// entry per record.
struct TouchedRecord {
  std::string type;
  std::string id;
  std::int64_t version = 0;                // at least 1
  std::vector<std::uint8_t> content_hash;  // SHA-256 of the sealed payload read, or empty

  bool operator==(const TouchedRecord&) const = default;
};

struct AuditEntry {
  std::int64_t time_ms = 0;
  Action action = Action::kRecordRead;
  Outcome outcome = Outcome::kAllowed;
  Basis basis = Basis::kScope;
  ActorKind actor_kind = ActorKind::kClient;
  std::string actor_id;
  std::string facility_id;    // the actor's facility, when it has one
  std::string subject;        // the patient concerned ("" for node-wide events)
  std::string resource_type;  // for record events
  std::string resource_id;
  std::int64_t resource_version = 0;       // 0 when no single version is concerned
  std::string purpose;                     // ABDM purpose code when access is under consent
  std::string consent_id;                  // the consent artefact relied on
  std::string reason;                      // why it was denied, as an error code name
  std::vector<std::uint8_t> content_hash;  // SHA-256 of the sealed payload written or read
  // Records beyond the one above that the event touched (format version 2 or 3 when not empty).
  std::vector<TouchedRecord> further_records;

  bool operator==(const AuditEntry&) const = default;
};

// kInvalidArgument when a field cannot be logged: text too long or with control characters, a
// content hash that is not 32 bytes, a code outside its enumeration, a further record without a
// type, id or version, or an encoding longer than kEntryBytesMax. An entry with further records
// is written in `records_version` (kEntryWithRecordsFormatVersion; the older
// kEntryWithFullRecordsFormatVersion only to re-encode an entry read in it).
Result<std::vector<std::uint8_t>> encode_entry(
    const AuditEntry& entry, std::uint8_t records_version = kEntryWithRecordsFormatVersion);
// kInvalidArgument (naming the problem) for anything but a canonical version-1, -2 or -3
// encoding.
Result<AuditEntry> decode_entry(std::span<const std::uint8_t> bytes);
// The records_version an encoding is read in, and re-encodes in: version 2 for a version-2 entry,
// else the current one.
std::uint8_t records_version_of(std::span<const std::uint8_t> bytes);

// How many records an entry names: the one in its resource fields (if any) and the further ones.
std::size_t records_named(const AuditEntry& entry);

// What the anomaly guard judges an entry by (guard/access_guard.h).
struct EntryFacts {
  Action action = Action::kRecordRead;
  Outcome outcome = Outcome::kAllowed;
  ActorKind actor_kind = ActorKind::kClient;
  std::string actor_id;
  std::string subject;
  std::size_t records_named = 0;

  bool operator==(const EntryFacts&) const = default;
};
EntryFacts facts_of(const AuditEntry& entry);
// The same, read from an encoding without building its list of further records (only counted)
// and without decode_entry's re-encoding to prove canonical form: for entries this process has
// just encoded, which the guard reads from every batch queued (decoding each in full was 3% of a
// search). Refuses what it cannot read as decode_entry does; accepts some non-canonical forms
// decode_entry refuses, so never use it on bytes from storage or from outside.
Result<EntryFacts> read_entry_facts(std::span<const std::uint8_t> bytes);

// The entries of one request that differ only in the record they name (and their time, read from
// the clock per record), folded into one entry per remaining difference (in practice: per
// patient), each listing its records in the order given as long as it fits kEntryBytesMax, then
// continued in another. The first entry of each fold gives its time. Entries that name no record
// or already list further records are kept as they are. Order: by each fold's first entry.
std::vector<AuditEntry> fold_records(std::vector<AuditEntry> entries);

std::string_view action_name(Action action);
std::string_view outcome_name(Outcome outcome);
std::string_view basis_name(Basis basis);
std::string_view actor_kind_name(ActorKind kind);

}  // namespace kavach::audit
