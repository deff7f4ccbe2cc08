// kavach patient erase
#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/node_flags.h"
#include "cli/subcommands.h"
#include "common/log.h"
#include "fhir/resource_types.h"

namespace kavach::cli {

void add_patient_commands(CLI::App& app, CommandOutcome& outcome) {
  auto* patient = app.add_subcommand("patient", "Act on one patient's data");
  patient->require_subcommand(1);
  auto* erase = patient->add_subcommand(
      "erase",
      "Destroy the patient's data key: every record of theirs becomes unreadable for good");
  auto options = std::make_shared<NodeOptions>();
  auto patient_id = std::make_shared<std::string>();
  erase->add_option("ID", *patient_id, "The Patient resource id")->required();
  add_node_flags(*erase, *options);
  erase->callback([options, patient_id, &outcome] {
    if (!fhir::is_valid_id(*patient_id)) {
      outcome.status =
          make_error(ErrorCode::kInvalidArgument, "a patient id is 1 to 64 of [A-Za-z0-9-.]");
      outcome.usage_error = true;
      return;
    }
    outcome.status = [&]() -> Status {
      ASSIGN_OR_RETURN(auto node, Node::open(*options));
      RETURN_IF_ERROR(node->keys().erase(vault::key_name_for_partition(*patient_id)));
      // The erasure is recorded with its time on the key's row; the audit log (issue 6) adds an
      // entry for it as well once it exists.
      log::info("patient_erased", {{"patient", *patient_id}});
      std::cout << fmt::format(
          "erased the data key of Patient/{}; their records can no longer be "
          "read\n",
          *patient_id);
      return {};
    }();
  });
}

}  // namespace kavach::cli
