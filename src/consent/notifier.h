// The notifier seam: how the consent manager reaches a person (a one-time code, a consent request
// waiting, a break-the-glass access to their records). The default writes each notice as one JSON
// line to an outbox file, which the demo shows and a hospital's SMS gateway can tail; a gateway
// adapter implements the same interface.
// Thread-safety: implementations are safe from any thread.
#pragma once

#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/error.h"

namespace kavach::consent {

struct Notice {
  std::string channel;  // "sms"
  std::string to;       // a mobile number
  std::string text;
};

class Notifier {
 public:
  virtual ~Notifier() = default;
  virtual Status send(const Notice& notice) = 0;
};

// Appends {"at":..., "channel":..., "to":..., "text":...} lines to a file, flushed before send()
// returns. The file holds one-time codes, so it is created readable by its owner only.
class OutboxFileNotifier final : public Notifier {
 public:
  OutboxFileNotifier(std::filesystem::path path, const Clock& clock)
      : path_(std::move(path)), clock_(clock) {}
  Status send(const Notice& notice) override;

 private:
  const std::filesystem::path path_;
  const Clock& clock_;
  std::mutex mutex_;  // serialises appends
};

// Keeps notices in memory; for tests.
class RecordingNotifier final : public Notifier {
 public:
  Status send(const Notice& notice) override;
  std::vector<Notice> sent() const;
  // The last notice sent to `to`, or an empty one.
  Notice last_to(std::string_view to) const;

 private:
  mutable std::mutex mutex_;
  std::vector<Notice> sent_;  // GUARDED_BY(mutex_)
};

}  // namespace kavach::consent
