// The flags every command that opens a node shares: --data, --key-file, --store.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/node.h"

namespace kavach::cli {

inline void add_node_flags(CLI::App& command, NodeOptions& options) {
  command.add_option("--data", options.data_dir, "The node's data directory")->required();
  command
      .add_option("--key-file", options.key_file,
                  "The node key file (outside the data directory, mode 0600)")
      ->required();
  command.add_option("--store", options.store_url,
                     "Store URL: sqlite:PATH or postgresql://... (default: SQLite in --data)");
}

}  // namespace kavach::cli
