// The kavach binary: wiring only; every subcommand lives in src/cli.
#include <csignal>

#include "cli/commands.h"

int main(int argc, char** argv) {
  // A file-size limit (RLIMIT_FSIZE) must fail the write that crosses it, as a full disk does,
  // and not kill the process: the store then refuses that commit and the node keeps serving.
  std::signal(SIGXFSZ, SIG_IGN);
  return kavach::cli::run(argc, argv);
}
