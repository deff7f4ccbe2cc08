// kavach seed
#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/node_flags.h"
#include "cli/subcommands.h"
#include "synthetic/synthetic_population.h"

namespace kavach::cli {
namespace {

void replace_all(std::string& text, std::string_view from, std::string_view to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

}  // namespace

void add_seed_command(CLI::App& app, CommandOutcome& outcome) {
  auto* seed =
      app.add_subcommand("seed", "Write deterministic synthetic Indian patients and records");
  struct Flags {
    NodeOptions node;
    std::size_t patients = 0;
    std::uint64_t seed = 1;
  };
  auto flags = std::make_shared<Flags>();
  add_node_flags(*seed, flags->node);
  seed->add_option("--patients", flags->patients, "How many patients to write")
      ->required()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
  seed->add_option("--seed", flags->seed,
                   "The generator's seed; the same seed writes the same data");
  seed->callback([flags, &outcome] {
    outcome.status = [&]() -> Status {
      ASSIGN_OR_RETURN(auto node, Node::open(flags->node));
      ASSIGN_OR_RETURN(auto scopes, auth::ScopeSet::parse("system/*.cruds"));
      const auth::AccessToken seeder{"kavach-seed", std::move(scopes), 0};
      synthetic::PopulationGenerator generator(flags->seed);
      std::size_t records = 0;
      for (std::size_t i = 0; i < flags->patients; ++i) {
        auto person = generator.next_patient();
        ASSIGN_OR_RETURN(const auto patient,
                         node->resources().create(seeder, "Patient", person.patient_json));
        std::string encounter;
        for (auto& record : person.records) {
          replace_all(record.json, "{patient}", patient.id);
          replace_all(record.json, "{encounter}", encounter);
          ASSIGN_OR_RETURN(const auto created,
                           node->resources().create(seeder, record.type, record.json));
          if (record.type == "Encounter") encounter = created.id;
          ++records;
        }
      }
      std::cout << fmt::format("seeded {} patients with {} records (seed {})\n", flags->patients,
                               records, flags->seed);
      return {};
    }();
  });
}

}  // namespace kavach::cli
