#include "cli/commands.h"

#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/subcommands.h"

namespace kavach::cli {

int run(int argc, char** argv) {
  CLI::App app{"Kavach: consented, encrypted, tamper-evident health records.\n"
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
