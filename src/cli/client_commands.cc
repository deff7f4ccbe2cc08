// kavach client add
#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "cli/node_flags.h"
#include "cli/subcommands.h"

namespace kavach::cli {

void add_client_commands(CLI::App& app, CommandOutcome& outcome) {
  auto* client =
      app.add_subcommand("client", "Manage machine clients (OAuth 2.0 client credentials)");
  client->require_subcommand(1);
  auto* add = client->add_subcommand(
      "add", "Register a client and print its id and secret (the secret is shown only once)");
  struct Flags {
    NodeOptions node;
    std::string name;
    std::string scopes;
    bool json = false;
  };
  auto flags = std::make_shared<Flags>();
  add_node_flags(*add, flags->node);
  add->add_option("--name", flags->name, "A name for the client, such as 'Lab interface'")
      ->required();
  add->add_option(
         "--scopes", flags->scopes,
         "Space-separated SMART scopes, such as \"system/Patient.rs system/Observation.cruds\"")
      ->required();
  add->add_flag("--json", flags->json, "Print {\"client_id\": ..., \"client_secret\": ...}");
  add->callback([flags, &outcome] {
    outcome.status = [&]() -> Status {
      ASSIGN_OR_RETURN(auto node, Node::open(flags->node));
      ASSIGN_OR_RETURN(const auto created,
                       node->clients().add(flags->name, flags->scopes, operator_id()));
      if (flags->json) {
        std::cout << boost::json::serialize(
                         boost::json::object{{"client_id", created.client_id},
                                             {"client_secret", created.client_secret}})
                  << "\n";
      } else {
        std::cout << fmt::format("client_id:     {}\nclient_secret: {}\n", created.client_id,
                                 created.client_secret);
      }
      return {};
    }();
  });
}

}  // namespace kavach::cli
