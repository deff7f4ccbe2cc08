#include "common/metrics.h"

#include <fmt/format.h>

namespace kavach {

void Histogram::observe(double seconds) {
  for (std::size_t i = 0; i < kBucketsSeconds.size(); ++i) {
    if (seconds <= kBucketsSeconds[i]) {
      buckets_[i].fetch_add(1, std::memory_order_relaxed);
      break;
    }
  }
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_microseconds_.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

void Histogram::render(std::string& out, std::string_view name, std::string_view labels) const {
  // Buckets are stored per interval and rendered cumulatively, as Prometheus expects.
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kBucketsSeconds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    out +=
        fmt::format("{}_bucket{{{},le=\"{}\"}} {}\n", name, labels, kBucketsSeconds[i], cumulative);
  }
  const auto count = count_.load(std::memory_order_relaxed);
  out += fmt::format("{}_bucket{{{},le=\"+Inf\"}} {}\n", name, labels, count);
  out += fmt::format("{}_sum{{{}}} {}\n", name, labels,
                     static_cast<double>(sum_microseconds_.load(std::memory_order_relaxed)) / 1e6);
  out += fmt::format("{}_count{{{}}} {}\n", name, labels, count);
}

template <typename Key, typename Lookup>
Histogram& Metrics::series(Family<Key>& family, const Lookup& lookup) {
  {
    std::shared_lock lock(mutex_);
    if (const auto found = family.find(lookup); found != family.end()) return *found->second;
  }
  std::unique_lock lock(mutex_);
  auto [slot, inserted] = family.try_emplace(Key(lookup), nullptr);
  if (inserted) slot->second = std::make_unique<Histogram>();
  return *slot->second;
}

void Metrics::observe_request(std::string_view route, int status, double seconds) {
  series(requests_, std::tuple<std::string_view, int>(route, status)).observe(seconds);
}

void Metrics::observe_store(std::string_view backend, std::string_view operation, bool ok,
                            double seconds) {
  series(store_, std::tuple<std::string_view, std::string_view, bool>(backend, operation, ok))
      .observe(seconds);
}

void Metrics::set_gauge(std::string_view name, double value) {
  std::unique_lock lock(mutex_);
  gauges_[std::string(name)] = value;
}

std::string Metrics::render() const {
  std::string out;
  std::shared_lock lock(mutex_);
  out += "# HELP kavach_http_request_duration_seconds HTTP requests by route and status.\n";
  out += "# TYPE kavach_http_request_duration_seconds histogram\n";
  for (const auto& [key, histogram] : requests_) {
    const auto& [route, status] = key;
    histogram->render(out, "kavach_http_request_duration_seconds",
                      fmt::format("route=\"{}\",status=\"{}\"", route, status));
  }
  out += "# HELP kavach_store_operation_duration_seconds Store calls by operation and outcome.\n";
  out += "# TYPE kavach_store_operation_duration_seconds histogram\n";
  for (const auto& [key, histogram] : store_) {
    const auto& [backend, operation, ok] = key;
    histogram->render(out, "kavach_store_operation_duration_seconds",
                      fmt::format("backend=\"{}\",operation=\"{}\",outcome=\"{}\"", backend,
                                  operation, ok ? "ok" : "error"));
  }
  for (const auto& [name, value] : gauges_) {
    out += fmt::format("# TYPE {} gauge\n{} {}\n", name, name, value);
  }
  return out;
}

}  // namespace kavach
