#include "exchange/session_tokens.h"

#include <gtest/gtest.h>

#include "crypto/encoding.h"

namespace kavach::exchange {
namespace {

crypto::SecretBytes seed(std::uint8_t fill) {
  return crypto::SecretBytes(std::vector<std::uint8_t>(32, fill));
}

class SessionTokensTest : public ::testing::Test {
 protected:
  ManualClock clock_{TimePoint{std::chrono::seconds{1'800'000'000}}};
  consent::ArtefactSigner cm_ = *consent::ArtefactSigner::from_seed(seed(1));
  consent::ArtefactVerifier keys_ = consent::ArtefactVerifier::from_public_key(cm_.public_key());
  SessionTokenIssuer issuer_{cm_, "sbx", clock_, std::chrono::minutes(10)};

  std::int64_t now_s() const { return unix_ms(clock_.now()) / 1000; }
  std::string token() const {
    return issuer_.issue("c-apollo", *auth::ScopeSet::parse("abdm/hiu facility:apollo-chennai"))
        .token;
  }
};

TEST_F(SessionTokensTest, AnIssuedTokenVerifiesWithThePublishedKeys) {
  const std::string jwt = token();
  EXPECT_TRUE(looks_like_jwt(jwt));
  const auto published = *consent::ArtefactVerifier::from_jwks(boost::json::value(cm_.jwks()));
  auto caller = verify_session_token(jwt, published, "sbx", now_s());
  ASSERT_TRUE(caller.has_value()) << caller.error().message;
  EXPECT_EQ(caller->client_id, "c-apollo");
  EXPECT_TRUE(caller->scopes.has("abdm/hiu"));
  EXPECT_EQ(caller->scopes.opaque_value("facility:"), "apollo-chennai");
}

TEST_F(SessionTokensTest, ForgedExpiredOrForeignTokensAreRefused) {
  const std::string jwt = token();
  const auto refused = [&](const std::string& candidate, std::string_view issuer = "sbx") {
    auto result = verify_session_token(candidate, keys_, issuer, now_s());
    return !result.has_value() && result.error().code == ErrorCode::kUnauthenticated;
  };
  // Wider scopes written into the payload break the signature.
  const auto first = jwt.find('.');
  const auto second = jwt.find('.', first + 1);
  const std::string wider = crypto::to_base64url(crypto::as_bytes(
      R"({"iss":"sbx","sub":"c-apollo","scope":"kavach/admin","exp":9999999999})"));
  EXPECT_TRUE(refused(jwt.substr(0, first + 1) + wider + jwt.substr(second)));
  // An unsigned token ("alg": "none") and one signed by another key.
  const std::string none_header = crypto::to_base64url(crypto::as_bytes(R"({"alg":"none"})"));
  EXPECT_TRUE(refused(none_header + jwt.substr(first, second - first) + "."));
  const auto rogue = *consent::ArtefactSigner::from_seed(seed(2));
  SessionTokenIssuer rogue_issuer(rogue, "sbx", clock_);
  EXPECT_TRUE(
      refused(rogue_issuer.issue("c-apollo", *auth::ScopeSet::parse("kavach/admin")).token));
  EXPECT_TRUE(refused(jwt, "abdm"));  // another CM's tokens
  EXPECT_TRUE(refused("eyJ.garbage.here"));
  EXPECT_TRUE(refused(""));
  clock_.advance(std::chrono::minutes(11) + std::chrono::seconds(kClockSkewSeconds));
  EXPECT_TRUE(refused(jwt));
}

}  // namespace
}  // namespace kavach::exchange
