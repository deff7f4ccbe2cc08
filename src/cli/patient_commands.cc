// kavach patient erase
#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "audit/audit_log.h"
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
      auto entry = node->operator_entry(audit::Action::kPatientErase);
      entry.subject = *patient_id;
      entry.resource_type = "Patient";
      entry.resource_id = *patient_id;
      store::WriteBatch logged;
      RETURN_IF_ERROR(audit::append_entry(logged, entry));
      RETURN_IF_ERROR(
          node->keys().erase(vault::key_name_for_partition(*patient_id), std::move(logged)));
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
