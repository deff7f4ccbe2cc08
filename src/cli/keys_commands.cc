// kavach keys init | rotate
#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "audit/audit_log.h"
#include "cli/node_flags.h"
#include "cli/subcommands.h"
#include "common/log.h"

namespace kavach::cli {

void add_keys_commands(CLI::App& app, CommandOutcome& outcome) {
  auto* keys = app.add_subcommand("keys", "Create and rotate the node's key-encryption keys");
  keys->require_subcommand(1);

  auto* init = keys->add_subcommand("init", "Create a new node key file (never overwrites one)");
  auto key_file = std::make_shared<std::filesystem::path>();
  init->add_option("--key-file", *key_file, "Where to write the key file")->required();
  init->callback([key_file, &outcome] {
    auto ring = crypto::KeyRing::create(*key_file);
    if (!ring) {
      outcome.status = tl::unexpected(ring.error());
      return;
    }
    std::cout << fmt::format("created key file {} (key {})\n", key_file->string(),
                             ring->active().id);
  });

  auto* rotate = keys->add_subcommand(
      "rotate", "Re-wrap every data key under a new key-encryption key; records are not touched");
  auto options = std::make_shared<NodeOptions>();
  add_node_flags(*rotate, *options);
  rotate->callback([options, &outcome] {
    outcome.status = [&]() -> Status {
      ASSIGN_OR_RETURN(auto node, Node::open(*options));
      // The new KEK is saved before any key is re-wrapped and the old one is dropped only after,
      // so a crash at any point leaves every data key openable.
      RETURN_IF_ERROR(node->key_ring().add_key(options->key_file));
      ASSIGN_OR_RETURN(const auto report, node->keys().rewrap_all());
      auto entry = node->operator_entry(audit::Action::kKeyRotate);
      entry.resource_type = "_KeyEncryptionKey";
      entry.resource_id = node->key_ring().active().id;
      RETURN_IF_ERROR(audit::record_entries(node->store(), {&entry, 1}));
      RETURN_IF_ERROR(node->key_ring().retire_inactive(options->key_file));
      log::info("keys_rotated", {{"kek", node->key_ring().active().id},
                                 {"rewrapped", std::to_string(report.rewrapped)}});
      std::cout << fmt::format(
          "rotated to key {}: {} data keys re-wrapped, {} erased keys skipped; restart running "
          "servers so they load the new key file\n",
          node->key_ring().active().id, report.rewrapped, report.erased_skipped);
      return {};
    }();
  });
}

}  // namespace kavach::cli
