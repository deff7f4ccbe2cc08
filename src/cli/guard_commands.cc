// kavach guard alerts | locks | release PRINCIPAL | scrub (docs/guard.md)
#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/node_flags.h"
#include "cli/subcommands.h"
#include "common/time_format.h"
#include "guard/alert_book.h"
#include "guard/scrubber.h"

namespace kavach::cli {
namespace {

struct GuardFlags {
  NodeOptions node;
  std::string principal;
  std::size_t count = 50;
};

Status list_alerts(const GuardFlags& flags) {
  ASSIGN_OR_RETURN(auto node, Node::open(flags.node));
  guard::AlertBook alerts(node->documents(), node->clock());
  ASSIGN_OR_RETURN(const auto listed, alerts.alerts(flags.count));
  if (listed.empty()) std::cout << "no alerts\n";
  for (const auto& alert : listed) {
    std::cout << fmt::format("{} [{}] {}{}\n", format_instant_ms(alert.at_ms),
                             guard::rule_name(alert.rule), alert.detail,
                             alert.locked ? " (locked)" : "");
  }
  return {};
}

Status list_locks(const GuardFlags& flags) {
  ASSIGN_OR_RETURN(auto node, Node::open(flags.node));
  guard::AlertBook alerts(node->documents(), node->clock());
  ASSIGN_OR_RETURN(const auto locks, alerts.locks());
  if (locks.empty()) std::cout << "no principal is locked\n";
  for (const auto& lock : locks) {
    std::cout << fmt::format("{} locked since {} (alert {})\n", lock.principal,
                             format_instant_ms(lock.locked_at_ms), lock.alert_id);
  }
  return {};
}

Status release(const GuardFlags& flags) {
  ASSIGN_OR_RETURN(auto node, Node::open(flags.node));
  guard::AlertBook alerts(node->documents(), node->clock());
  RETURN_IF_ERROR(alerts.release(flags.principal, operator_id()));
  std::cout << fmt::format("released {}; a running server lets it in again within 10 seconds\n",
                           flags.principal);
  return {};
}

Status scrub(const GuardFlags& flags) {
  ASSIGN_OR_RETURN(auto node, Node::open(flags.node));
  guard::AlertBook alerts(node->documents(), node->clock());
  guard::Scrubber scrubber(node->store(), node->sealer(), alerts);
  guard::ScrubReport total;
  for (;;) {
    ASSIGN_OR_RETURN(const auto step, scrubber.step(10'000));
    total.opened += step.opened;
    total.erased += step.erased;
    total.failed += step.failed;
    if (step.wrapped) break;
  }
  std::cout << fmt::format(
      "scrubbed {} record versions: {} opened, {} of erased patients skipped, {} failed\n",
      total.opened + total.erased + total.failed, total.opened, total.erased, total.failed);
  if (total.failed > 0) {
    return make_error(ErrorCode::kDataLoss,
                      fmt::format("{} stored records failed authentication (see kavach guard "
                                  "alerts); restore them from a backup",
                                  total.failed));
  }
  return {};
}

}  // namespace

void add_guard_commands(CLI::App& app, CommandOutcome& outcome) {
  auto* guard = app.add_subcommand(
      "guard", "The anomaly guard: alerts, locked principals, release, and a full scrub");
  guard->require_subcommand(1);
  auto flags = std::make_shared<GuardFlags>();
  auto* alerts = guard->add_subcommand("alerts", "List the newest alerts");
  add_node_flags(*alerts, flags->node);
  alerts->add_option("--count", flags->count, "How many (default 50)");
  alerts->callback([flags, &outcome] { outcome.status = list_alerts(*flags); });
  auto* locks = guard->add_subcommand("locks", "List locked principals");
  add_node_flags(*locks, flags->node);
  locks->callback([flags, &outcome] { outcome.status = list_locks(*flags); });
  auto* release_command =
      guard->add_subcommand("release", "Release a locked principal after review (audited)");
  add_node_flags(*release_command, flags->node);
  release_command->add_option("PRINCIPAL", flags->principal, "The client id")->required();
  release_command->callback([flags, &outcome] { outcome.status = release(*flags); });
  auto* scrub_command = guard->add_subcommand(
      "scrub", "Open every stored record version now; exit 1 if any fails authentication");
  add_node_flags(*scrub_command, flags->node);
  scrub_command->callback([flags, &outcome] { outcome.status = scrub(*flags); });
}

}  // namespace kavach::cli
