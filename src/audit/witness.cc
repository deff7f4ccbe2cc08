#include "audit/witness.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <charconv>

#include "common/log.h"
#include "crypto/encoding.h"
#include "crypto/secret_bytes.h"

namespace kavach::audit {
namespace {

namespace json = boost::json;

constexpr std::string_view kLogRecordType = "_WitnessedLog";
constexpr std::string_view kAlarmRecordType = "_WitnessAlarm";
// Every witness record carries this index entry, so they can be listed.
const store::IndexEntry kListed{"listed", {'1'}};

struct Submission {
  std::uint64_t old_size = 0;
  std::vector<ProofElement> proof;
  std::string_view note;
};

tl::unexpected<Error> malformed(std::string message) {
  return make_error(ErrorCode::kInvalidArgument, "add-checkpoint: " + std::move(message));
}

bool parse_size(std::string_view text, std::uint64_t& size) {
  if (text.empty() || (text.size() > 1 && text[0] == '0')) return false;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), size);
  return error == std::errc() && end == text.data() + text.size();
}

Result<Submission> parse_submission(std::string_view body) {
  if (body.size() > kWitnessRequestBytesMax) return malformed("the request is too large");
  auto next_line = [&body]() -> std::optional<std::string_view> {
    const auto end = body.find('\n');
    if (end == std::string_view::npos) return std::nullopt;
    const auto line = body.substr(0, end);
    body.remove_prefix(end + 1);
    return line;
  };
  Submission submission;
  const auto old_line = next_line();
  if (!old_line || !old_line->starts_with("old ") ||
      !parse_size(old_line->substr(4), submission.old_size)) {
    return malformed("the first line must be \"old <size>\"");
  }
  for (;;) {
    const auto line = next_line();
    if (!line) return malformed("the proof must end with an empty line");
    if (line->empty()) break;
    if (submission.proof.size() == kConsistencyProofLinesMax) {
      return malformed("more than 63 proof lines");
    }
    auto hash = crypto::from_base64(*line);
    if (!hash || hash->size() != kHashBytes) return malformed("a proof line is not a hash");
    submission.proof.emplace_back(hash->begin(), hash->end());
  }
  if (body.empty()) return malformed("the checkpoint is missing");
  submission.note = body;
  return submission;
}

std::string record_id(std::string_view origin) {
  const auto hash = sha256(crypto::as_bytes(origin));
  return crypto::to_hex(std::span<const std::uint8_t>(hash).first(16));
}

Result<WitnessedLog> log_from_json(std::string_view text, std::int64_t version) {
  boost::system::error_code error;
  const auto value = json::parse(text, error);
  if (error || !value.is_object()) return make_error(ErrorCode::kDataLoss, "bad witness record");
  const auto& object = value.get_object();
  WitnessedLog log;
  try {
    log.origin = json::value_to<std::string>(object.at("origin"));
    log.verifier_key = json::value_to<std::string>(object.at("verifier_key"));
    log.size = json::value_to<std::uint64_t>(object.at("size"));
    log.note = json::value_to<std::string>(object.at("note"));
    auto root = crypto::from_base64(json::value_to<std::string>(object.at("root")));
    if (!root || root->size() != kHashBytes) throw std::invalid_argument("root");
    std::copy(root->begin(), root->end(), log.root.begin());
  } catch (const std::exception&) {
    return make_error(ErrorCode::kDataLoss, "bad witness record");
  }
  log.version = version;
  return log;
}

}  // namespace

Result<NoteSigner> node_witness_signer(vault::KeyVault& keys, std::string name) {
  ASSIGN_OR_RETURN(const auto seed, keys.key(std::string(kWitnessSigningKey)));
  if (!name.empty()) return NoteSigner::from_seed(name, seed, NoteKeyType::kCosignatureV1);
  ASSIGN_OR_RETURN(const auto provisional,
                   NoteSigner::from_seed("kavach", seed, NoteKeyType::kCosignatureV1));
  const Hash fingerprint = sha256(provisional.public_key());
  return NoteSigner::from_seed(
      "kavach-witness/" + crypto::to_hex(std::span<const std::uint8_t>(fingerprint).first(8)), seed,
      NoteKeyType::kCosignatureV1);
}

Result<std::optional<WitnessedLog>> Witness::find_log(std::string_view origin) {
  ASSIGN_OR_RETURN(const auto record,
                   store_.read_current(std::string(kLogRecordType), record_id(origin)));
  if (!record) return std::nullopt;
  ASSIGN_OR_RETURN(const auto text, sealer_.open(*record));
  ASSIGN_OR_RETURN(auto log, log_from_json(text, record->version));
  if (log.origin != origin) return std::nullopt;
  return log;
}

Status Witness::write_log(const WitnessedLog& log, std::int64_t expected_version) {
  const json::object document{{"origin", log.origin},
                              {"verifier_key", log.verifier_key},
                              {"size", log.size},
                              {"root", crypto::to_base64(log.root)},
                              {"note", log.note}};
  store::RecordWrite write;
  write.record.type = std::string(kLogRecordType);
  write.record.id = record_id(log.origin);
  write.record.version = expected_version + 1;
  write.record.recorded_at_ms = unix_ms(clock_.now());
  write.expected_version = expected_version;
  write.index.push_back(kListed);
  RETURN_IF_ERROR(sealer_.seal(write.record, json::serialize(document)));
  store::WriteBatch batch;
  batch.records.push_back(std::move(write));
  RETURN_IF_ERROR(store_.commit(std::move(batch)));
  return {};
}

Status Witness::add_log(std::string_view verifier_key, std::string_view registered_by) {
  ASSIGN_OR_RETURN(const auto verifier, NoteVerifier::parse(verifier_key));
  if (verifier.type() != NoteKeyType::kEd25519) {
    return make_error(ErrorCode::kInvalidArgument, "a log's key is an Ed25519 note key");
  }
  ASSIGN_OR_RETURN(const auto existing, find_log(verifier.name()));
  if (existing) {
    return make_error(ErrorCode::kAlreadyExists,
                      fmt::format("{} is witnessed already", verifier.name()));
  }
  WitnessedLog log;
  log.origin = verifier.name();
  log.verifier_key = std::string(verifier_key);
  log.root = root_of({});
  log::info("audit.witness_log_added",
            {{"origin", log.origin}, {"by", std::string(registered_by)}});
  return write_log(log, store::kNoVersion);
}

void Witness::raise_alarm(const WitnessedLog& log, std::string reason, std::string_view note) {
  log::error(
      "audit.witness_alarm",
      {{"origin", log.origin}, {"reason", reason}, {"cosigned_size", std::to_string(log.size)}});
  const json::object document{{"origin", log.origin},      {"time_ms", unix_ms(clock_.now())},
                              {"reason", reason},          {"cosigned_size", log.size},
                              {"cosigned_note", log.note}, {"submitted_note", std::string(note)}};
  store::RecordWrite write;
  write.record.type = std::string(kAlarmRecordType);
  write.record.id = crypto::to_hex(crypto::SecretBytes::random(16).view());
  write.record.version = 1;
  write.record.recorded_at_ms = unix_ms(clock_.now());
  write.index.push_back(kListed);
  store::WriteBatch batch;
  if (sealer_.seal(write.record, json::serialize(document))) {
    batch.records.push_back(std::move(write));
    if (auto stored = store_.commit(std::move(batch)); stored) return;
  }
  log::error("audit.witness_alarm_not_stored", {{"origin", log.origin}});
}

Result<AddCheckpointResult> Witness::add_checkpoint(std::string_view body) {
  ASSIGN_OR_RETURN(const auto submission, parse_submission(body));
  const auto origin = submission.note.substr(0, submission.note.find('\n'));
  ASSIGN_OR_RETURN(const auto found, find_log(origin));
  if (!found) {
    return make_error(ErrorCode::kNotFound,
                      fmt::format("this witness does not follow the log {}", origin));
  }
  const WitnessedLog& log = *found;
  ASSIGN_OR_RETURN(const auto verifier, NoteVerifier::parse(log.verifier_key));
  auto text = verifier.open(submission.note);
  if (!text) {
    return make_error(ErrorCode::kPermissionDenied,
                      fmt::format("the checkpoint is not signed by {}'s key", origin));
  }
  auto checkpoint = parse_checkpoint(*text);
  if (!checkpoint) return malformed(checkpoint.error().message);
  if (submission.old_size > checkpoint->size) return malformed("old size beyond the checkpoint");
  if (submission.old_size != log.size) {
    return AddCheckpointResult{AddCheckpointResult::Kind::kSizeMismatch, "", log.size,
                               "the old size is not the latest cosigned size"};
  }
  if (submission.old_size == 0 && !submission.proof.empty()) {
    return malformed("the proof must be empty when the old size is zero");
  }
  if (submission.old_size == checkpoint->size) {
    if (log.size > 0 && checkpoint->root != log.root) {
      raise_alarm(log, "two different roots for one size", submission.note);
      return AddCheckpointResult{AddCheckpointResult::Kind::kFork, "", log.size,
                                 "a different root for the size already cosigned"};
    }
  } else if (submission.old_size > 0) {
    if (auto consistent = verify_consistency(submission.old_size, checkpoint->size,
                                             submission.proof, log.root, checkpoint->root);
        !consistent) {
      raise_alarm(log, "inconsistent with the cosigned checkpoint: " + consistent.error().message,
                  submission.note);
      return AddCheckpointResult{AddCheckpointResult::Kind::kBadProof, "", log.size,
                                 consistent.error().message};
    }
  }
  WitnessedLog next = log;
  next.size = checkpoint->size;
  next.root = checkpoint->root;
  next.note = std::string(submission.note);
  if (auto written = write_log(next, log.version); !written) {
    if (written.error().code != ErrorCode::kConflict) return tl::unexpected(written.error());
    // Another submission moved the log on first; the client retries from the new size.
    ASSIGN_OR_RETURN(const auto now, find_log(origin));
    return AddCheckpointResult{AddCheckpointResult::Kind::kSizeMismatch, "", now ? now->size : 0,
                               "a concurrent submission won"};
  }
  const auto seconds = static_cast<std::uint64_t>(unix_ms(clock_.now()) / 1000);
  ASSIGN_OR_RETURN(auto line, cosigner_.cosignature_line(*text, seconds));
  return AddCheckpointResult{AddCheckpointResult::Kind::kCosigned, std::move(line),
                             checkpoint->size, ""};
}

WitnessAnswer Witness::answer(std::string_view body) {
  auto result = add_checkpoint(body);
  if (!result) {
    const auto& error = result.error();
    switch (error.code) {
      case ErrorCode::kInvalidArgument:
        return {400, "text/plain; charset=utf-8", error.message};
      case ErrorCode::kPermissionDenied:
        return {403, "text/plain; charset=utf-8", error.message};
      case ErrorCode::kNotFound:
        return {404, "text/plain; charset=utf-8", error.message};
      default:
        log::error("audit.witness_failed", {{"error", error.message}});
        return {503, "text/plain; charset=utf-8", "the witness cannot answer now"};
    }
  }
  switch (result->kind) {
    case AddCheckpointResult::Kind::kCosigned:
      return {200, "text/plain; charset=utf-8", result->cosignatures};
    case AddCheckpointResult::Kind::kSizeMismatch:
    case AddCheckpointResult::Kind::kFork:
      return {409, "text/x.tlog.size", fmt::format("{}\n", result->witness_size)};
    case AddCheckpointResult::Kind::kBadProof:
      return {422, "text/plain; charset=utf-8", result->reason};
  }
  return {500, "text/plain; charset=utf-8", "unexpected"};
}

Result<std::vector<WitnessedLog>> Witness::logs() {
  ASSIGN_OR_RETURN(const auto ids, store_.find({std::string(kLogRecordType), kListed, "", 1000}));
  std::vector<WitnessedLog> logs;
  for (const auto& id : ids) {
    ASSIGN_OR_RETURN(const auto record, store_.read_current(std::string(kLogRecordType), id));
    if (!record) continue;
    ASSIGN_OR_RETURN(const auto text, sealer_.open(*record));
    ASSIGN_OR_RETURN(auto log, log_from_json(text, record->version));
    logs.push_back(std::move(log));
  }
  return logs;
}

Result<std::vector<WitnessAlarm>> Witness::alarms() {
  ASSIGN_OR_RETURN(const auto ids, store_.find({std::string(kAlarmRecordType), kListed, "", 1000}));
  std::vector<WitnessAlarm> alarms;
  for (const auto& id : ids) {
    ASSIGN_OR_RETURN(const auto record, store_.read_current(std::string(kAlarmRecordType), id));
    if (!record) continue;
    ASSIGN_OR_RETURN(const auto text, sealer_.open(*record));
    boost::system::error_code error;
    const auto value = json::parse(text, error);
    if (error || !value.is_object()) return make_error(ErrorCode::kDataLoss, "bad alarm record");
    const auto& object = value.get_object();
    WitnessAlarm alarm;
    try {
      alarm.origin = json::value_to<std::string>(object.at("origin"));
      alarm.time_ms = json::value_to<std::int64_t>(object.at("time_ms"));
      alarm.reason = json::value_to<std::string>(object.at("reason"));
      alarm.cosigned_size = json::value_to<std::uint64_t>(object.at("cosigned_size"));
      alarm.submitted_note = json::value_to<std::string>(object.at("submitted_note"));
    } catch (const std::exception&) {
      return make_error(ErrorCode::kDataLoss, "bad alarm record");
    }
    alarms.push_back(std::move(alarm));
  }
  std::sort(alarms.begin(), alarms.end(),
            [](const auto& a, const auto& b) { return a.time_ms < b.time_ms; });
  return alarms;
}

}  // namespace kavach::audit
