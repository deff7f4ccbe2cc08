// Process metrics in the Prometheus text format, served at GET /metrics: request counts and latency
// histograms by route and status, and store operation latencies by backend, operation and outcome.
// Labels are route patterns and operation names, never ids or values from a request.
// Thread-safety: every method is safe from any thread.
#pragma once

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace kavach {

class Histogram {
 public:
  static constexpr std::array<double, 14> kBucketsSeconds = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  void observe(double seconds);
  void render(std::string& out, std::string_view name, std::string_view labels) const;

 private:
  std::array<std::atomic<std::uint64_t>, kBucketsSeconds.size()> buckets_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_microseconds_{0};
};

class Metrics {
 public:
  void observe_request(std::string_view route, int status, double seconds);
  void observe_store(std::string_view backend, std::string_view operation, bool ok, double seconds);
  void set_gauge(std::string_view name, double value);
  std::string render() const;

 private:
  Histogram& series(std::map<std::string, std::unique_ptr<Histogram>, std::less<>>& family,
                    std::string labels);

  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Histogram>, std::less<>> requests_;  // GUARDED_BY(mutex_)
  std::map<std::string, std::unique_ptr<Histogram>, std::less<>> store_;     // GUARDED_BY(mutex_)
  std::map<std::string, double, std::less<>> gauges_;                        // GUARDED_BY(mutex_)
};

}  // namespace kavach
