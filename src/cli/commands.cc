#include "cli/commands.h"

#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/subcommands.h"

namespace kavach::cli {

int run(int argc, char** argv) {
  CLI::App app{
      "Kavach: consented, encrypted, tamper-evident health records.\n"
      "One binary for the consent manager (cm), provider (hip) and user (hiu) roles.",
      "kavach"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "kavach 0.1.0");
  CommandOutcome outcome;
  add_keys_commands(app, outcome);
  add_serve_command(app, outcome);
  add_client_commands(app, outcome);
  add_patient_commands(app, outcome);
  add_seed_command(app, outcome);
  add_audit_commands(app, outcome);
  add_witness_commands(app, outcome);
  add_registry_commands(app, outcome);
  add_backup_commands(app, outcome);
  add_guard_commands(app, outcome);
  // CLI11 would only say that a subcommand is required; name the word it did not know.
  const auto known = app.get_subcommands(
      [&](const CLI::App* command) { return argc > 1 && command->check_name(argv[1]); });
  if (argc > 1 && argv[1][0] != '-' && known.empty()) {
    std::cerr << "kavach: unknown command '" << argv[1] << "' (see kavach --help)\n";
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    if (error.get_exit_code() == 0) return app.exit(error);  // --help and --version
    std::string message = error.what();
    std::replace(message.begin(), message.end(), '\n', ' ');
    std::cerr << "kavach: " << message << " (see kavach --help)\n";
    return 2;
  }
  if (!outcome.status) {
    std::string message = outcome.status.error().message;
    std::replace(message.begin(), message.end(), '\n', ' ');
    std::cerr << "kavach: " << message << "\n";
    return outcome.usage_error ? 2 : 1;
  }
  return 0;
}

}  // namespace kavach::cli
