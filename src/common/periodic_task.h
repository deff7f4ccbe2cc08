// PeriodicTask: runs a function on its own thread every `interval` until destroyed, for the
// node's sweepers (expiring consents, erasing received data) and workers (pushing health data);
// wake() runs it at once, for work that has just arrived. A failing run is logged by the
// function itself and the next run comes on time. Destruction waits for a run in progress.
// Thread-safety: construct and destroy from one thread; the function runs on the task's thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace kavach {

class PeriodicTask {
 public:
  PeriodicTask(std::chrono::milliseconds interval, std::function<void()> run);
  ~PeriodicTask();
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;
  void wake();

 private:
  const std::chrono::milliseconds interval_;
  std::function<void()> run_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // GUARDED_BY(mutex_)
  bool woken_ = false;     // GUARDED_BY(mutex_)
  std::thread thread_;
};

}  // namespace kavach
