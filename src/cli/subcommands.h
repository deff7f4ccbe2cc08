// Registration of each `kavach` subcommand on the CLI11 app. A subcommand's callback stores its
// result in the shared CommandOutcome; commands.cc turns that into the exit code and message.
#pragma once

#include "common/error.h"

namespace CLI {
class App;
}

namespace kavach::cli {

struct CommandOutcome {
  Status status;
  bool usage_error = false;  // a bad flag value or configuration (exit 2) rather than a failure
};

void add_audit_commands(CLI::App& app, CommandOutcome& outcome);
void add_keys_commands(CLI::App& app, CommandOutcome& outcome);
void add_serve_command(CLI::App& app, CommandOutcome& outcome);
void add_client_commands(CLI::App& app, CommandOutcome& outcome);
void add_patient_commands(CLI::App& app, CommandOutcome& outcome);
void add_seed_command(CLI::App& app, CommandOutcome& outcome);
void add_witness_commands(CLI::App& app, CommandOutcome& outcome);
void add_registry_commands(CLI::App& app, CommandOutcome& outcome);
void add_backup_commands(CLI::App& app, CommandOutcome& outcome);
void add_guard_commands(CLI::App& app, CommandOutcome& outcome);

}  // namespace kavach::cli
