#include "consent/patient_accounts.h"

#include <sodium.h>

#include <algorithm>
#include <cctype>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "audit/audit_log.h"
#include "common/time_format.h"
#include "consent/abha.h"
#include "crypto/encoding.h"
#include "crypto/keyed_hash.h"
#include "crypto/password_hash.h"
#include "crypto/secret_bytes.h"
#include "crypto/sodium.h"

namespace kavach::consent {
namespace {

namespace json = boost::json;

constexpr std::string_view kTokenPrefix = "kps1.";
constexpr std::size_t kSessionIdBytes = 16;
constexpr std::size_t kSessionSecretBytes = 32;
constexpr int kNumberAttemptsMax = 8;

int current_year(const Clock& clock) {
  using namespace std::chrono;
  const auto day = floor<days>(clock.now());
  return static_cast<int>(year_month_day{day}.year());
}

// Lower case, single spaces, trimmed: "  Asha   DEVI " and "asha devi" are one person's name.
std::string normalised_name(std::string_view name) {
  std::string out;
  bool space = false;
  for (const char c : name) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

Status validate_form(const EnrolmentForm& form, int this_year, bool needs_mobile) {
  const std::string name = normalised_name(form.name);
  if (name.empty() || form.name.size() > kPersonNameMax ||
      std::any_of(form.name.begin(), form.name.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
    return make_error(ErrorCode::kInvalidArgument, "a name of 1 to 100 characters is required");
  }
  if (form.year_of_birth < 1900 || form.year_of_birth > this_year) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("the year of birth must be from 1900 to {}", this_year));
  }
  if (!form.date_of_birth.empty()) {
    const auto instant = parse_instant_ms(form.date_of_birth);
    if (form.date_of_birth.size() != 10 || !instant ||
        form.date_of_birth.substr(0, 4) != std::to_string(form.year_of_birth)) {
      return make_error(ErrorCode::kInvalidArgument,
                        "the date of birth is YYYY-MM-DD, in the year of birth");
    }
  }
  if (form.gender != "M" && form.gender != "F" && form.gender != "O" && form.gender != "U") {
    return make_error(ErrorCode::kInvalidArgument, "gender is M, F, O or U");
  }
  if (needs_mobile) RETURN_IF_ERROR(parse_mobile(form.mobile));
  if (!form.address_name.empty()) {
    std::string lowered = form.address_name;
    std::transform(lowered.begin(), lowered.end(), lowered.begin(), [](char c) {
      return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    });
    if (!valid_chosen_address_name(lowered)) {
      return make_error(
          ErrorCode::kInvalidArgument,
          "an ABHA address name is 4 to 32 letters, digits or '.', not starting with a "
          "digit or starting or ending with '.'");
    }
  }
  return {};
}

json::object form_to_json(const EnrolmentForm& form) {
  return {{"name", form.name},
          {"year_of_birth", form.year_of_birth},
          {"date_of_birth", form.date_of_birth},
          {"gender", form.gender},
          {"mobile", form.mobile},
          {"address_name", form.address_name}};
}

EnrolmentForm form_from_json(const json::object& object) {
  EnrolmentForm form;
  form.name = std::string(object.at("name").as_string());
  form.year_of_birth = static_cast<int>(object.at("year_of_birth").to_number<std::int64_t>());
  form.date_of_birth = std::string(object.at("date_of_birth").as_string());
  form.gender = std::string(object.at("gender").as_string());
  form.mobile = std::string(object.at("mobile").as_string());
  form.address_name = std::string(object.at("address_name").as_string());
  return form;
}

Account account_from(std::string_view id, const json::object& body) {
  Account a;
  a.id = std::string(id);
  const auto text = [&](std::string_view name) { return std::string(body.at(name).as_string()); };
  a.abha_number = text("abha_number");
  a.address = text("address");
  a.name = text("name");
  a.gender = text("gender");
  a.year_of_birth = static_cast<int>(body.at("year_of_birth").to_number<std::int64_t>());
  a.date_of_birth = text("date_of_birth");
  a.mobile = text("mobile");
  a.locked = body.at("locked").as_bool();
  a.has_password = !body.at("password_hash").as_string().empty();
  a.nominee = text("nominee");
  a.guardian = text("guardian");
  a.created_at_ms = body.at("created_at_ms").to_number<std::int64_t>();
  return a;
}

PatientSession session_from(const vault::Document& document) {
  PatientSession s;
  s.id = document.id;
  s.account_id = document.partition;
  s.abha_number = std::string(document.body.at("abha_number").as_string());
  s.method = std::string(document.body.at("method").as_string());
  s.created_at_ms = document.body.at("created_at_ms").to_number<std::int64_t>();
  s.expires_at_ms = document.body.at("expires_at_ms").to_number<std::int64_t>();
  s.ended = document.body.at("ended").as_bool();
  return s;
}

audit::AuditEntry account_entry(audit::Action action, std::string_view actor,
                                std::string_view subject, std::int64_t now_ms) {
  audit::AuditEntry entry;
  entry.time_ms = now_ms;
  entry.action = action;
  entry.basis = audit::Basis::kConsent;
  entry.actor_kind = audit::ActorKind::kPatient;
  entry.actor_id = std::string(actor);
  entry.subject = std::string(subject);
  entry.resource_type = std::string(kAccountType);
  entry.resource_id = std::string(subject);
  return entry;
}

Error bad_credentials() {
  return Error{ErrorCode::kUnauthenticated, "the health ID or password is wrong"};
}

}  // namespace

Result<std::string> parse_mobile(std::string_view text) {
  std::string digits;
  for (const char c : text) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      digits.push_back(c);
    } else if (c != ' ' && c != '-' && c != '+') {
      return make_error(ErrorCode::kInvalidArgument, "a mobile number has only digits");
    }
  }
  if (digits.size() == 12 && digits.starts_with("91")) digits.erase(0, 2);
  if (digits.size() != 10 || digits[0] < '6') {
    return make_error(ErrorCode::kInvalidArgument,
                      "a mobile number is 10 digits starting with 6, 7, 8 or 9");
  }
  return digits;
}

Result<std::string> PatientAccounts::claim_id(std::string_view claim) {
  ASSIGN_OR_RETURN(const auto key, keys_.node_key(vault::kNodeBlindIndexKey));
  return crypto::to_hex(crypto::blind_index(*key, "claim", claim));
}

Result<std::string> PatientAccounts::account_id_for(std::string_view abha_number) {
  ASSIGN_OR_RETURN(const auto key, keys_.node_key(vault::kNodeBlindIndexKey));
  return crypto::to_hex(crypto::blind_index(*key, "account-id", abha_number)).substr(0, 32);
}

Result<std::optional<std::string>> PatientAccounts::claimed_by(std::string_view claim) {
  ASSIGN_OR_RETURN(const std::string id, claim_id(claim));
  ASSIGN_OR_RETURN(const auto document, documents_.read(kClaimType, id));
  if (!document) return std::optional<std::string>();
  return std::optional<std::string>(std::string(document->body.at("account").as_string()));
}

Result<CodeTicket> PatientAccounts::start_enrolment(const EnrolmentForm& form,
                                                    std::string_view peer) {
  RETURN_IF_ERROR(validate_form(form, current_year(clock_), true));
  EnrolmentForm normal = form;
  ASSIGN_OR_RETURN(normal.mobile, parse_mobile(form.mobile));
  return codes_.issue("enrol", normal.mobile, "create your health ID", form_to_json(normal), peer);
}

Result<EnrolmentOutcome> PatientAccounts::confirm_enrolment(std::string_view ticket,
                                                            std::string_view code,
                                                            std::string_view peer) {
  ASSIGN_OR_RETURN(const auto context, codes_.redeem(ticket, "enrol", code, peer));
  const EnrolmentForm form = form_from_json(context);
  const std::string person =
      fmt::format("person:{}|{}|{}", form.mobile, normalised_name(form.name), form.year_of_birth);
  ASSIGN_OR_RETURN(const auto existing, claimed_by(person));
  if (existing) {
    ASSIGN_OR_RETURN(auto found, account(*existing));
    return EnrolmentOutcome{std::move(found), false};
  }
  ASSIGN_OR_RETURN(auto created, create_account(form, ""));
  return EnrolmentOutcome{std::move(created), true};
}

Result<EnrolmentOutcome> PatientAccounts::enrol_minor(const PatientSession& guardian,
                                                      EnrolmentForm form) {
  const int this_year = current_year(clock_);
  RETURN_IF_ERROR(validate_form(form, this_year, false));
  if (this_year - form.year_of_birth >= kAdultAge) {
    return make_error(ErrorCode::kInvalidArgument,
                      "only a minor (under 18) is enrolled by a guardian");
  }
  ASSIGN_OR_RETURN(const Account guardian_account, account(guardian.abha_number));
  form.mobile = guardian_account.mobile;  // codes for the minor go to the guardian
  const std::string person = fmt::format("minor:{}|{}|{}", guardian.abha_number,
                                         normalised_name(form.name), form.year_of_birth);
  ASSIGN_OR_RETURN(const auto existing, claimed_by(person));
  if (existing) {
    ASSIGN_OR_RETURN(auto found, account(*existing));
    return EnrolmentOutcome{std::move(found), false};
  }
  ASSIGN_OR_RETURN(auto created, create_account(form, guardian.abha_number));
  return EnrolmentOutcome{std::move(created), true};
}

Result<Account> PatientAccounts::create_account(const EnrolmentForm& form,
                                                const std::string& guardian) {
  const std::string person =
      guardian.empty()
          ? fmt::format("person:{}|{}|{}", form.mobile, normalised_name(form.name),
                        form.year_of_birth)
          : fmt::format("minor:{}|{}|{}", guardian, normalised_name(form.name), form.year_of_birth);
  std::string address_name = form.address_name;
  std::transform(address_name.begin(), address_name.end(), address_name.begin(), [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  });
  std::string chosen_address;
  if (!address_name.empty()) {
    chosen_address = fmt::format("{}@{}", address_name, suffix_);
    ASSIGN_OR_RETURN(const auto taken, claimed_by("address:" + chosen_address));
    if (taken) {
      return make_error(
          ErrorCode::kAlreadyExists,
          fmt::format("the ABHA address {} is taken; choose another", chosen_address));
    }
  }
  crypto::ensure_sodium();
  std::string number;
  for (int attempt = 0; attempt < kNumberAttemptsMax && number.empty(); ++attempt) {
    std::string candidate = new_abha_number([](std::uint32_t n) { return randombytes_uniform(n); });
    ASSIGN_OR_RETURN(const std::string candidate_id, account_id_for(candidate));
    ASSIGN_OR_RETURN(const auto clash, documents_.read(kAccountType, candidate_id));
    if (!clash) number = std::move(candidate);
  }
  if (number.empty())
    return make_error(ErrorCode::kUnavailable, "could not draw a free ABHA number");

  const std::int64_t now_ms = unix_ms(clock_.now());
  ASSIGN_OR_RETURN(const std::string account_id, account_id_for(number));
  std::string actor_id = account_id;
  if (!guardian.empty()) {
    ASSIGN_OR_RETURN(actor_id, account_id_for(guardian));
  }
  vault::Document account_doc{
      std::string(kAccountType),
      account_id,
      account_id,
      0,
      0,
      json::object{{"abha_number", number},
                   {"address", chosen_address.empty() ? fmt::format("{}@{}", number, suffix_)
                                                      : chosen_address},
                   {"name", form.name},
                   {"gender", form.gender},
                   {"year_of_birth", form.year_of_birth},
                   {"date_of_birth", form.date_of_birth},
                   {"mobile", form.mobile},
                   {"locked", false},
                   {"password_hash", ""},
                   {"nominee", ""},
                   {"guardian", guardian},
                   {"created_at_ms", now_ms}}};
  store::WriteBatch batch;
  ASSIGN_OR_RETURN(auto account_write, documents_.prepare(account_doc, {}));
  batch.records.push_back(std::move(account_write));
  std::vector<std::string> claims{person};
  if (!chosen_address.empty()) claims.push_back("address:" + chosen_address);
  for (const auto& claim : claims) {
    ASSIGN_OR_RETURN(const std::string id, claim_id(claim));
    vault::Document claim_doc{std::string(kClaimType),          id, "", 0, 0,
                              json::object{{"account", number}}};
    ASSIGN_OR_RETURN(auto claim_write, documents_.prepare(claim_doc, {}));
    batch.records.push_back(std::move(claim_write));
  }
  RETURN_IF_ERROR(audit::append_entry(
      batch, account_entry(audit::Action::kAccountEnrol, actor_id, account_id, now_ms)));
  auto committed = documents_.store().commit(std::move(batch));
  if (!committed) {
    if (committed.error().code != ErrorCode::kConflict) return tl::unexpected(committed.error());
    // A concurrent enrolment won: the same person (offer theirs) or the same address.
    ASSIGN_OR_RETURN(const auto winner, claimed_by(person));
    if (winner) return account(*winner);
    return make_error(
        ErrorCode::kAlreadyExists,
        fmt::format("the ABHA address {} was just taken; choose another", chosen_address));
  }
  return account_from(account_id, account_doc.body);
}

Result<vault::Document> PatientAccounts::account_document(std::string_view abha_number) {
  ASSIGN_OR_RETURN(const std::string id, account_id_for(abha_number));
  ASSIGN_OR_RETURN(auto document, documents_.read(kAccountType, id));
  if (!document) return make_error(ErrorCode::kNotFound, "no account has that health ID");
  return std::move(*document);
}

Result<Account> PatientAccounts::account(std::string_view abha_number) {
  ASSIGN_OR_RETURN(const auto document, account_document(abha_number));
  return account_from(document.id, document.body);
}

Result<Account> PatientAccounts::resolve(std::string_view health_id) {
  if (health_id.find('@') != std::string_view::npos) {
    ASSIGN_OR_RETURN(const AbhaAddress address, parse_abha_address(health_id));
    if (address.suffix != suffix_) {
      return make_error(ErrorCode::kNotFound,
                        fmt::format("{} belongs to another consent manager", address.text()));
    }
    if (std::isdigit(static_cast<unsigned char>(address.name.front())))
      return account(address.name);
    ASSIGN_OR_RETURN(const auto number, claimed_by("address:" + address.text()));
    if (!number) return make_error(ErrorCode::kNotFound, "no account has that ABHA address");
    return account(*number);
  }
  ASSIGN_OR_RETURN(const std::string number, parse_abha_number(health_id));
  return account(number);
}

Result<CodeTicket> PatientAccounts::start_sign_in(std::string_view health_id,
                                                  std::string_view peer) {
  if (!lookups_per_peer_.try_acquire(peer)) {
    return make_error(ErrorCode::kResourceExhausted, "too many sign-in attempts; try again later");
  }
  ASSIGN_OR_RETURN(const Account found, resolve(health_id));
  return codes_.issue("sign-in", found.mobile, "sign in to your health ID",
                      json::object{{"abha_number", found.abha_number}}, peer);
}

Result<NewSession> PatientAccounts::confirm_sign_in(std::string_view ticket, std::string_view code,
                                                    std::string_view peer) {
  ASSIGN_OR_RETURN(const auto context, codes_.redeem(ticket, "sign-in", code, peer));
  ASSIGN_OR_RETURN(const Account found, account(context.at("abha_number").as_string()));
  return open_session(found, "otp");
}

Result<NewSession> PatientAccounts::sign_in_with_password(std::string_view health_id,
                                                          std::string_view password,
                                                          std::string_view peer) {
  if (!passwords_per_peer_.try_acquire(peer)) {
    return make_error(ErrorCode::kResourceExhausted, "too many sign-in attempts; try again later");
  }
  auto found = resolve(health_id);
  if (!found) {
    if (found.error().code == ErrorCode::kNotFound) return tl::unexpected(bad_credentials());
    return tl::unexpected(found.error());
  }
  if (!passwords_per_account_.try_acquire(found->abha_number)) {
    return make_error(ErrorCode::kResourceExhausted,
                      "too many password attempts for this health ID; use a one-time code");
  }
  ASSIGN_OR_RETURN(const auto document, account_document(found->abha_number));
  const auto& hash = document.body.at("password_hash").as_string();
  if (hash.empty() || !crypto::verify_password(hash, password))
    return tl::unexpected(bad_credentials());
  return open_session(*found, "password");
}

Result<NewSession> PatientAccounts::open_session(const Account& account, std::string_view method) {
  NewSession created;
  const std::int64_t now_ms = unix_ms(clock_.now());
  created.session =
      PatientSession{crypto::to_hex(crypto::SecretBytes::random(kSessionIdBytes).view()),
                     account.id,
                     account.abha_number,
                     std::string(method),
                     now_ms,
                     now_ms + limits_.session_lifetime.count(),
                     false};
  const auto secret = crypto::SecretBytes::random(kSessionSecretBytes);
  created.token =
      fmt::format("{}{}.{}", kTokenPrefix, created.session.id, crypto::to_base64url(secret.view()));
  ASSIGN_OR_RETURN(const auto key, keys_.key(std::string(kSessionKey)));
  vault::Document document{
      std::string(kSessionType),
      created.session.id,
      account.id,
      0,
      0,
      json::object{{"abha_number", account.abha_number},
                   {"method", method},
                   {"created_at_ms", now_ms},
                   {"expires_at_ms", created.session.expires_at_ms},
                   {"ended", false},
                   {"secret_mac", crypto::to_hex(crypto::mac(key, secret.view()))}}};
  store::WriteBatch batch;
  RETURN_IF_ERROR(audit::append_entry(
      batch, account_entry(audit::Action::kAccountSignIn, account.id, account.id, now_ms)));
  RETURN_IF_ERROR(
      documents_.write(document, {{"account", account.abha_number, false}}, std::move(batch)));
  return created;
}

Result<PatientSession> PatientAccounts::authenticate(std::string_view token) {
  const auto rejected = [] {
    return make_error(ErrorCode::kUnauthenticated, "sign in again: the session is not valid");
  };
  if (!token.starts_with(kTokenPrefix)) return rejected();
  token.remove_prefix(kTokenPrefix.size());
  const auto dot = token.find('.');
  if (dot != kSessionIdBytes * 2) return rejected();
  const std::string_view id = token.substr(0, dot);
  if (!std::all_of(id.begin(), id.end(),
                   [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); })) {
    return rejected();
  }
  auto secret = crypto::from_base64url(token.substr(dot + 1));
  if (!secret || secret->size() != kSessionSecretBytes) return rejected();
  auto document = documents_.read(kSessionType, id);
  if (!document) {
    if (document.error().code == ErrorCode::kGone) return rejected();  // the account was erased
    return tl::unexpected(document.error());
  }
  if (!*document) return rejected();
  ASSIGN_OR_RETURN(const auto key, keys_.key(std::string(kSessionKey)));
  const std::string expected = crypto::to_hex(crypto::mac(key, *secret));
  const auto& stored = (*document)->body.at("secret_mac").as_string();
  if (stored.size() != expected.size() ||
      sodium_memcmp(stored.data(), expected.data(), expected.size()) != 0) {
    return rejected();
  }
  PatientSession session = session_from(**document);
  if (session.ended || unix_ms(clock_.now()) >= session.expires_at_ms) return rejected();
  return session;
}

Result<std::vector<PatientSession>> PatientAccounts::sessions(const PatientSession& caller) {
  ASSIGN_OR_RETURN(const auto documents,
                   documents_.find_documents(kSessionType, {"account", caller.abha_number, false},
                                             kSessionsListedMax));
  std::vector<PatientSession> out;
  for (const auto& document : documents) out.push_back(session_from(document));
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.created_at_ms > b.created_at_ms; });
  return out;
}

Status PatientAccounts::end_session(const PatientSession& caller, std::string_view session_id) {
  ASSIGN_OR_RETURN(auto document, documents_.read(kSessionType, session_id));
  if (!document || document->body.at("abha_number").as_string() != caller.abha_number) {
    return make_error(ErrorCode::kNotFound, "you have no session with that id");
  }
  document->body["ended"] = true;
  store::WriteBatch batch;
  auto entry = account_entry(audit::Action::kAccountChange, caller.account_id, caller.account_id,
                             unix_ms(clock_.now()));
  entry.reason = "session.end";
  RETURN_IF_ERROR(audit::append_entry(batch, entry));
  return documents_.write(*document, {{"account", caller.abha_number, false}}, std::move(batch));
}

Result<Account> PatientAccounts::acting_for(const PatientSession& caller,
                                            std::string_view abha_number) {
  ASSIGN_OR_RETURN(const std::string number, parse_abha_number(abha_number));
  ASSIGN_OR_RETURN(Account subject, account(number));
  if (subject.abha_number == caller.abha_number) return subject;
  if (!subject.nominee.empty() && subject.nominee == caller.abha_number) return subject;
  if (!subject.guardian.empty() && subject.guardian == caller.abha_number &&
      current_year(clock_) - subject.year_of_birth < kAdultAge) {
    return subject;
  }
  return make_error(ErrorCode::kPermissionDenied,
                    "you are neither this patient, their nominee, nor the guardian of this minor");
}

Status PatientAccounts::change_account(const PatientSession& caller, std::string_view abha_number,
                                       std::string_view what,
                                       const std::function<Status(json::object&)>& change) {
  ASSIGN_OR_RETURN(const Account subject, acting_for(caller, abha_number));
  ASSIGN_OR_RETURN(auto document, account_document(subject.abha_number));
  RETURN_IF_ERROR(change(document.body));
  store::WriteBatch batch;
  auto entry = account_entry(audit::Action::kAccountChange, caller.account_id, subject.id,
                             unix_ms(clock_.now()));
  entry.reason = std::string(what);
  RETURN_IF_ERROR(audit::append_entry(batch, entry));
  auto written = documents_.write(document, {}, std::move(batch));
  if (!written && written.error().code == ErrorCode::kConflict) {
    return make_error(ErrorCode::kConflict, "the account changed at the same time; try again");
  }
  return written;
}

Status PatientAccounts::set_password(const PatientSession& caller, std::string_view password) {
  if (password.size() < kPasswordMin || password.size() > kPasswordMax) {
    return make_error(ErrorCode::kInvalidArgument, "a password is 8 to 128 characters");
  }
  ASSIGN_OR_RETURN(const std::string hash, crypto::hash_password(password));
  return change_account(caller, caller.abha_number, "password", [&](json::object& body) -> Status {
    body["password_hash"] = hash;
    return {};
  });
}

Status PatientAccounts::set_locked(const PatientSession& caller, bool locked) {
  return change_account(caller, caller.abha_number, locked ? "lock" : "unlock",
                        [&](json::object& body) -> Status {
                          body["locked"] = locked;
                          return {};
                        });
}

Status PatientAccounts::set_nominee(const PatientSession& caller, std::string_view nominee) {
  std::string nominee_number;
  if (!nominee.empty()) {
    ASSIGN_OR_RETURN(const Account found, resolve(nominee));
    if (found.abha_number == caller.abha_number) {
      return make_error(ErrorCode::kInvalidArgument, "a patient cannot be their own nominee");
    }
    nominee_number = found.abha_number;
  }
  return change_account(caller, caller.abha_number, "nominee", [&](json::object& body) -> Status {
    body["nominee"] = nominee_number;
    return {};
  });
}

}  // namespace kavach::consent
