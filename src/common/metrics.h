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
#include <shared_mutex>
#include <string>
#include <string_view>
#include <tuple>

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
  // Series are keyed by their label values and looked up without building a string or taking
  // the lock exclusively: every request and store call observes one, and formatting its labels
  // under one mutex was about 1% of a search's CPU. Labels are formatted when rendered.
  using RequestKey = std::tuple<std::string, int>;              // route, status
  using StoreKey = std::tuple<std::string, std::string, bool>;  // backend, operation, ok
  // Orders keys and their string-view lookups alike (by value, as views).
  struct ByLabelValues {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return as_views(a) < as_views(b);
    }
    static std::string_view as_view(const std::string& text) { return text; }
    static std::string_view as_view(std::string_view text) { return text; }
    template <typename Scalar>
    static Scalar as_view(Scalar value) {
      return value;
    }
    template <typename... Values>
    static auto as_views(const std::tuple<Values...>& key) {
      return std::apply([](const auto&... value) { return std::tuple(as_view(value)...); }, key);
    }
  };
  template <typename Key>
  using Family = std::map<Key, std::unique_ptr<Histogram>, ByLabelValues>;
  template <typename Key, typename Lookup>
  Histogram& series(Family<Key>& family, const Lookup& lookup);

  mutable std::shared_mutex mutex_;
  Family<RequestKey> requests_;                        // GUARDED_BY(mutex_)
  Family<StoreKey> store_;                             // GUARDED_BY(mutex_)
  std::map<std::string, double, std::less<>> gauges_;  // GUARDED_BY(mutex_)
};

}  // namespace kavach
