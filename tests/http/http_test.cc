// Routing, authentication and error mapping, exercised without a socket.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "http/bundle_text.h"
#include "http/client.h"
#include "http/message.h"
#include "http/problem.h"
#include "http/router.h"

namespace kavach::http {
namespace {

using ::testing::HasSubstr;

TEST(BundleText, SplicesResourcesIntoTheBundleAsParsedJsonWouldBe) {
  const std::string patient = R"({"resourceType":"Patient","id":"p1","name":[{"family":"Rao"}]})";
  BundleText bundle(
      boost::json::object{{"resourceType", "Bundle"}, {"type", "searchset"}, {"total", 2}});
  bundle.add("http://h/fhir/R4/Patient/p1", patient, "match");
  bundle.add("http://h/fhir/R4/Patient/\"odd\"", "", "include");
  bundle.add("http://h/fhir/R4/Observation/o1", R"({"resourceType":"Observation"})");
  const auto parsed = boost::json::parse(std::move(bundle).finish());
  const boost::json::value expected = {
      {"resourceType", "Bundle"},
      {"type", "searchset"},
      {"total", 2},
      {"entry",
       {{{"fullUrl", "http://h/fhir/R4/Patient/p1"},
         {"resource", boost::json::parse(patient)},
         {"search", {{"mode", "match"}}}},
        {{"fullUrl", "http://h/fhir/R4/Patient/\"odd\""}, {"search", {{"mode", "include"}}}},
        {{"fullUrl", "http://h/fhir/R4/Observation/o1"},
         {"resource", {{"resourceType", "Observation"}}}}}}};
  EXPECT_EQ(parsed, expected);
}

TEST(BundleText, ABundleWithNoEntriesHasNoEntryArray) {
  // FHIR's JSON forbids empty arrays.
  EXPECT_EQ(BundleText(boost::json::object{{"type", "history"}}).finish(), R"({"type":"history"})");
  EXPECT_EQ(BundleText(boost::json::object{}).finish(), "{}");
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.add("GET", "/open", Access::kPublic, [](const Request&, const RouteContext&) {
      Response response;
      response.body = "open";
      return response;
    });
    router_.add("GET", "/things/{id}", Access::kBearerToken,
                [](const Request&, const RouteContext& context) {
                  Response response;
                  response.body = context.param("id") + ":" + context.caller->client_id;
                  return response;
                });
    router_.add(
        "GET", "/boom", Access::kPublic,
        [](const Request&, const RouteContext&) -> Response { throw std::runtime_error("boom"); });
  }
  static Request get(std::string path, std::string authorization = "") {
    Request request{"GET", std::move(path), "", {}, "", ""};
    if (!authorization.empty())
      request.headers.emplace_back("authorization", std::move(authorization));
    return request;
  }
  static std::string diagnostics(const Response& response) {
    return std::string(
        boost::json::parse(response.body).at("issue").at(0).at("diagnostics").as_string());
  }

  ManualClock clock_{TimePoint{std::chrono::seconds{1'700'000'000}}};
  auth::TokenService tokens_{crypto::SecretBytes::random(32), clock_, std::chrono::seconds{60}};
  Router router_{tokens_};
};

TEST_F(RouterTest, PublicRouteAnswersAndNamesItsRoute) {
  const auto response = router_.handle(get("/open"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "open");
  EXPECT_EQ(response.route, "/open");
}

TEST_F(RouterTest, ProtectedRouteNeedsAValidToken) {
  EXPECT_EQ(router_.handle(get("/things/1")).status, 401);
  EXPECT_EQ(router_.handle(get("/things/1", "Basic abc")).status, 401);
  EXPECT_EQ(router_.handle(get("/things/1", "Bearer forged")).status, 401);
  const auto token = tokens_.issue("c-1", *auth::ScopeSet::parse("system/Patient.r")).token;
  const auto response = router_.handle(get("/things/a%2Fb", "bearer " + token));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "a/b:c-1");
  clock_.advance(std::chrono::seconds{61});
  const auto expired = router_.handle(get("/things/1", "Bearer " + token));
  EXPECT_EQ(expired.status, 401);
  EXPECT_THAT(diagnostics(expired), HasSubstr("expired"));
  EXPECT_THAT(expired.header("WWW-Authenticate"), HasSubstr("Bearer"));
}

TEST_F(RouterTest, UnknownPathsMethodsAndThrowingHandlers) {
  EXPECT_EQ(router_.handle(get("/nope")).status, 404);
  Request post = get("/open");
  post.method = "POST";
  EXPECT_EQ(router_.handle(post).status, 405);
  const auto failed = router_.handle(get("/boom"));
  EXPECT_EQ(failed.status, 500);
  EXPECT_THAT(diagnostics(failed), ::testing::Not(HasSubstr("boom")));
}

TEST_F(RouterTest, MessagesAddressedToAnotherFacilityOrCmAreRefused) {
  router_.set_addressee("sbx", "aiims-delhi");
  const auto addressed = [&](const char* header, const char* value) {
    Request request = get("/open");
    request.headers.emplace_back(header, value);
    return router_.handle(request);
  };
  EXPECT_EQ(addressed("x-hip-id", "aiims-delhi").status, 200);
  EXPECT_EQ(addressed("x-cm-id", "sbx").status, 200);
  const auto elsewhere = addressed("x-hip-id", "kem-mumbai");
  EXPECT_EQ(elsewhere.status, 404);
  EXPECT_THAT(diagnostics(elsewhere), HasSubstr("kem-mumbai"));
  EXPECT_EQ(addressed("x-hiu-id", "apollo").status, 404);
  EXPECT_EQ(addressed("x-cm-id", "other-cm").status, 404);
  // A node that is no CM ignores X-CM-ID (it is not the addressee of CM traffic).
  router_.set_addressee("", "aiims-delhi");
  EXPECT_EQ(addressed("x-cm-id", "other-cm").status, 200);
}

TEST_F(RouterTest, RoutesBetweenNodesNeedAClientCertificateUnderMutualTls) {
  router_.add("POST", "/from-node", Access::kFromNode, [](const Request&, const RouteContext&) {
    Response response;
    response.body = "node";
    return response;
  });
  Request request = get("/from-node");
  request.method = "POST";
  EXPECT_EQ(router_.handle(request).status, 200) << "no token needed, no mutual TLS configured";
  router_.require_node_certificates(true);
  const auto refused = router_.handle(request);
  EXPECT_EQ(refused.status, 403);
  EXPECT_THAT(diagnostics(refused), HasSubstr("mutual TLS"));
  request.client_certificate = true;
  EXPECT_EQ(router_.handle(request).status, 200);
  EXPECT_EQ(router_.handle(get("/open")).status, 200) << "public routes need no certificate";
}

TEST_F(RouterTest, AMatchIsBriefOnlyForABriefRouteAndARequestNamingNoConsent) {
  router_.add(
      "GET", "/brief/{id}", Access::kPublic,
      [](const Request&, const RouteContext& context) {
        Response response;
        response.body = "brief " + context.param("id");
        return response;
      },
      Work::kBrief);
  EXPECT_TRUE(router_.match(get("/brief/7")).brief());
  EXPECT_FALSE(router_.match(get("/open")).brief()) << "routes may block unless said otherwise";
  EXPECT_FALSE(router_.match(get("/nope")).brief());
  Request post = get("/brief/7");
  post.method = "POST";
  EXPECT_FALSE(router_.match(post).brief()) << "the path is brief's, the method is not";
  Request consented = get("/brief/7");
  consented.headers.emplace_back("x-kavach-consent", "c-1");
  EXPECT_FALSE(router_.match(consented).brief())
      << "a read under a consent may have to ask the CM first";

  // A route brief for some requests only: its BriefWhen decides, and a consent still overrides.
  router_.add(
      "GET", "/search/{type}", Access::kPublic,
      [](const Request&, const RouteContext&) { return Response{}; }, Work::kBrief,
      [](const Request& request, const RouteContext& context) {
        return context.param("type") == "Observation" && request.query == "one-page";
      });
  Request one_page = get("/search/Observation");
  one_page.query = "one-page";
  EXPECT_TRUE(router_.match(one_page).brief());
  Request scan = one_page;
  scan.query = "everything";
  EXPECT_FALSE(router_.match(scan).brief());
  Request other_type = one_page;
  other_type.path = "/search/Patient";
  EXPECT_FALSE(router_.match(other_type).brief());
  one_page.headers.emplace_back("x-kavach-consent", "c-1");
  EXPECT_FALSE(router_.match(one_page).brief());

  // Handling a match answers as handling the request does, route name included.
  const auto response = router_.handle(get("/brief/7"), router_.match(get("/brief/7")));
  EXPECT_EQ(response.body, "brief 7");
  EXPECT_EQ(response.route, "/brief/{id}");
  EXPECT_EQ(router_.handle(post, router_.match(post)).status, 405);
  EXPECT_EQ(router_.handle(get("/nope"), router_.match(get("/nope"))).status, 404);
}

TEST(Problem, EveryCodeMapsToItsStatusWithAnOperationOutcome) {
  const std::pair<ErrorCode, int> cases[] = {{ErrorCode::kInvalidArgument, 400},
                                             {ErrorCode::kUnauthenticated, 401},
                                             {ErrorCode::kPermissionDenied, 403},
                                             {ErrorCode::kNotFound, 404},
                                             {ErrorCode::kConflict, 409},
                                             {ErrorCode::kAlreadyExists, 409},
                                             {ErrorCode::kGone, 410},
                                             {ErrorCode::kFailedPrecondition, 412},
                                             {ErrorCode::kTooLarge, 413},
                                             {ErrorCode::kUnsupportedMedia, 415},
                                             {ErrorCode::kResourceExhausted, 429},
                                             {ErrorCode::kInternal, 500},
                                             {ErrorCode::kDataLoss, 500},
                                             {ErrorCode::kUnavailable, 503}};
  for (const auto& [code, status] : cases) {
    const auto response = problem_response(Error{code, "detail for the client"});
    EXPECT_EQ(response.status, status);
    EXPECT_EQ(response.header("Content-Type"), kFhirJson);
    const auto outcome = boost::json::parse(response.body);
    EXPECT_EQ(outcome.at("resourceType").as_string(), "OperationOutcome");
    const bool internal = status == 500;
    EXPECT_EQ(outcome.at("issue").at(0).at("diagnostics").as_string() == "detail for the client",
              !internal);
  }
}

TEST(Message, QueryParsingDecodes) {
  const auto parameters =
      parse_query("family=Sh%61rma&given=a+b&flag&&code=http%3A%2F%2Fx%7Cy&bad=%zz");
  ASSERT_EQ(parameters.size(), 5u);
  EXPECT_EQ(parameters[0], (std::pair<std::string, std::string>{"family", "Sharma"}));
  EXPECT_EQ(parameters[1].second, "a b");
  EXPECT_EQ(parameters[2], (std::pair<std::string, std::string>{"flag", ""}));
  EXPECT_EQ(parameters[3].second, "http://x|y");
  EXPECT_EQ(parameters[4].second, "%zz");
  EXPECT_EQ(percent_decode("a+b%2"), "a+b%2");
  EXPECT_EQ(percent_encode("http://x|y z~"), "http%3A%2F%2Fx%7Cy%20z~");
  EXPECT_EQ(parse_query("v=" + percent_encode("a+b&c=d"))[0].second, "a+b&c=d");
}

TEST(PeerUrl, HttpsAnywherePlainHttpOnlyOnLoopback) {
  auto parsed = parse_url("https://cm.example.in/audit/witness/add-checkpoint");
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(parsed->tls);
  EXPECT_EQ(parsed->host, "cm.example.in");
  EXPECT_EQ(parsed->port, "443");
  EXPECT_EQ(parsed->target, "/audit/witness/add-checkpoint");
  parsed = parse_url("http://127.0.0.1:8080/x?y=1");
  ASSERT_TRUE(parsed);
  EXPECT_FALSE(parsed->tls);
  EXPECT_EQ(parsed->port, "8080");
  EXPECT_EQ(parsed->target, "/x?y=1");
  parsed = parse_url("https://[2001:db8::1]:8443");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->host, "2001:db8::1");
  EXPECT_EQ(parsed->target, "/");
  for (const char* bad :
       {"http://cm.example.in/x", "http://10.0.0.5:80/", "ftp://x/", "https://user@host/",
        "https://host:99999999/", "https://:80/", "https://[::1/"}) {
    EXPECT_FALSE(parse_url(bad)) << bad;
  }
}

TEST(PeerUrl, AnUnreachablePeerIsUnavailableNotACrash) {
  auto client = HttpClient::create({std::chrono::milliseconds(2000), 1024, {}, {}, {}});
  ASSERT_TRUE(client);
  // Port 1 on loopback: nothing listens there.
  auto reply = (*client)->post("http://127.0.0.1:1/", "text/plain", "x");
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace kavach::http
