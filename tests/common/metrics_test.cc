// Metrics (common/metrics.h): series by label values, rendered in the Prometheus text format.
#include "common/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace kavach {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(MetricsTest, EachLabelSetIsOneSeriesRenderedWithItsLabels) {
  Metrics metrics;
  metrics.observe_request("/fhir/R4/{type}/{id}", 200, 0.0004);
  metrics.observe_request("/fhir/R4/{type}/{id}", 200, 0.003);
  metrics.observe_request("/fhir/R4/{type}/{id}", 404, 0.002);
  metrics.observe_store("sqlite", "read_current", true, 0.0001);
  metrics.observe_store("sqlite", "read_current", false, 0.2);
  metrics.set_gauge("kavach_audit_log_size", 12);
  const auto text = metrics.render();
  const std::string ok = R"(route="/fhir/R4/{type}/{id}",status="200")";
  EXPECT_THAT(
      text, HasSubstr("kavach_http_request_duration_seconds_bucket{" + ok + ",le=\"0.0005\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("kavach_http_request_duration_seconds_bucket{" + ok +
                              ",le=\"0.005\"} 2\n"));  // cumulative
  EXPECT_THAT(text, HasSubstr("kavach_http_request_duration_seconds_count{" + ok + "} 2\n"));
  EXPECT_THAT(text, HasSubstr("kavach_http_request_duration_seconds_count{route=\"/fhir/R4/"
                              "{type}/{id}\",status=\"404\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("kavach_store_operation_duration_seconds_count{backend=\"sqlite\","
                              "operation=\"read_current\",outcome=\"ok\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("kavach_store_operation_duration_seconds_bucket{backend=\"sqlite\","
                              "operation=\"read_current\",outcome=\"error\",le=\"0.25\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE kavach_audit_log_size gauge\nkavach_audit_log_size 12\n"));
  EXPECT_THAT(text, Not(HasSubstr("status=\"500\"")));
}

TEST(MetricsTest, ObservationsFromManyThreadsAreAllCounted) {
  Metrics metrics;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&metrics, t] {
      for (int i = 0; i < 1000; ++i) {
        metrics.observe_request(t % 2 ? "/a" : "/b", 200 + i % 2, 0.001);
        metrics.observe_store("sqlite", "commit", true, 0.001);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const auto text = metrics.render();
  EXPECT_THAT(text, HasSubstr("_count{route=\"/a\",status=\"200\"} 1000\n"));
  EXPECT_THAT(text, HasSubstr("_count{route=\"/b\",status=\"201\"} 1000\n"));
  EXPECT_THAT(text,
              HasSubstr("_count{backend=\"sqlite\",operation=\"commit\",outcome=\"ok\"} 4000\n"));
}

}  // namespace
}  // namespace kavach
