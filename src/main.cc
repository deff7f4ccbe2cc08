// The kavach binary: wiring only; every subcommand lives in src/cli.
#include "cli/commands.h"

int main(int argc, char** argv) { return kavach::cli::run(argc, argv); }
