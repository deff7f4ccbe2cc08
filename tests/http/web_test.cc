// The web app's server side without a socket: browser sessions (cookie, CSRF token, origin
// checks), the router accepting the cookie, and the app's files under /app/ with their headers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "http/api.h"
#include "http/web_assets.h"
#include "http/web_session.h"
#include "support/temp_dir.h"

namespace kavach::http {
namespace {

using ::testing::HasSubstr;

Request request(std::string method, std::string path) {
  Request made;
  made.method = std::move(method);
  made.path = std::move(path);
  made.headers.emplace_back("host", "127.0.0.1:8080");
  return made;
}

Request with_cookie(Request made, std::string_view token) {
  made.headers.emplace_back("cookie",
                            fmt::format("theme=dark; {}={}; other=1", kSessionCookie, token));
  return made;
}

TEST(WebSessions, CsrfTokensAreBoundToTheSessionAndTheKey) {
  const WebSessions sessions(crypto::SecretBytes::random(32));
  const WebSessions other(crypto::SecretBytes::random(32));
  EXPECT_EQ(sessions.csrf_token("kv1.a.b"), sessions.csrf_token("kv1.a.b"));
  EXPECT_NE(sessions.csrf_token("kv1.a.b"), sessions.csrf_token("kv1.a.c"));
  EXPECT_NE(sessions.csrf_token("kv1.a.b"), other.csrf_token("kv1.a.b"));
  EXPECT_EQ(sessions.csrf_token("kv1.a.b").size(), 43u);  // 32 bytes, base64url
}

TEST(WebSessions, ChangesNeedTheTokenAndThisNodesOwnPages) {
  const WebSessions sessions(crypto::SecretBytes::random(32));
  const std::string token = "kps1.session.secret";
  EXPECT_TRUE(sessions.check_request(request("GET", "/cm/v1/me"), token));
  auto post = request("POST", "/cm/v1/me/lock");
  const auto refused = sessions.check_request(post, token);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kPermissionDenied);
  EXPECT_THAT(refused.error().message, HasSubstr("CSRF"));
  post.headers.emplace_back(std::string(kCsrfHeader), "wrong");
  EXPECT_FALSE(sessions.check_request(post, token));
  post.headers.back().second = sessions.csrf_token(token);
  EXPECT_TRUE(sessions.check_request(post, token));
  EXPECT_FALSE(sessions.check_request(post, "kps1.another.session")) << "bound to its session";

  auto same_origin = post;
  same_origin.headers.emplace_back("origin", "http://127.0.0.1:8080");
  EXPECT_TRUE(sessions.check_request(same_origin, token));
  auto elsewhere = post;
  elsewhere.headers.emplace_back("origin", "https://evil.example");
  EXPECT_FALSE(sessions.check_request(elsewhere, token)) << "even with the token";
  auto cross_site_read = request("GET", "/cm/v1/me");
  cross_site_read.headers.emplace_back("sec-fetch-site", "cross-site");
  EXPECT_FALSE(sessions.check_request(cross_site_read, token));
}

TEST(WebSessions, CookiesAreHttpOnlySecureStrictAndParsedOutOfTheHeader) {
  const auto cookie = session_cookie("kv1.x.y", std::chrono::seconds(300));
  EXPECT_EQ(cookie,
            "__Host-kavach=kv1.x.y; Path=/; Max-Age=300; HttpOnly; Secure; SameSite=Strict");
  EXPECT_THAT(expired_session_cookie(), HasSubstr("__Host-kavach=; Path=/; Max-Age=0"));
  EXPECT_EQ(cookie_value(with_cookie(request("GET", "/"), "kv1.x.y"), kSessionCookie), "kv1.x.y");
  EXPECT_EQ(cookie_value(request("GET", "/"), kSessionCookie), "");
  auto lookalike = request("GET", "/");
  lookalike.headers.emplace_back("cookie", "x__Host-kavach=forged");
  EXPECT_EQ(cookie_value(lookalike, kSessionCookie), "");
}

class CookieRouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto echo = [](const Request&, const RouteContext& context) {
      Response response;
      response.body = context.caller->client_id;
      return response;
    };
    router_.add("GET", "/things", Access::kBearerToken, echo);
    router_.add("POST", "/things", Access::kBearerToken, echo);
    router_.add("POST", "/peer", Access::kPeer, echo);
    router_.set_web_sessions(&sessions_);
    token_ = tokens_.issue("c-1", *auth::ScopeSet::parse("kavach/admin")).token;
  }

  ManualClock clock_{TimePoint{std::chrono::seconds{1'700'000'000}}};
  auth::TokenService tokens_{crypto::SecretBytes::random(32), clock_, std::chrono::seconds{60}};
  WebSessions sessions_{crypto::SecretBytes::random(32)};
  Router router_{tokens_};
  std::string token_;
};

TEST_F(CookieRouterTest, TheSessionCookieStandsForTheBearerHeader) {
  const auto read = router_.handle(with_cookie(request("GET", "/things"), token_));
  EXPECT_EQ(read.status, 200);
  EXPECT_EQ(read.body, "c-1");
  EXPECT_EQ(router_.handle(with_cookie(request("GET", "/things"), "kv1.forged.x")).status, 401);
}

TEST_F(CookieRouterTest, AChangeByCookieNeedsTheCsrfToken) {
  auto post = with_cookie(request("POST", "/things"), token_);
  EXPECT_EQ(router_.handle(post).status, 403);
  post.headers.emplace_back(std::string(kCsrfHeader), sessions_.csrf_token(token_));
  EXPECT_EQ(router_.handle(post).status, 200);
  // A program's bearer header needs no CSRF token: no browser sends it on its own.
  auto bearer = request("POST", "/things");
  bearer.headers.emplace_back("authorization", "Bearer " + token_);
  EXPECT_EQ(router_.handle(bearer).status, 200);
}

TEST_F(CookieRouterTest, FacilityMessagesNeverAcceptABrowserCookie) {
  auto post = with_cookie(request("POST", "/peer"), token_);
  post.headers.emplace_back(std::string(kCsrfHeader), sessions_.csrf_token(token_));
  EXPECT_EQ(router_.handle(post).status, 401);
}

class AppRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.path() / "assets");
    write("index.html", "<!doctype html><script type=module src=/app/assets/app-1.js></script>");
    write("assets/app-1.js", "console.log('app')");
    write("assets/app-1.js.gz", "GZIPPED");
    auto loaded = WebAssets::load(dir_.path());
    ASSERT_TRUE(loaded) << loaded.error().message;
    assets_ = std::move(*loaded);
  }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_.path() / name, std::ios::binary) << text;
  }

  kavach::testing::TempDir dir_;
  std::optional<WebAssets> assets_;
};

TEST_F(AppRoutesTest, AssetsLoadWithTheirTypesAndGzipTwins) {
  EXPECT_EQ(assets_->size(), 2u);
  const auto* script = assets_->find("assets/app-1.js");
  ASSERT_NE(script, nullptr);
  EXPECT_EQ(script->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(script->gzip_body, "GZIPPED");
  EXPECT_TRUE(script->immutable);
  EXPECT_FALSE(assets_->find("index.html")->immutable);
  EXPECT_EQ(assets_->find("../etc/passwd"), nullptr);
  kavach::testing::TempDir empty;
  const auto missing = WebAssets::load(empty.path());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST_F(AppRoutesTest, TheAppIsServedUnderAStrictPolicyWithItsOwnPathsAsThePage) {
  ManualClock clock{TimePoint{std::chrono::seconds{1'700'000'000}}};
  auth::TokenService tokens{crypto::SecretBytes::random(32), clock, std::chrono::seconds{60}};
  Router router(tokens);
  add_web_asset_routes(router, *assets_);
  const auto handle = [&](std::string path, bool gzip = false) {
    auto made = request("GET", std::move(path));
    if (gzip) made.headers.emplace_back("accept-encoding", "gzip, br");
    return router.handle(made);
  };
  const auto page = handle("/app/");
  EXPECT_EQ(page.status, 200);
  EXPECT_THAT(page.body, HasSubstr("<!doctype html>"));
  const auto csp = page.header("Content-Security-Policy");
  EXPECT_THAT(csp, HasSubstr("script-src 'self'"));
  EXPECT_THAT(csp, HasSubstr("frame-ancestors 'none'"));
  EXPECT_THAT(csp, ::testing::Not(HasSubstr("unsafe")));
  EXPECT_EQ(page.header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(page.header("Cache-Control"), "no-cache");
  EXPECT_EQ(handle("/app/patient/requests").body, page.body) << "the app's own paths are the page";
  EXPECT_EQ(handle("/app/missing.js").status, 404);
  EXPECT_EQ(handle("/app/api/unknown").status, 404);
  const auto script = handle("/app/assets/app-1.js");
  EXPECT_EQ(script.body, "console.log('app')");
  EXPECT_THAT(script.header("Cache-Control"), HasSubstr("immutable"));
  const auto zipped = handle("/app/assets/app-1.js", true);
  EXPECT_EQ(zipped.body, "GZIPPED");
  EXPECT_EQ(zipped.header("Content-Encoding"), "gzip");
}

}  // namespace
}  // namespace kavach::http
