#include "consent/patient_accounts.h"

#include "consent/abha.h"
#include "consent_fixture.h"

namespace kavach::consent {
namespace {

class PatientAccountsTest : public ConsentFixture {};

TEST_F(PatientAccountsTest, EnrolmentIssuesALuhnCheckedNumberAndAnAddress) {
  const Account asha = enrol("Asha Devi", "+91 98765 43210", "Asha.Devi");
  EXPECT_EQ(asha.abha_number.size(), 14U);
  EXPECT_TRUE(parse_abha_number(asha.abha_number).has_value());
  EXPECT_EQ(asha.address, "asha.devi@sbx");
  EXPECT_EQ(asha.mobile, "9876543210");
  // Number, display form, chosen address and the number's own address all reach one account.
  EXPECT_EQ(accounts_->resolve(asha.abha_number)->abha_number, asha.abha_number);
  EXPECT_EQ(accounts_->resolve(format_abha_number(asha.abha_number))->abha_number,
            asha.abha_number);
  EXPECT_EQ(accounts_->resolve("ASHA.devi@sbx")->abha_number, asha.abha_number);
  EXPECT_EQ(accounts_->resolve(asha.abha_number + "@sbx")->abha_number, asha.abha_number);
  // A typo in the number is caught by its check digit, not looked up.
  std::string typo = asha.abha_number;
  typo[5] = typo[5] == '9' ? '0' : static_cast<char>(typo[5] + 1);
  EXPECT_NE(accounts_->resolve(typo).error().message.find("check digit"), std::string::npos);
  EXPECT_EQ(accounts_->resolve("nobody.here@sbx").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(accounts_->resolve("asha.devi@abdm").error().code, ErrorCode::kNotFound);
}

TEST_F(PatientAccountsTest, EnrollingTwiceOffersTheExistingHealthId) {
  const Account first = enrol("Asha Devi", "9876543210");
  EnrolmentForm again{"  asha   DEVI ", 1985, "", "F", "09876543210", ""};
  again.mobile = "+919876543210";
  auto ticket = accounts_->start_enrolment(again, "10.0.0.2");
  ASSERT_TRUE(ticket.has_value()) << ticket.error().message;
  auto outcome = accounts_->confirm_enrolment(ticket->id, code_in(notifier_.last_to("9876543210")),
                                              "10.0.0.2");
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
  EXPECT_FALSE(outcome->created);
  EXPECT_EQ(outcome->account.abha_number, first.abha_number);
  // Another person on the same phone (a family member) gets their own ID.
  const Account ravi = enrol("Ravi Kumar", "9876543210");
  EXPECT_NE(ravi.abha_number, first.abha_number);
}

TEST_F(PatientAccountsTest, AChosenAddressBelongsToOnePerson) {
  enrol("Asha Devi", "9876543210", "asha.devi");
  EnrolmentForm form{"Asha Verma", 1990, "", "F", "9123456780", "asha.devi"};
  auto ticket = accounts_->start_enrolment(form, "10.0.0.1");
  ASSERT_TRUE(ticket.has_value());
  auto outcome = accounts_->confirm_enrolment(ticket->id, code_in(notifier_.last_to("9123456780")),
                                              "10.0.0.1");
  ASSERT_FALSE(outcome.has_value());
  EXPECT_EQ(outcome.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(outcome.error().message.find("asha.devi@sbx is taken"), std::string::npos);
}

TEST_F(PatientAccountsTest, BadEnrolmentFormsSayWhatIsWrong) {
  const auto error_of = [&](EnrolmentForm form) {
    auto ticket = accounts_->start_enrolment(form, "10.0.0.1");
    return ticket ? std::string() : ticket.error().message;
  };
  EXPECT_NE(error_of({"", 1985, "", "F", "9876543210", ""}).find("name"), std::string::npos);
  EXPECT_NE(error_of({"Asha", 1850, "", "F", "9876543210", ""}).find("year of birth"),
            std::string::npos);
  EXPECT_NE(error_of({"Asha", 1985, "1986-01-01", "F", "9876543210", ""}).find("date of birth"),
            std::string::npos);
  EXPECT_NE(error_of({"Asha", 1985, "", "X", "9876543210", ""}).find("gender"), std::string::npos);
  EXPECT_NE(error_of({"Asha", 1985, "", "F", "12345", ""}).find("mobile"), std::string::npos);
  EXPECT_NE(error_of({"Asha", 1985, "", "F", "9876543210", "9asha"}).find("address"),
            std::string::npos);
  EXPECT_TRUE(notifier_.sent().empty());  // no code went out for a bad form
}

TEST_F(PatientAccountsTest, OneTimeCodesLockAfterThreeWrongTriesAndExpire) {
  EnrolmentForm form{"Asha Devi", 1985, "", "F", "9876543210", ""};
  auto ticket = accounts_->start_enrolment(form, "10.0.0.1");
  ASSERT_TRUE(ticket.has_value());
  const std::string code = code_in(notifier_.last_to("9876543210"));
  const std::string wrong = code == "000000" ? "111111" : "000000";
  auto first = accounts_->confirm_enrolment(ticket->id, wrong, "10.0.0.1");
  EXPECT_EQ(first.error().code, ErrorCode::kUnauthenticated);
  EXPECT_NE(first.error().message.find("2 tries left"), std::string::npos);
  EXPECT_NE(accounts_->confirm_enrolment(ticket->id, "12ab", "10.0.0.1")
                .error()
                .message.find("1 try left"),
            std::string::npos);
  auto third = accounts_->confirm_enrolment(ticket->id, wrong, "10.0.0.1");
  EXPECT_EQ(third.error().code, ErrorCode::kPermissionDenied);
  // Even the right code no longer works.
  auto locked = accounts_->confirm_enrolment(ticket->id, code, "10.0.0.1");
  EXPECT_EQ(locked.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(locked.error().message.find("locked"), std::string::npos);

  auto fresh = accounts_->start_enrolment(form, "10.0.0.1");
  ASSERT_TRUE(fresh.has_value());
  const std::string fresh_code = code_in(notifier_.last_to("9876543210"));
  clock_.advance(std::chrono::minutes(10));
  auto expired = accounts_->confirm_enrolment(fresh->id, fresh_code, "10.0.0.1");
  EXPECT_EQ(expired.error().code, ErrorCode::kUnauthenticated);
  EXPECT_NE(expired.error().message.find("expired"), std::string::npos);
  EXPECT_EQ(accounts_->confirm_enrolment("no-such-ticket", "123456", "10.0.0.1").error().code,
            ErrorCode::kNotFound);
}

TEST_F(PatientAccountsTest, ACodeWorksOnceAndCodesAreRateLimitedPerNumber) {
  EnrolmentForm form{"Asha Devi", 1985, "", "F", "9876543210", ""};
  auto ticket = accounts_->start_enrolment(form, "10.0.0.1");
  const std::string code = code_in(notifier_.last_to("9876543210"));
  ASSERT_TRUE(accounts_->confirm_enrolment(ticket->id, code, "10.0.0.1").has_value());
  EXPECT_EQ(accounts_->confirm_enrolment(ticket->id, code, "10.0.0.1").error().code,
            ErrorCode::kFailedPrecondition);
  // Three codes to a number at once (one is spent above), then one a minute.
  ASSERT_TRUE(accounts_->start_enrolment(form, "10.0.0.3").has_value());
  ASSERT_TRUE(accounts_->start_enrolment(form, "10.0.0.4").has_value());
  auto flood = accounts_->start_enrolment(form, "10.0.0.5");
  ASSERT_FALSE(flood.has_value());
  EXPECT_EQ(flood.error().code, ErrorCode::kResourceExhausted);
  clock_.advance(std::chrono::seconds(61));
  EXPECT_TRUE(accounts_->start_enrolment(form, "10.0.0.5").has_value());
}

TEST_F(PatientAccountsTest, CodesAreStoredOnlyAsMacs) {
  EnrolmentForm form{"Asha Devi", 1985, "", "F", "9876543210", ""};
  ASSERT_TRUE(accounts_->start_enrolment(form, "10.0.0.1").has_value());
  const std::string code = code_in(notifier_.last_to("9876543210"));
  auto changes = store_->changes_since(0, 100);
  ASSERT_TRUE(changes.has_value());
  for (const auto& record : *changes) {
    const std::string payload(record.payload.begin(), record.payload.end());
    EXPECT_EQ(payload.find(code), std::string::npos);
    EXPECT_EQ(payload.find("9876543210"), std::string::npos);
    EXPECT_EQ(payload.find("Asha"), std::string::npos);
  }
}

TEST_F(PatientAccountsTest, SessionsExpireAndCanBeListedAndEnded) {
  const Account asha = enrol("Asha Devi", "9876543210", "asha.devi");
  auto ticket = accounts_->start_sign_in("asha.devi@sbx", "10.0.0.1");
  ASSERT_TRUE(ticket.has_value());
  auto first =
      accounts_->confirm_sign_in(ticket->id, code_in(notifier_.last_to("9876543210")), "10.0.0.1");
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(accounts_->authenticate(first->token)->abha_number, asha.abha_number);
  const PatientSession session = first->session;
  const PatientSession second = sign_in(asha);
  EXPECT_EQ(accounts_->sessions(session)->size(), 2U);
  ASSERT_TRUE(accounts_->end_session(session, second.id));
  auto listed = accounts_->sessions(session);
  EXPECT_TRUE(std::any_of(listed->begin(), listed->end(),
                          [&](const auto& s) { return s.id == second.id && s.ended; }));
  // A forged secret, a stranger's session id, and time all end a session.
  std::string forged = first->token;
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(accounts_->authenticate(forged).error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(accounts_->authenticate("kps1.garbage").error().code, ErrorCode::kUnauthenticated);
  clock_.advance(std::chrono::hours(2));
  EXPECT_EQ(accounts_->authenticate(first->token).error().code, ErrorCode::kUnauthenticated);
}

TEST_F(PatientAccountsTest, PasswordsAreOptionalAndChecked) {
  const Account asha = enrol("Asha Devi", "9876543210", "asha.devi");
  EXPECT_EQ(accounts_->sign_in_with_password("asha.devi@sbx", "whatever1", "10.0.0.1").error().code,
            ErrorCode::kUnauthenticated);
  const PatientSession session = sign_in(asha);
  EXPECT_EQ(accounts_->set_password(session, "short").error().code, ErrorCode::kInvalidArgument);
  ASSERT_TRUE(accounts_->set_password(session, "correct horse battery"));
  auto signed_in =
      accounts_->sign_in_with_password(asha.abha_number, "correct horse battery", "10.0.0.1");
  ASSERT_TRUE(signed_in.has_value()) << signed_in.error().message;
  EXPECT_EQ(signed_in->session.method, "password");
  auto wrong = accounts_->sign_in_with_password("asha.devi@sbx", "wrong horse", "10.0.0.1");
  EXPECT_EQ(wrong.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(wrong.error().message, "the health ID or password is wrong");
}

TEST_F(PatientAccountsTest, NomineesAndGuardiansActForOthersStrangersDoNot) {
  const Account asha = enrol("Asha Devi", "9876543210", "asha.devi");
  const Account ravi = enrol("Ravi Kumar", "9123456780", "ravi.k");
  const Account stranger = enrol("Someone Else", "9000000001");
  const PatientSession asha_session = sign_in(asha);
  const PatientSession ravi_session = sign_in(ravi);
  const PatientSession stranger_session = sign_in(stranger);
  EXPECT_EQ(accounts_->acting_for(ravi_session, asha.abha_number).error().code,
            ErrorCode::kPermissionDenied);
  ASSERT_TRUE(accounts_->set_nominee(asha_session, "ravi.k@sbx"));
  EXPECT_EQ(accounts_->acting_for(ravi_session, asha.abha_number)->abha_number, asha.abha_number);
  EXPECT_EQ(accounts_->acting_for(stranger_session, asha.abha_number).error().code,
            ErrorCode::kPermissionDenied);
  EXPECT_EQ(accounts_->set_nominee(asha_session, asha.abha_number).error().code,
            ErrorCode::kInvalidArgument);

  auto minor = accounts_->enrol_minor(asha_session, {"Chhotu Devi", 2020, "", "M", "", "chhotu.d"});
  ASSERT_TRUE(minor.has_value()) << minor.error().message;
  EXPECT_EQ(minor->account.guardian, asha.abha_number);
  EXPECT_EQ(accounts_->acting_for(asha_session, minor->account.abha_number)->abha_number,
            minor->account.abha_number);
  EXPECT_EQ(accounts_->acting_for(stranger_session, minor->account.abha_number).error().code,
            ErrorCode::kPermissionDenied);
  EXPECT_EQ(accounts_->enrol_minor(asha_session, {"Grown Up", 1990, "", "M", "", ""}).error().code,
            ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace kavach::consent
