// The `kavach` command line: parses flags with CLI11 and runs one subcommand. Each subcommand is
// thin: it opens what it needs through Node, calls one domain service and prints the outcome.
// Contract (operators' scripts rely on it): exit 0 on success; otherwise a one-line reason on
// stderr and exit 1 (a failure while running) or 2 (bad flags or configuration).
#pragma once

namespace kavach::cli {

int run(int argc, char** argv);

}  // namespace kavach::cli
