// kavach registry facility|professional add|update|list, and kavach consent key
#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "cli/node_flags.h"
#include "cli/subcommands.h"
#include "crypto/encoding.h"

namespace kavach::cli {
namespace {

namespace json = boost::json;

struct FacilityFlags {
  NodeOptions node;
  consent::Facility facility;
  std::string roles;
  std::string active;
  bool with_client = false;
  bool json = false;
};

Status apply_roles(std::string_view roles, consent::Facility& facility) {
  facility.hip = facility.hiu = false;
  while (!roles.empty()) {
    const auto comma = roles.find(',');
    const auto role = roles.substr(0, comma);
    if (role == "hip") {
      facility.hip = true;
    } else if (role == "hiu") {
      facility.hiu = true;
    } else {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("unknown role '{}' (hip, hiu)", role));
    }
    roles = comma == std::string_view::npos ? std::string_view() : roles.substr(comma + 1);
  }
  return {};
}

Status apply_active(std::string_view active, bool& out) {
  if (active.empty()) return {};
  if (active != "true" && active != "false") {
    return make_error(ErrorCode::kInvalidArgument, "--active is true or false");
  }
  out = active == "true";
  return {};
}

void print_facility(const consent::Facility& f) {
  std::cout << fmt::format("{}\t{}\t{}{}{}\t{}\t{}\n", f.id, f.name, f.hip ? "hip" : "",
                           f.hip && f.hiu ? "," : "", f.hiu ? "hiu" : "",
                           f.callback_url.empty() ? "-" : f.callback_url,
                           f.active ? "active" : "inactive");
}

void add_facility_commands(CLI::App& registry, CommandOutcome& outcome) {
  auto* facilities = registry.add_subcommand("facility", "Health facilities (HIPs and HIUs)");
  facilities->require_subcommand(1);
  for (const bool create : {true, false}) {
    auto* command = facilities->add_subcommand(
        create ? "add" : "update",
        create ? "Register a facility" : "Change a facility (every field not given stays)");
    auto flags = std::make_shared<FacilityFlags>();
    add_node_flags(*command, flags->node);
    command->add_option("--id", flags->facility.id, "The facility id, such as aiims-delhi")
        ->required();
    auto* name = command->add_option("--name", flags->facility.name, "Its name");
    auto* roles = command->add_option("--roles", flags->roles, "hip, hiu or hip,hiu");
    if (create) {
      name->required();
      roles->required();
    }
    command->add_option("--callback-url", flags->facility.callback_url,
                        "Where the consent manager sends its notices (https)");
    command->add_option("--public-key", flags->facility.public_key,
                        "The facility's Ed25519 public key, base64url");
    command->add_option("--active", flags->active, "true or false");
    if (create) {
      command->add_flag("--with-client", flags->with_client,
                        "Also register an API client for the facility and print its secret");
    }
    command->add_flag("--json", flags->json, "Print JSON");
    command->callback([flags, create, &outcome] {
      outcome.status = [&]() -> Status {
        ASSIGN_OR_RETURN(auto node, Node::open(flags->node));
        consent::Facility facility = flags->facility;
        if (!create) {
          ASSIGN_OR_RETURN(facility, node->registry().facility(flags->facility.id));
          if (!flags->facility.name.empty()) facility.name = flags->facility.name;
          if (!flags->facility.callback_url.empty())
            facility.callback_url = flags->facility.callback_url;
          if (!flags->facility.public_key.empty()) facility.public_key = flags->facility.public_key;
        }
        if (!flags->roles.empty()) RETURN_IF_ERROR(apply_roles(flags->roles, facility));
        RETURN_IF_ERROR(apply_active(flags->active, facility.active));
        const consent::RegistryActor by{audit::ActorKind::kOperator, operator_id()};
        RETURN_IF_ERROR(create ? node->registry().add_facility(facility, by)
                               : node->registry().update_facility(facility, by));
        json::object printed{{"id", facility.id}, {"active", facility.active}};
        if (flags->with_client) {
          std::string scopes = fmt::format("facility:{}", facility.id);
          if (facility.hiu) scopes += " abdm/hiu";
          if (facility.hip) scopes += " abdm/hip";
          ASSIGN_OR_RETURN(const auto client,
                           node->clients().add(facility.name, scopes, operator_id()));
          printed["client_id"] = client.client_id;
          printed["client_secret"] = client.client_secret;
        }
        if (flags->json) {
          std::cout << json::serialize(printed) << "\n";
        } else {
          print_facility(facility);
          if (flags->with_client) {
            std::cout << fmt::format("client_id:     {}\nclient_secret: {}\n",
                                     printed["client_id"].as_string().c_str(),
                                     printed["client_secret"].as_string().c_str());
          }
        }
        return {};
      }();
    });
  }
  auto* list = facilities->add_subcommand("list", "List registered facilities");
  auto list_flags = std::make_shared<NodeOptions>();
  add_node_flags(*list, *list_flags);
  list->callback([list_flags, &outcome] {
    outcome.status = [&]() -> Status {
      ASSIGN_OR_RETURN(auto node, Node::open(*list_flags));
      std::string after;
      for (;;) {
        ASSIGN_OR_RETURN(const auto page, node->registry().facilities(after, 500));
        for (const auto& f : page) print_facility(f);
        if (page.size() < 500) return {};
        after = page.back().id;
      }
    }();
  });
}

struct ProfessionalFlags {
  NodeOptions node;
  consent::Professional professional;
  std::string active;
};

void add_professional_commands(CLI::App& registry, CommandOutcome& outcome) {
  auto* professionals =
      registry.add_subcommand("professional", "Health professionals of registered facilities");
  professionals->require_subcommand(1);
  for (const bool create : {true, false}) {
    auto* command = professionals->add_subcommand(
        create ? "add" : "update", create ? "Register a professional" : "Change a professional");
    auto flags = std::make_shared<ProfessionalFlags>();
    add_node_flags(*command, flags->node);
    auto& p = flags->professional;
    command->add_option("--id", p.id, "The professional's id")->required();
    auto* name = command->add_option("--name", p.name, "Their name, such as 'Dr. Manju'");
    auto* facility = command->add_option("--facility", p.facility_id, "Their facility's id");
    auto* registration = command->add_option("--registration", p.registration_value,
                                             "Their registration number, such as MH1001");
    if (create) {
      name->required();
      facility->required();
      registration->required();
    }
    command->add_option("--registration-type", p.registration_type, "Default REGNO");
    command->add_option("--registration-system", p.registration_system,
                        "The register, such as https://www.nmc.org.in");
    command->add_option("--public-key", p.public_key, "Ed25519 public key, base64url");
    command->add_option("--active", flags->active, "true or false");
    command->callback([flags, create, &outcome] {
      outcome.status = [&]() -> Status {
        ASSIGN_OR_RETURN(auto node, Node::open(flags->node));
        consent::Professional professional = flags->professional;
        if (!create) {
          ASSIGN_OR_RETURN(professional, node->registry().professional(flags->professional.id));
          const auto& given = flags->professional;
          if (!given.name.empty()) professional.name = given.name;
          if (!given.facility_id.empty()) professional.facility_id = given.facility_id;
          if (!given.registration_value.empty())
            professional.registration_value = given.registration_value;
          if (!given.public_key.empty()) professional.public_key = given.public_key;
        }
        RETURN_IF_ERROR(apply_active(flags->active, professional.active));
        const consent::RegistryActor by{audit::ActorKind::kOperator, operator_id()};
        RETURN_IF_ERROR(create ? node->registry().add_professional(professional, by)
                               : node->registry().update_professional(professional, by));
        std::cout << fmt::format("{}\t{}\t{}\t{} {}\t{}\n", professional.id, professional.name,
                                 professional.facility_id, professional.registration_type,
                                 professional.registration_value,
                                 professional.active ? "active" : "inactive");
        return {};
      }();
    });
  }
  auto* list = professionals->add_subcommand("list", "List registered professionals");
  auto list_flags = std::make_shared<NodeOptions>();
  add_node_flags(*list, *list_flags);
  list->callback([list_flags, &outcome] {
    outcome.status = [&]() -> Status {
      ASSIGN_OR_RETURN(auto node, Node::open(*list_flags));
      ASSIGN_OR_RETURN(const auto page, node->registry().professionals("", 1000));
      for (const auto& p : page) {
        std::cout << fmt::format("{}\t{}\t{}\t{} {}\t{}\n", p.id, p.name, p.facility_id,
                                 p.registration_type, p.registration_value,
                                 p.active ? "active" : "inactive");
      }
      return {};
    }();
  });
}

}  // namespace

void add_registry_commands(CLI::App& app, CommandOutcome& outcome) {
  auto* registry = app.add_subcommand(
      "registry", "The consent manager's registry of facilities and professionals");
  registry->require_subcommand(1);
  add_facility_commands(*registry, outcome);
  add_professional_commands(*registry, outcome);

  auto* consent = app.add_subcommand("consent", "The consent manager's signing key");
  consent->require_subcommand(1);
  auto* key = consent->add_subcommand(
      "key", "Print the key that signs consent artefacts (a HIP's consent.cm_key) and its JWKS");
  auto flags = std::make_shared<NodeOptions>();
  add_node_flags(*key, *flags);
  key->callback([flags, &outcome] {
    outcome.status = [&]() -> Status {
      ASSIGN_OR_RETURN(auto node, Node::open(*flags));
      ASSIGN_OR_RETURN(const auto signer, consent::consent_signer(node->keys()));
      std::cout << fmt::format("cm_key: {}\njwks:   {}\n",
                               crypto::to_base64url(signer.public_key()),
                               json::serialize(signer.jwks()));
      return {};
    }();
  });
}

}  // namespace kavach::cli
