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

Histogram& Metrics::series(std::map<std::string, std::unique_ptr<Histogram>, std::less<>>& family,
                           std::string labels) {
  std::lock_guard lock(mutex_);
  auto& slot = family[std::move(labels)];
  if (!slot) slot = std::make_unique<Histogram>();
  return *slot;
}

void Metrics::observe_request(std::string_view route, int status, double seconds) {
  series(requests_, fmt::format("route=\"{}\",status=\"{}\"", route, status)).observe(seconds);
}

void Metrics::observe_store(std::string_view backend, std::string_view operation, bool ok,
                            double seconds) {
  series(store_, fmt::format("backend=\"{}\",operation=\"{}\",outcome=\"{}\"", backend, operation,
                             ok ? "ok" : "error"))
      .observe(seconds);
}

void Metrics::set_gauge(std::string_view name, double value) {
  std::lock_guard lock(mutex_);
  gauges_[std::string(name)] = value;
}

std::string Metrics::render() const {
  std::string out;
  std::lock_guard lock(mutex_);
  out += "# HELP kavach_http_request_duration_seconds HTTP requests by route and status.\n";
  out += "# TYPE kavach_http_request_duration_seconds histogram\n";
  for (const auto& [labels, histogram] : requests_) {
    histogram->render(out, "kavach_http_request_duration_seconds", labels);
  }
  out += "# HELP kavach_store_operation_duration_seconds Store calls by operation and outcome.\n";
  out += "# TYPE kavach_store_operation_duration_seconds histogram\n";
  for (const auto& [labels, histogram] : store_) {
    histogram->render(out, "kavach_store_operation_duration_seconds", labels);
  }
  for (const auto& [name, value] : gauges_) {
    out += fmt::format("# TYPE {} gauge\n{} {}\n", name, name, value);
  }
  return out;
}

}  // namespace kavach
