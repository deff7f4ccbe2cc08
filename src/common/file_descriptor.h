// FileDescriptor: owns a POSIX file descriptor and closes it when it goes out of scope; and
// write_all(), which writes every byte or says why not.
// Thread-safety: a FileDescriptor is used by one thread at a time.
#pragma once

#include <string_view>

#include "common/error.h"

namespace kavach {

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor();
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_;
};

// Writes all of `text`, retrying short writes and EINTR; kUnavailable with the system's reason.
Status write_all(int fd, std::string_view text);

}  // namespace kavach
