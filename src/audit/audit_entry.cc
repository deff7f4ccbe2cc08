#include "audit/audit_entry.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

#include "crypto/encoding.h"

namespace kavach::audit {
namespace {

// Field tags, in the order they are written. Never renumber one; add new tags at the end.
enum class Tag : std::uint8_t {
  kTime = 1,
  kAction = 2,
  kOutcome = 3,
  kBasis = 4,
  kActorKind = 5,
  kActorId = 6,
  kFacilityId = 7,
  kSubject = 8,
  kResourceType = 9,
  kResourceId = 10,
  kResourceVersion = 11,
  kPurpose = 12,
  kConsentId = 13,
  kReason = 14,
  kContentHash = 15,
  // Further records (versions 2 and 3; see further_records_value).
  kFurtherRecords = 16,
};
constexpr std::uint8_t kLastTag = static_cast<std::uint8_t>(Tag::kFurtherRecords);
constexpr std::size_t kContentHashBytes = 32;

tl::unexpected<Error> entry_error(std::string message) {
  return make_error(ErrorCode::kInvalidArgument, "audit entry: " + std::move(message));
}

bool is_clean_text(std::string_view text) {
  return text.size() <= kEntryTextBytesMax && std::none_of(text.begin(), text.end(), [](char c) {
           const auto byte = static_cast<unsigned char>(c);
           return byte < 0x20 || byte == 0x7f;
         });
}

template <class Enum>
bool in_range(Enum value, Enum last) {
  const auto raw = static_cast<std::uint8_t>(value);
  return raw >= 1 && raw <= static_cast<std::uint8_t>(last);
}

bool is_record_text(std::string_view text) {
  return !text.empty() && text.size() <= kTouchedRecordTextBytesMax && is_clean_text(text);
}

bool is_touched_record(const TouchedRecord& record) {
  return is_record_text(record.type) && is_record_text(record.id) && record.version >= 1 &&
         (record.content_hash.empty() || record.content_hash.size() == kContentHashBytes);
}

// Version 3 writes an id of lowercase hex digits, of even length, as the bytes they spell (the ids
// this node assigns are 32 of them), marked by the top bit of its length byte.
bool packs_as_hex(std::string_view id) {
  return id.size() % 2 == 0 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}
constexpr std::uint8_t kHexIdMark = 0x80;
// Version 3's type byte for "the type of the record before".
constexpr std::uint8_t kSameType = 0;

std::size_t varint_bytes(std::uint64_t value) {
  std::size_t bytes = 1;
  for (; value >= 0x80; value >>= 7) ++bytes;
  return bytes;
}

// The bytes `record` adds to a version-3 further records value after a record of
// `previous_type` (nullptr for the first).
std::size_t compact_record_bytes(const TouchedRecord& record, const std::string* previous_type) {
  const bool same_type = previous_type != nullptr && *previous_type == record.type;
  const std::size_t id_bytes = packs_as_hex(record.id) ? record.id.size() / 2 : record.id.size();
  return (same_type ? 1 : 1 + record.type.size()) + 1 + id_bytes +
         varint_bytes(static_cast<std::uint64_t>(record.version)) + 1 + record.content_hash.size();
}

void append_integer(std::vector<std::uint8_t>& bytes, std::int64_t value) {
  for (int i = 0; i < 8; ++i)
    bytes.push_back(static_cast<std::uint8_t>(static_cast<std::uint64_t>(value) >> (56 - 8 * i)));
}

std::int64_t integer_at(std::span<const std::uint8_t> value) {
  std::uint64_t raw = 0;
  for (const auto byte : value.first(8)) raw = (raw << 8) | byte;
  return static_cast<std::int64_t>(raw);
}

void append_sized(std::vector<std::uint8_t>& bytes, std::string_view text) {
  bytes.push_back(static_cast<std::uint8_t>(text.size()));
  bytes.insert(bytes.end(), text.begin(), text.end());
}

// Field 16's value: each further record in turn.
// Version 2: type length (1 byte), type, id length (1 byte), id, version (8 bytes), content hash
// length (1 byte: 0 or 32), content hash.
// Version 3: the type as in version 2, or the single byte 0 for the type of the record before;
// the id as in version 2, or, when it is lowercase hex of even length, 0x80 | its length in bytes
// and those bytes; the version as an unsigned LEB128 varint (at most 9 bytes); the content hash
// as in version 2. A search page of 20 records takes about 1,000 bytes instead of 1,700.
std::vector<std::uint8_t> further_records_value(const std::vector<TouchedRecord>& records,
                                                std::uint8_t version) {
  std::vector<std::uint8_t> bytes;
  const std::string* previous_type = nullptr;
  for (const auto& record : records) {
    if (version == kEntryWithFullRecordsFormatVersion) {
      append_sized(bytes, record.type);
      append_sized(bytes, record.id);
      append_integer(bytes, record.version);
    } else {
      if (previous_type != nullptr && *previous_type == record.type) {
        bytes.push_back(kSameType);
      } else {
        append_sized(bytes, record.type);
      }
      previous_type = &record.type;
      if (packs_as_hex(record.id)) {
        bytes.push_back(static_cast<std::uint8_t>(kHexIdMark | (record.id.size() / 2)));
        const auto packed = crypto::from_hex(record.id);
        bytes.insert(bytes.end(), packed->begin(), packed->end());
      } else {
        append_sized(bytes, record.id);
      }
      for (auto rest = static_cast<std::uint64_t>(record.version);; rest >>= 7) {
        const auto low = static_cast<std::uint8_t>(rest & 0x7f);
        if (rest < 0x80) {
          bytes.push_back(low);
          break;
        }
        bytes.push_back(low | 0x80);
      }
    }
    bytes.push_back(static_cast<std::uint8_t>(record.content_hash.size()));
    bytes.insert(bytes.end(), record.content_hash.begin(), record.content_hash.end());
  }
  return bytes;
}

// A further record as read from field 16: its id is text, or the bytes of a hex id (version 3).
struct RecordView {
  std::span<const std::uint8_t> type;
  std::span<const std::uint8_t> id;
  bool id_is_hex = false;
  std::int64_t version = 0;
  std::span<const std::uint8_t> hash;
};

// Calls `visit(record)` for each further record in field 16's value, written in `version`.
template <class Visit>
Status walk_further_records(std::span<const std::uint8_t> value, std::uint8_t version,
                            Visit&& visit) {
  const auto cut_short = [] { return entry_error("a further record is cut short"); };
  // Takes `size` bytes.
  const auto take = [&value](std::size_t size, std::span<const std::uint8_t>& out) {
    if (value.size() < size) return false;
    out = value.first(size);
    value = value.subspan(size);
    return true;
  };
  // Takes a length byte and that many bytes after it.
  const auto take_sized = [&](std::span<const std::uint8_t>& out) {
    if (value.empty()) return false;
    const std::size_t size = value[0];
    value = value.subspan(1);
    return take(size, out);
  };
  std::span<const std::uint8_t> previous_type;
  while (!value.empty()) {
    RecordView record;
    if (version == kEntryWithFullRecordsFormatVersion) {
      std::span<const std::uint8_t> raw_version;
      if (!take_sized(record.type) || !take_sized(record.id) || !take(8, raw_version)) {
        return cut_short();
      }
      record.version = integer_at(raw_version);
    } else {
      if (value[0] == kSameType) {
        if (previous_type.empty()) return entry_error("the first further record has no type");
        record.type = previous_type;
        value = value.subspan(1);
      } else if (!take_sized(record.type)) {
        return cut_short();
      }
      previous_type = record.type;
      if (value.empty()) return cut_short();
      record.id_is_hex = (value[0] & kHexIdMark) != 0;
      const std::size_t id_bytes = value[0] & ~kHexIdMark;
      value = value.subspan(1);
      if (!take(id_bytes, record.id)) return cut_short();
      // At most 9 bytes of 7 bits: the value fits an int64.
      std::uint64_t number = 0;
      for (int shift = 0;; shift += 7) {
        if (value.empty()) return cut_short();
        if (shift > 56) return entry_error("a further record's version is too long");
        const std::uint8_t byte = value[0];
        value = value.subspan(1);
        number |= std::uint64_t{byte & 0x7fU} << shift;
        if ((byte & 0x80) == 0) break;
      }
      record.version = static_cast<std::int64_t>(number);
    }
    if (!take_sized(record.hash)) return cut_short();
    RETURN_IF_ERROR(visit(record));
  }
  return {};
}

Result<std::vector<TouchedRecord>> read_further_records(std::span<const std::uint8_t> value,
                                                        std::uint8_t version) {
  std::vector<TouchedRecord> records;
  RETURN_IF_ERROR(
      walk_further_records(value, version, [&records](const RecordView& view) -> Status {
        TouchedRecord record{
            std::string(view.type.begin(), view.type.end()),
            view.id_is_hex ? crypto::to_hex(view.id) : std::string(view.id.begin(), view.id.end()),
            view.version, std::vector<std::uint8_t>(view.hash.begin(), view.hash.end())};
        if (!is_touched_record(record)) {
          return entry_error("a further record lacks a type, id or version, or has a bad hash");
        }
        records.push_back(std::move(record));
        return {};
      }));
  return records;
}

class Writer {
 public:
  explicit Writer(std::uint8_t version) { bytes_.push_back(version); }
  void field(Tag tag, std::span<const std::uint8_t> value) {
    bytes_.push_back(static_cast<std::uint8_t>(tag));
    bytes_.push_back(static_cast<std::uint8_t>(value.size() >> 8));
    bytes_.push_back(static_cast<std::uint8_t>(value.size() & 0xff));
    bytes_.insert(bytes_.end(), value.begin(), value.end());
  }
  void text(Tag tag, std::string_view value) {
    if (value.empty()) return;
    field(tag, {reinterpret_cast<const std::uint8_t*>(value.data()), value.size()});
  }
  void integer(Tag tag, std::int64_t value) {
    std::vector<std::uint8_t> raw;
    append_integer(raw, value);
    field(tag, raw);
  }
  void code(Tag tag, std::uint8_t value) { field(tag, {&value, 1}); }
  std::vector<std::uint8_t> take() { return std::move(bytes_); }

 private:
  std::vector<std::uint8_t> bytes_;
};

Result<std::string> read_text(std::span<const std::uint8_t> value, std::string_view name) {
  std::string text(value.begin(), value.end());
  if (text.empty() || !is_clean_text(text)) {
    return entry_error(fmt::format("{} is empty, too long or has control characters", name));
  }
  return text;
}

Result<std::int64_t> read_integer(std::span<const std::uint8_t> value, std::string_view name) {
  if (value.size() != 8) return entry_error(fmt::format("{} is not 8 bytes", name));
  return integer_at(value);
}

template <class Enum>
Result<Enum> read_code(std::span<const std::uint8_t> value, Enum last, std::string_view name) {
  if (value.size() != 1) return entry_error(fmt::format("{} is not one byte", name));
  const auto code = static_cast<Enum>(value[0]);
  if (!in_range(code, last)) return entry_error(fmt::format("{} {} is unknown", name, value[0]));
  return code;
}

// `version` is the entry's, which says how field 16 is written.
Status read_field(Tag tag, std::span<const std::uint8_t> value, std::uint8_t version,
                  AuditEntry& entry) {
  switch (tag) {
    case Tag::kTime: {
      ASSIGN_OR_RETURN(entry.time_ms, read_integer(value, "time"));
      return {};
    }
    case Tag::kAction: {
      ASSIGN_OR_RETURN(entry.action, read_code(value, kLastAction, "action"));
      return {};
    }
    case Tag::kOutcome: {
      ASSIGN_OR_RETURN(entry.outcome, read_code(value, Outcome::kDenied, "outcome"));
      return {};
    }
    case Tag::kBasis: {
      ASSIGN_OR_RETURN(entry.basis, read_code(value, Basis::kOperator, "basis"));
      return {};
    }
    case Tag::kActorKind: {
      ASSIGN_OR_RETURN(entry.actor_kind, read_code(value, ActorKind::kNode, "actor kind"));
      return {};
    }
    case Tag::kActorId: {
      ASSIGN_OR_RETURN(entry.actor_id, read_text(value, "actor id"));
      return {};
    }
    case Tag::kFacilityId: {
      ASSIGN_OR_RETURN(entry.facility_id, read_text(value, "facility id"));
      return {};
    }
    case Tag::kSubject: {
      ASSIGN_OR_RETURN(entry.subject, read_text(value, "subject"));
      return {};
    }
    case Tag::kResourceType: {
      ASSIGN_OR_RETURN(entry.resource_type, read_text(value, "resource type"));
      return {};
    }
    case Tag::kResourceId: {
      ASSIGN_OR_RETURN(entry.resource_id, read_text(value, "resource id"));
      return {};
    }
    case Tag::kResourceVersion: {
      ASSIGN_OR_RETURN(entry.resource_version, read_integer(value, "resource version"));
      if (entry.resource_version == 0) return entry_error("a zero resource version is left out");
      return {};
    }
    case Tag::kPurpose: {
      ASSIGN_OR_RETURN(entry.purpose, read_text(value, "purpose"));
      return {};
    }
    case Tag::kConsentId: {
      ASSIGN_OR_RETURN(entry.consent_id, read_text(value, "consent id"));
      return {};
    }
    case Tag::kReason: {
      ASSIGN_OR_RETURN(entry.reason, read_text(value, "reason"));
      return {};
    }
    case Tag::kContentHash:
      if (value.size() != kContentHashBytes) return entry_error("content hash is not 32 bytes");
      entry.content_hash.assign(value.begin(), value.end());
      return {};
    case Tag::kFurtherRecords: {
      ASSIGN_OR_RETURN(entry.further_records, read_further_records(value, version));
      return {};
    }
  }
  return entry_error("unknown field");
}

}  // namespace

Result<std::vector<std::uint8_t>> encode_entry(const AuditEntry& entry,
                                               std::uint8_t records_version) {
  if (records_version != kEntryWithRecordsFormatVersion &&
      records_version != kEntryWithFullRecordsFormatVersion) {
    return entry_error(
        fmt::format("no version {} for entries with further records", records_version));
  }
  if (!in_range(entry.action, kLastAction) || !in_range(entry.outcome, Outcome::kDenied) ||
      !in_range(entry.basis, Basis::kOperator) || !in_range(entry.actor_kind, ActorKind::kNode)) {
    return entry_error("a code is outside its enumeration");
  }
  for (const std::string_view text :
       {std::string_view(entry.actor_id), std::string_view(entry.facility_id),
        std::string_view(entry.subject), std::string_view(entry.resource_type),
        std::string_view(entry.resource_id), std::string_view(entry.purpose),
        std::string_view(entry.consent_id), std::string_view(entry.reason)}) {
    if (!is_clean_text(text))
      return entry_error("a text field is too long or has control characters");
  }
  if (!entry.content_hash.empty() && entry.content_hash.size() != kContentHashBytes) {
    return entry_error("content hash is not 32 bytes");
  }
  if (!std::all_of(entry.further_records.begin(), entry.further_records.end(), is_touched_record)) {
    return entry_error("a further record lacks a type, id or version, or has a bad hash");
  }
  const std::uint8_t version =
      entry.further_records.empty() ? kEntryFormatVersion : records_version;
  Writer writer(version);
  writer.integer(Tag::kTime, entry.time_ms);
  writer.code(Tag::kAction, static_cast<std::uint8_t>(entry.action));
  writer.code(Tag::kOutcome, static_cast<std::uint8_t>(entry.outcome));
  writer.code(Tag::kBasis, static_cast<std::uint8_t>(entry.basis));
  writer.code(Tag::kActorKind, static_cast<std::uint8_t>(entry.actor_kind));
  writer.text(Tag::kActorId, entry.actor_id);
  writer.text(Tag::kFacilityId, entry.facility_id);
  writer.text(Tag::kSubject, entry.subject);
  writer.text(Tag::kResourceType, entry.resource_type);
  writer.text(Tag::kResourceId, entry.resource_id);
  if (entry.resource_version != 0) writer.integer(Tag::kResourceVersion, entry.resource_version);
  writer.text(Tag::kPurpose, entry.purpose);
  writer.text(Tag::kConsentId, entry.consent_id);
  writer.text(Tag::kReason, entry.reason);
  if (!entry.content_hash.empty()) writer.field(Tag::kContentHash, entry.content_hash);
  if (!entry.further_records.empty()) {
    writer.field(Tag::kFurtherRecords, further_records_value(entry.further_records, version));
  }
  auto bytes = writer.take();
  // Also refuses any field too long for its 2-byte length, which the writer would have cut.
  if (bytes.size() > kEntryBytesMax) return entry_error("longer than the limit");
  return bytes;
}

namespace {

// Calls `visit(tag, value)` for each field of an encoding, once its framing is checked: the
// version byte, the length limit, field headers and lengths, and tags known and increasing.
template <class Visit>
Status walk_fields(std::span<const std::uint8_t> bytes, Visit&& visit) {
  if (bytes.size() > kEntryBytesMax) return entry_error("longer than the limit");
  if (bytes.empty() ||
      (bytes[0] != kEntryFormatVersion && bytes[0] != kEntryWithFullRecordsFormatVersion &&
       bytes[0] != kEntryWithRecordsFormatVersion)) {
    return entry_error("not a version-1, -2 or -3 entry");
  }
  std::uint8_t previous_tag = 0;
  std::size_t at = 1;
  while (at < bytes.size()) {
    if (bytes.size() - at < 3) return entry_error("a field header is cut short");
    const std::uint8_t tag = bytes[at];
    const std::size_t length = (std::size_t{bytes[at + 1]} << 8) | bytes[at + 2];
    at += 3;
    if (tag <= previous_tag || tag > kLastTag) {
      return entry_error(fmt::format("field {} is unknown, repeated or out of order", tag));
    }
    if (bytes.size() - at < length) return entry_error("a field is cut short");
    RETURN_IF_ERROR(visit(static_cast<Tag>(tag), bytes.subspan(at, length)));
    previous_tag = tag;
    at += length;
  }
  return {};
}

}  // namespace

// A version-1 entry may not have further records: read in the current version, such an entry's
// re-encoding does not match it.
std::uint8_t records_version_of(std::span<const std::uint8_t> bytes) {
  return !bytes.empty() && bytes[0] == kEntryWithFullRecordsFormatVersion
             ? kEntryWithFullRecordsFormatVersion
             : kEntryWithRecordsFormatVersion;
}

Result<AuditEntry> decode_entry(std::span<const std::uint8_t> bytes) {
  AuditEntry entry;
  const std::uint8_t records_version = records_version_of(bytes);
  RETURN_IF_ERROR(walk_fields(bytes, [&](Tag tag, std::span<const std::uint8_t> value) {
    return read_field(tag, value, records_version, entry);
  }));
  // Re-encoding also catches a missing time, action, outcome, basis or actor kind (the encoder
  // always writes them), a version byte that does not match the further records' presence, and
  // any second way of writing a further record (a hex id as text, a varint with a needless byte,
  // a type repeated instead of marked the same).
  ASSIGN_OR_RETURN(const auto again, encode_entry(entry, records_version));
  if (!std::equal(again.begin(), again.end(), bytes.begin(), bytes.end())) {
    return entry_error("not in canonical form");
  }
  return entry;
}

std::string_view action_name(Action action) {
  switch (action) {
    case Action::kRecordCreate:
      return "record.create";
    case Action::kRecordRead:
      return "record.read";
    case Action::kRecordUpdate:
      return "record.update";
    case Action::kRecordDelete:
      return "record.delete";
    case Action::kRecordHistory:
      return "record.history";
    case Action::kRecordSearch:
      return "record.search";
    case Action::kPatientErase:
      return "patient.erase";
    case Action::kKeyRotate:
      return "key.rotate";
    case Action::kClientRegister:
      return "client.register";
    case Action::kAuditRead:
      return "audit.read";
    case Action::kAccountEnrol:
      return "account.enrol";
    case Action::kAccountSignIn:
      return "account.sign-in";
    case Action::kAccountChange:
      return "account.change";
    case Action::kRegistryChange:
      return "registry.change";
    case Action::kConsentRequest:
      return "consent.request";
    case Action::kConsentGrant:
      return "consent.grant";
    case Action::kConsentDeny:
      return "consent.deny";
    case Action::kConsentRevoke:
      return "consent.revoke";
    case Action::kConsentExpire:
      return "consent.expire";
    case Action::kConsentFetch:
      return "consent.fetch";
    case Action::kBreakGlass:
      return "break-glass";
    case Action::kDataRequest:
      return "data.request";
    case Action::kDataTransfer:
      return "data.transfer";
    case Action::kDataErase:
      return "data.erase";
    case Action::kRecordExport:
      return "record.export";
    case Action::kPrincipalLock:
      return "principal.lock";
    case Action::kPrincipalRelease:
      return "principal.release";
    case Action::kPatientFind:
      return "patient.find";
  }
  return "unknown";
}

std::string_view outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::kAllowed:
      return "allowed";
    case Outcome::kDenied:
      return "denied";
  }
  return "unknown";
}

std::string_view basis_name(Basis basis) {
  switch (basis) {
    case Basis::kScope:
      return "scope";
    case Basis::kConsent:
      return "consent";
    case Basis::kBreakGlass:
      return "break-the-glass";
    case Basis::kOperator:
      return "operator";
  }
  return "unknown";
}

std::string_view actor_kind_name(ActorKind kind) {
  switch (kind) {
    case ActorKind::kClient:
      return "client";
    case ActorKind::kProfessional:
      return "professional";
    case ActorKind::kPatient:
      return "patient";
    case ActorKind::kOperator:
      return "operator";
    case ActorKind::kNode:
      return "node";
  }
  return "unknown";
}

std::size_t records_named(const AuditEntry& entry) {
  return (entry.resource_id.empty() ? 0 : 1) + entry.further_records.size();
}

EntryFacts facts_of(const AuditEntry& entry) {
  return EntryFacts{entry.action,   entry.outcome, entry.actor_kind,
                    entry.actor_id, entry.subject, records_named(entry)};
}

Result<EntryFacts> read_entry_facts(std::span<const std::uint8_t> bytes) {
  AuditEntry fields;  // everything but the further records, which are only counted
  std::size_t further_records = 0;
  const std::uint8_t records_version = records_version_of(bytes);
  RETURN_IF_ERROR(walk_fields(bytes, [&](Tag tag, std::span<const std::uint8_t> value) -> Status {
    if (tag != Tag::kFurtherRecords) return read_field(tag, value, records_version, fields);
    return walk_further_records(value, records_version, [&further_records](const RecordView&) {
      ++further_records;
      return Status{};
    });
  }));
  EntryFacts facts = facts_of(fields);
  facts.records_named += further_records;
  return facts;
}

std::vector<AuditEntry> fold_records(std::vector<AuditEntry> entries) {
  // Everything but the record and the time.
  const auto same_event = [](const AuditEntry& a, const AuditEntry& b) {
    return a.action == b.action && a.outcome == b.outcome && a.basis == b.basis &&
           a.actor_kind == b.actor_kind && a.actor_id == b.actor_id &&
           a.facility_id == b.facility_id && a.subject == b.subject && a.purpose == b.purpose &&
           a.consent_id == b.consent_id && a.reason == b.reason;
  };
  std::vector<AuditEntry> folded;
  struct Fold {
    std::size_t at;     // in `folded`
    std::size_t bytes;  // its encoded size so far
  };
  // The folds still taking records, by patient: a page usually has one or a few.
  std::unordered_map<std::string, std::vector<Fold>> open;
  for (auto& entry : entries) {
    TouchedRecord record{entry.resource_type, entry.resource_id, entry.resource_version,
                         entry.content_hash};
    if (!entry.further_records.empty() || !is_touched_record(record)) {
      folded.push_back(std::move(entry));
      continue;
    }
    auto& folds = open[entry.subject];
    const auto fold = std::find_if(folds.begin(), folds.end(), [&](const Fold& candidate) {
      return same_event(folded[candidate.at], entry);
    });
    if (fold != folds.end()) {
      auto& into = folded[fold->at];
      const std::size_t added =
          into.further_records.empty()
              ? 3 + compact_record_bytes(record, nullptr)
              : compact_record_bytes(record, &into.further_records.back().type);
      if (fold->bytes + added <= kEntryBytesMax) {
        into.further_records.push_back(std::move(record));
        fold->bytes += added;
        continue;
      }
      folds.erase(fold);  // full: the next record starts another
    }
    auto bytes = encode_entry(entry);
    if (!bytes) {  // left for the log's own encoding to refuse, with its reason
      folded.push_back(std::move(entry));
      continue;
    }
    folds.push_back(Fold{folded.size(), bytes->size()});
    folded.push_back(std::move(entry));
  }
  return folded;
}

}  // namespace kavach::audit
