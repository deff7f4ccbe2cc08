// kavach seed
//
// Each patient is written as one FHIR transaction (the Patient and every record, linked by urn:uuid
// fullUrls), as a hospital system would send them: one durable commit a patient rather than one a
// record. Several patients are written at once so the store's group commit can merge them. The
// generator still runs in order, so the same seed writes the same patients and records.
#include <atomic>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/node_flags.h"
#include "cli/subcommands.h"
#include "synthetic/synthetic_population.h"

namespace kavach::cli {
namespace {

// Patients written at once: enough to fill the store's group commits, few enough for a small node.
constexpr std::size_t kSeedWriters = 8;

void replace_all(std::string& text, std::string_view from, std::string_view to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

std::string entry_json(std::string_view full_url, std::string_view type, std::string_view json) {
  return fmt::format(R"({{"fullUrl":"{}","resource":{},"request":{{"method":"POST","url":"{}"}}}})",
                     full_url, json, type);
}

// The patient and their records as one transaction Bundle. A record names the patient, and the
// last encounter before it, by the fullUrl of that entry.
std::string patient_transaction(synthetic::SyntheticPatient& person) {
  std::size_t next_entry = 0;
  const auto full_url = [&] {
    return fmt::format("urn:uuid:00000000-0000-4000-8000-{:012x}", next_entry++);
  };
  const std::string patient_url = full_url();
  std::string bundle = R"({"resourceType":"Bundle","type":"transaction","entry":[)";
  bundle += entry_json(patient_url, "Patient", person.patient_json);
  std::string encounter_url;
  for (auto& record : person.records) {
    replace_all(record.json, "Patient/{patient}", patient_url);
    replace_all(record.json, "Encounter/{encounter}", encounter_url);
    const std::string url = full_url();
    if (record.type == "Encounter") encounter_url = url;
    bundle += ',';
    bundle += entry_json(url, record.type, record.json);
  }
  bundle += "]}";
  return bundle;
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
      std::mutex mutex;  // guards the generator, `written` and `failure`
      std::size_t written = 0;
      std::optional<Error> failure;
      std::atomic<std::size_t> records = 0;
      const auto write_patients = [&] {
        for (;;) {
          std::string bundle;
          std::size_t in_bundle = 0;
          {
            std::lock_guard lock(mutex);
            if (failure || written == flags->patients) return;
            ++written;
            auto person = generator.next_patient();
            in_bundle = person.records.size();
            bundle = patient_transaction(person);
          }
          auto committed = node->resources().process_bundle(seeder, bundle);
          if (!committed) {
            std::lock_guard lock(mutex);
            if (!failure) failure = committed.error();
            return;
          }
          records += in_bundle;
        }
      };
      {
        std::vector<std::jthread> writers;
        for (std::size_t i = 0; i < std::min(kSeedWriters, flags->patients); ++i) {
          writers.emplace_back(write_patients);
        }
      }
      if (failure) return tl::unexpected(*failure);
      std::cout << fmt::format("seeded {} patients with {} records (seed {})\n", flags->patients,
                               records.load(), flags->seed);
      return {};
    }();
  });
}

}  // namespace kavach::cli
