#include "consent/notifier.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <boost/json.hpp>

#include "common/file_descriptor.h"
#include "common/time_format.h"

namespace kavach::consent {

Status OutboxFileNotifier::send(const Notice& notice) {
  std::string line =
      boost::json::serialize(boost::json::object{{"at", format_instant_ms(unix_ms(clock_.now()))},
                                                 {"channel", notice.channel},
                                                 {"to", notice.to},
                                                 {"text", notice.text}});
  line.push_back('\n');
  std::lock_guard lock(mutex_);
  const FileDescriptor fd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    return make_error(ErrorCode::kUnavailable,
                      "cannot open the notification outbox: " + std::string(std::strerror(errno)));
  }
  if (auto written = write_all(fd.get(), line); !written) {
    return make_error(ErrorCode::kUnavailable,
                      "cannot write the notification outbox: " + written.error().message);
  }
  if (::fdatasync(fd.get()) != 0) {
    return make_error(ErrorCode::kUnavailable, "cannot flush the notification outbox");
  }
  return {};
}

Status RecordingNotifier::send(const Notice& notice) {
  std::lock_guard lock(mutex_);
  sent_.push_back(notice);
  return {};
}

std::vector<Notice> RecordingNotifier::sent() const {
  std::lock_guard lock(mutex_);
  return sent_;
}

Notice RecordingNotifier::last_to(std::string_view to) const {
  std::lock_guard lock(mutex_);
  for (auto it = sent_.rbegin(); it != sent_.rend(); ++it)
    if (it->to == to) return *it;
  return {};
}

}  // namespace kavach::consent
