// kavach audit verify | key | checkpoint | export
#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "audit/entry_json.h"
#include "audit/log_verifier.h"
#include "cli/node_flags.h"
#include "cli/subcommands.h"
#include "common/limits.h"
#include "common/time_format.h"
#include "crypto/encoding.h"

namespace kavach::cli {
namespace {

struct AuditFlags {
  NodeOptions node;
  std::string origin;
  std::filesystem::path checkpoint_file;
  std::filesystem::path out_dir;
  bool json = false;
};

Result<std::string> read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("cannot read {}", path.string()));
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > limits::kBodyBytesMax) {
    return make_error(ErrorCode::kTooLarge, fmt::format("{} is too large", path.string()));
  }
  return text;
}

boost::json::object report_json(const audit::VerifyReport& report) {
  boost::json::array findings;
  for (const auto& finding : report.findings) {
    boost::json::object item{{"kind", audit::finding_kind_name(finding.kind)},
                             {"message", finding.message}};
    if (finding.index >= 0) item["index"] = finding.index;
    if (finding.count > 1) item["count"] = finding.count;
    if (finding.signed_at >= 0) item["signed_at"] = finding.signed_at;
    findings.push_back(std::move(item));
  }
  return {{"origin", report.origin},
          {"ok", report.ok()},
          {"entries", report.entries},
          {"checkpoint_size", report.checkpoint_size},
          {"unverified_tail", report.unverified_tail},
          {"checkpoints_checked", report.checkpoints_checked},
          {"findings", std::move(findings)},
          {"findings_truncated", report.findings_truncated}};
}

void print_report(const audit::VerifyReport& report) {
  if (report.checkpoint_size == 0) {
    std::cout << fmt::format(
        "audit log {}: {} entries, no signed checkpoint yet (a running server signs one every "
        "second)\n",
        report.origin, report.entries);
  } else {
    std::cout << fmt::format(
        "audit log {}: {} entries, checked against the checkpoint at size {} ({} stored "
        "checkpoints checked)\n",
        report.origin, report.entries, report.checkpoint_size, report.checkpoints_checked);
  }
  if (report.unverified_tail > 0) {
    std::cout << fmt::format("{} entries after that checkpoint are not signed yet\n",
                             report.unverified_tail);
  }
  if (report.ok()) {
    std::cout << "OK: every signed entry is present, unchanged and in order\n";
    return;
  }
  std::cout << fmt::format("FAILED: {} finding{}{}\n", report.findings.size(),
                           report.findings.size() == 1 ? "" : "s",
                           report.findings_truncated ? " (list cut short)" : "");
  for (const auto& finding : report.findings) {
    std::cout << fmt::format("  [{}] {}\n", audit::finding_kind_name(finding.kind),
                             finding.message);
  }
}

Status verify(const AuditFlags& flags) {
  ASSIGN_OR_RETURN(auto node, Node::open(flags.node));
  ASSIGN_OR_RETURN(const auto signer, audit::node_audit_signer(node->keys(), flags.origin));
  ASSIGN_OR_RETURN(const auto verifier, audit::NoteVerifier::parse(signer.verifier_key()));
  audit::VerifyOptions options;
  if (!flags.checkpoint_file.empty()) {
    ASSIGN_OR_RETURN(options.trusted_checkpoint, read_text_file(flags.checkpoint_file));
  }
  ASSIGN_OR_RETURN(const auto report, audit::verify_log(node->store(), verifier, options));
  if (flags.json) {
    std::cout << boost::json::serialize(report_json(report)) << "\n";
  } else {
    print_report(report);
  }
  if (!report.ok()) {
    return make_error(
        ErrorCode::kDataLoss,
        fmt::format("the audit log failed verification ({} findings)", report.findings.size()));
  }
  return {};
}

Result<std::ofstream> create_file(const std::filesystem::path& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    return make_error(ErrorCode::kFailedPrecondition,
                      fmt::format("cannot write {}", path.string()));
  }
  return out;
}

// Writes the verifier key, the latest checkpoint, every checkpoint and every entry (canonical
// bytes, leaf hash and a readable view), so that a regulator can verify and read the log with no
// access to the node.
Status export_log(const AuditFlags& flags) {
  ASSIGN_OR_RETURN(auto node, Node::open(flags.node));
  ASSIGN_OR_RETURN(const auto signer, audit::node_audit_signer(node->keys(), flags.origin));
  std::error_code error;
  std::filesystem::create_directories(flags.out_dir, error);
  if (error) {
    return make_error(ErrorCode::kFailedPrecondition,
                      fmt::format("cannot create {}: {}", flags.out_dir.string(), error.message()));
  }
  ASSIGN_OR_RETURN(auto key_file, create_file(flags.out_dir / "verifier-key.txt"));
  key_file << signer.verifier_key() << "\n";

  store::Store& store = node->store();
  ASSIGN_OR_RETURN(const auto latest, store.latest_checkpoint());
  if (latest) {
    ASSIGN_OR_RETURN(auto checkpoint_file, create_file(flags.out_dir / "checkpoint.txt"));
    checkpoint_file << latest->note;
  }
  ASSIGN_OR_RETURN(auto checkpoints_file, create_file(flags.out_dir / "checkpoints.jsonl"));
  std::size_t checkpoints = 0;
  for (std::int64_t after = 0;;) {
    ASSIGN_OR_RETURN(const auto page, store.read_checkpoints(after, limits::kPageSizeMax));
    if (page.empty()) break;
    for (const auto& checkpoint : page) {
      checkpoints_file << boost::json::serialize(boost::json::object{
                              {"size", checkpoint.size},
                              {"recorded_at", format_instant_ms(checkpoint.recorded_at_ms)},
                              {"note", checkpoint.note}})
                       << "\n";
      ++checkpoints;
    }
    after = page.back().size;
  }
  ASSIGN_OR_RETURN(auto entries_file, create_file(flags.out_dir / "entries.jsonl"));
  std::size_t entries = 0;
  for (std::int64_t next = 0;;) {
    ASSIGN_OR_RETURN(const auto page, store.read_audit_entries(next, limits::kPageSizeMax));
    if (page.empty()) break;
    for (const auto& stored : page) {
      boost::json::object line{{"index", stored.index},
                               {"leaf_hash", crypto::to_hex(audit::leaf_hash(stored.entry))},
                               {"entry", crypto::to_base64(stored.entry)}};
      if (auto decoded = audit::decode_entry(stored.entry)) {
        line["view"] = audit::entry_json(*decoded);
      } else {
        line["undecodable"] = decoded.error().message;
      }
      entries_file << boost::json::serialize(line) << "\n";
      ++entries;
    }
    next = page.back().index + 1;
  }
  for (auto* file : {&key_file, &checkpoints_file, &entries_file}) {
    file->flush();
    if (!*file) return make_error(ErrorCode::kUnavailable, "writing the export failed");
  }
  std::cout << fmt::format("exported {} entries and {} checkpoints of {} to {}\n", entries,
                           checkpoints, signer.name(), flags.out_dir.string());
  return {};
}

Status print_key(const AuditFlags& flags) {
  ASSIGN_OR_RETURN(auto node, Node::open(flags.node));
  ASSIGN_OR_RETURN(const auto signer, audit::node_audit_signer(node->keys(), flags.origin));
  std::cout << signer.verifier_key() << "\n";
  return {};
}

Status checkpoint(const AuditFlags& flags) {
  ASSIGN_OR_RETURN(auto node, Node::open(flags.node));
  // Opening the log integrates every entry appended since its last checkpoint and signs a new one.
  ASSIGN_OR_RETURN(auto* log, node->open_audit_log(flags.origin));
  const auto latest = log->latest_checkpoint();
  if (!latest) {
    std::cout << "the audit log has no entries yet\n";
    return {};
  }
  std::cout << latest->note;
  return {};
}

}  // namespace

void add_audit_commands(CLI::App& app, CommandOutcome& outcome) {
  auto* audit = app.add_subcommand("audit", "Verify and export the tamper-evident audit log");
  audit->require_subcommand(1);
  auto flags = std::make_shared<AuditFlags>();
  // Every audit command opens the node and names the log's origin the same way.
  auto add_command = [&](const char* name, const char* description) {
    auto* command = audit->add_subcommand(name, description);
    add_node_flags(*command, flags->node);
    command->add_option("--origin", flags->origin,
                        "The log's origin when the node sets audit.origin");
    return command;
  };

  auto* verify_command = add_command(
      "verify",
      "Rebuild the log's Merkle tree from storage and check it against the signed checkpoints; "
      "exit 1 naming each changed, deleted, reordered or inserted entry");
  verify_command->add_option("--checkpoint", flags->checkpoint_file,
                             "A checkpoint note kept outside the node (a witness's copy) to "
                             "verify against instead of the latest stored one");
  verify_command->add_flag("--json", flags->json, "Print the report as JSON");
  verify_command->callback([flags, &outcome] { outcome.status = verify(*flags); });

  auto* key_command = add_command(
      "key", "Print the log's verifier key, for witnesses (`kavach witness add-log`) and auditors");
  key_command->callback([flags, &outcome] { outcome.status = print_key(*flags); });

  auto* checkpoint_command = add_command(
      "checkpoint",
      "Sign a checkpoint over every entry now (a running server does so every second) and print "
      "it");
  checkpoint_command->callback([flags, &outcome] { outcome.status = checkpoint(*flags); });

  auto* export_command =
      add_command("export", "Write the verifier key, checkpoints and every entry to a directory");
  export_command->add_option("--out", flags->out_dir, "The directory to write")->required();
  export_command->callback([flags, &outcome] { outcome.status = export_log(*flags); });
}

}  // namespace kavach::cli
