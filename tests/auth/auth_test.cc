#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "auth/attempt_limiter.h"
#include "auth/client_registry.h"
#include "auth/scopes.h"
#include "auth/token_service.h"
#include "crypto/encoding.h"
#include "crypto/key_ring.h"
#include "store/store_factory.h"
#include "support/temp_dir.h"

namespace kavach::auth {
namespace {

TEST(Scopes, SmartV2LettersGrantExactlyThoseInteractions) {
  auto scopes = ScopeSet::parse("system/Patient.rs system/Observation.c");
  ASSERT_TRUE(scopes);
  EXPECT_TRUE(scopes->allows("Patient", Interaction::kRead));
  EXPECT_TRUE(scopes->allows("Patient", Interaction::kSearch));
  EXPECT_FALSE(scopes->allows("Patient", Interaction::kCreate));
  EXPECT_TRUE(scopes->allows("Observation", Interaction::kCreate));
  EXPECT_FALSE(scopes->allows("Observation", Interaction::kRead));
  EXPECT_FALSE(scopes->allows("Condition", Interaction::kRead));
}

TEST(Scopes, WildcardsAndV1Spellings) {
  auto all = ScopeSet::parse("system/*.cruds");
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->allows("Encounter", Interaction::kDelete));
  auto v1 = ScopeSet::parse("system/Patient.read user/*.write kavach/admin");
  ASSERT_TRUE(v1);
  EXPECT_TRUE(v1->allows("Patient", Interaction::kSearch));
  EXPECT_TRUE(v1->allows("Observation", Interaction::kUpdate));
  EXPECT_FALSE(v1->allows("Observation", Interaction::kRead));
  EXPECT_TRUE(v1->has("kavach/admin"));
  EXPECT_FALSE(v1->has("kavach/audit"));
  EXPECT_EQ(v1->text(), "system/Patient.read user/*.write kavach/admin");
}

TEST(Scopes, MalformedScopesAreRefused) {
  for (const char* bad : {"system/Patient.sr", "system/patient.rs", "system/Patient.x",
                          "system/Patient.", "system/Patient.rs\nx", "system/Pat;ent.rs"}) {
    EXPECT_FALSE(ScopeSet::parse(bad)) << bad;
  }
  std::string many;
  for (int i = 0; i < 100; ++i) many += "a ";
  EXPECT_FALSE(ScopeSet::parse(many));
}

class TokenTest : public ::testing::Test {
 protected:
  ManualClock clock_{TimePoint{std::chrono::seconds{1'700'000'000}}};
  TokenService tokens_{crypto::SecretBytes::random(32), clock_, std::chrono::seconds{300}};
  ScopeSet scopes_ = *ScopeSet::parse("system/Patient.rs");
};

TEST_F(TokenTest, IssuedTokenVerifiesWithItsScopes) {
  const auto issued = tokens_.issue("c-0123", scopes_);
  auto access = tokens_.verify(issued.token);
  ASSERT_TRUE(access) << access.error().message;
  EXPECT_EQ(access->client_id, "c-0123");
  EXPECT_TRUE(access->scopes.allows("Patient", Interaction::kRead));
  EXPECT_FALSE(access->scopes.allows("Patient", Interaction::kCreate));
}

TEST_F(TokenTest, ExpiredTokenIsRefused) {
  const auto issued = tokens_.issue("c-0123", scopes_);
  clock_.advance(std::chrono::seconds{301});
  auto access = tokens_.verify(issued.token);
  ASSERT_FALSE(access);
  EXPECT_EQ(access.error().code, ErrorCode::kUnauthenticated);
  EXPECT_THAT(access.error().message, ::testing::HasSubstr("expired"));
}

TEST_F(TokenTest, ForgedOrForeignTokensAreRefused) {
  const auto issued = tokens_.issue("c-0123", scopes_);
  TokenService other(crypto::SecretBytes::random(32), clock_, std::chrono::seconds{300});
  EXPECT_FALSE(other.verify(issued.token));
  // Swap in a payload that widens the scopes but keep the old tag.
  const auto forged_payload =
      crypto::to_base64url(crypto::as_bytes("c-0123\nsystem/*.cruds\n99999999999999"));
  const auto tag = issued.token.substr(issued.token.rfind('.'));
  EXPECT_FALSE(tokens_.verify("kv1." + forged_payload + tag));
  for (const char* garbage : {"", "kv1.", "kv1..", "Bearer x", "kv1.!!!.???", "kv2.a.b"}) {
    EXPECT_FALSE(tokens_.verify(garbage)) << garbage;
  }
}

TEST(AttemptLimiter, AllowsABurstThenRefillsOverTime) {
  ManualClock clock{TimePoint{std::chrono::seconds{1'700'000'000}}};
  AttemptLimiter limiter({3, 1, 100}, clock);
  EXPECT_TRUE(limiter.try_acquire("10.0.0.1"));
  EXPECT_TRUE(limiter.try_acquire("10.0.0.1"));
  EXPECT_TRUE(limiter.try_acquire("10.0.0.1"));
  EXPECT_FALSE(limiter.try_acquire("10.0.0.1"));
  EXPECT_TRUE(limiter.try_acquire("10.0.0.2"));  // each key has its own bucket
  clock.advance(std::chrono::milliseconds(1500));
  EXPECT_TRUE(limiter.try_acquire("10.0.0.1"));
  EXPECT_FALSE(limiter.try_acquire("10.0.0.1"));
  clock.advance(std::chrono::seconds(60));  // refills to the burst, no further
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.try_acquire("10.0.0.1"));
  EXPECT_FALSE(limiter.try_acquire("10.0.0.1"));
}

TEST(AttemptLimiter, TracksABoundedNumberOfKeys) {
  ManualClock clock{TimePoint{std::chrono::seconds{1'700'000'000}}};
  AttemptLimiter limiter({1, 0.001, 10}, clock);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(limiter.try_acquire("peer-" + std::to_string(i)));
    clock.advance(std::chrono::milliseconds(1));
  }
  // The most recent keys are still remembered (and empty); the oldest were forgotten.
  EXPECT_FALSE(limiter.try_acquire("peer-999"));
  EXPECT_TRUE(limiter.try_acquire("peer-0"));
}

// A node's store and vault for the client registry.
class ClientRegistryTest : public ::testing::Test {
 protected:
  testing::TempDir dir;
  crypto::KeyRing ring = *crypto::KeyRing::create(dir.path() / "node.key");
  std::unique_ptr<store::Store> store =
      *store::open_store("sqlite:" + (dir.path() / "store.db").string());
  ManualClock clock{TimePoint{std::chrono::seconds{1'700'000'000}}};
  vault::KeyVault keys{*store, ring, clock};
  vault::RecordSealer sealer{keys};
};

TEST_F(ClientRegistryTest, TooManyAttemptsAreRefusedBeforeAnySecretIsChecked) {
  ClientRegistry registry(*store, sealer, clock, {{3, 1, 100}, {2, 1, 100}});
  auto created = registry.add("HMIS", "system/Patient.rs", "os:tester");
  ASSERT_TRUE(created);
  // Guesses at one client from many addresses run into the client's own bucket.
  int refused = 0;
  for (int i = 0; i < 3; ++i) {
    auto attempt =
        registry.authenticate(created->client_id, "guess", "10.0.1." + std::to_string(i));
    if (!attempt && attempt.error().code == ErrorCode::kResourceExhausted) ++refused;
  }
  EXPECT_EQ(refused, 1);
  // Attempts from one address at many client ids run into the address's bucket.
  refused = 0;
  for (int i = 0; i < 5; ++i) {
    auto attempt =
        registry.authenticate("c-00000000000000000000000" + std::to_string(i), "x", "192.0.2.7");
    if (!attempt && attempt.error().code == ErrorCode::kResourceExhausted) ++refused;
  }
  EXPECT_EQ(refused, 2);
  clock.advance(std::chrono::seconds(30));
  EXPECT_TRUE(registry.authenticate(created->client_id, created->client_secret, "10.0.0.1"));
}

TEST_F(ClientRegistryTest, AddedClientAuthenticatesOnlyWithItsSecret) {
  ClientRegistry registry(*store, sealer, clock);

  auto created = registry.add("Lab interface", "system/Observation.cruds", "os:tester");
  ASSERT_TRUE(created) << created.error().message;
  auto client = registry.authenticate(created->client_id, created->client_secret, "10.0.0.1");
  ASSERT_TRUE(client);
  EXPECT_EQ(client->name, "Lab interface");
  EXPECT_TRUE(client->scopes.allows("Observation", Interaction::kCreate));

  EXPECT_EQ(registry.authenticate(created->client_id, "wrong", "10.0.0.1").error().code,
            ErrorCode::kUnauthenticated);
  EXPECT_EQ(registry.authenticate("c-000000000000000000000000", created->client_secret, "10.0.0.1")
                .error()
                .code,
            ErrorCode::kUnauthenticated);
  EXPECT_EQ(registry.authenticate("../etc", "x", "10.0.0.1").error().code,
            ErrorCode::kUnauthenticated);
  EXPECT_FALSE(registry.add("", "system/Patient.rs", "os:tester"));
  EXPECT_FALSE(registry.add("x", "", "os:tester"));
  EXPECT_FALSE(registry.add("x", "system/Patient.zz", "os:tester"));

  // The stored record holds neither the secret nor the client's name in plaintext.
  auto record = *store->read_current(std::string(kClientRecordType), created->client_id);
  const std::string payload(record->payload.begin(), record->payload.end());
  EXPECT_EQ(payload.find("Lab interface"), std::string::npos);
  EXPECT_EQ(payload.find(created->client_secret), std::string::npos);
}

}  // namespace
}  // namespace kavach::auth
