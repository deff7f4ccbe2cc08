// kavach witness key | add-log | status
#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/node_flags.h"
#include "cli/subcommands.h"
#include "common/time_format.h"

namespace kavach::cli {
namespace {

struct WitnessFlags {
  NodeOptions node;
  std::string name;
  std::string log_key;
};

Status print_key(const WitnessFlags& flags) {
  ASSIGN_OR_RETURN(auto node, Node::open(flags.node));
  ASSIGN_OR_RETURN(auto* witness, node->open_witness(flags.name));
  std::cout << witness->verifier_key() << "\n";
  return {};
}

Status add_log(const WitnessFlags& flags) {
  ASSIGN_OR_RETURN(auto node, Node::open(flags.node));
  ASSIGN_OR_RETURN(auto* witness, node->open_witness(flags.name));
  RETURN_IF_ERROR(witness->add_log(flags.log_key, operator_id()));
  std::cout << fmt::format("now witnessing {}\n", flags.log_key.substr(0, flags.log_key.find('+')));
  return {};
}

Status status(const WitnessFlags& flags) {
  ASSIGN_OR_RETURN(auto node, Node::open(flags.node));
  ASSIGN_OR_RETURN(auto* witness, node->open_witness(flags.name));
  ASSIGN_OR_RETURN(const auto logs, witness->logs());
  ASSIGN_OR_RETURN(const auto alarms, witness->alarms());
  std::cout << fmt::format("witness {}\n", witness->verifier_key());
  for (const auto& log : logs) {
    std::cout << fmt::format("  log {}: cosigned up to size {}\n", log.origin, log.size);
  }
  if (alarms.empty()) {
    std::cout << "no alarms\n";
    return {};
  }
  for (const auto& alarm : alarms) {
    std::cout << fmt::format("  ALARM {} {}: {} (cosigned size {})\n",
                             format_instant_ms(alarm.time_ms), alarm.origin, alarm.reason,
                             alarm.cosigned_size);
  }
  return make_error(ErrorCode::kDataLoss,
                    fmt::format("{} witness alarm(s): a log showed two histories", alarms.size()));
}

}  // namespace

void add_witness_commands(CLI::App& app, CommandOutcome& outcome) {
  auto* witness = app.add_subcommand(
      "witness", "Cosign other nodes' audit checkpoints (the consent manager witnesses its HIPs)");
  witness->require_subcommand(1);
  auto flags = std::make_shared<WitnessFlags>();
  auto add_common = [&](CLI::App* command) {
    add_node_flags(*command, flags->node);
    command->add_option("--name", flags->name,
                        "This witness's name when the node sets audit.witness_name");
  };

  auto* key = witness->add_subcommand("key",
                                      "Print this node's cosigner key, for the logs' "
                                      "[[audit.witnesses]] configuration");
  add_common(key);
  key->callback([flags, &outcome] { outcome.status = print_key(*flags); });

  auto* add = witness->add_subcommand("add-log",
                                      "Start witnessing a log, given its verifier key "
                                      "(`kavach audit key` on that node)");
  add_common(add);
  add->add_option("--key", flags->log_key, "The log's verifier key")->required();
  add->callback([flags, &outcome] { outcome.status = add_log(*flags); });

  auto* show = witness->add_subcommand(
      "status", "List the logs witnessed and any alarm; exit 1 when there is an alarm");
  add_common(show);
  show->callback([flags, &outcome] { outcome.status = status(*flags); });
}

}  // namespace kavach::cli
