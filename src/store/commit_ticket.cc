#include <condition_variable>
#include <mutex>

#include "store/store.h"

namespace kavach::store {

struct CommitTicket::State {
  std::mutex mutex;
  std::condition_variable completed;
  std::optional<Result<CommitReceipt>> outcome;  // GUARDED_BY(mutex)
  Callback callback;                             // GUARDED_BY(mutex)
};

CommitTicket::CommitTicket() : state_(std::make_shared<State>()) {}

CommitTicket CommitTicket::done(Result<CommitReceipt> outcome) {
  CommitTicket ticket;
  ticket.state_->outcome = std::move(outcome);
  return ticket;
}

void CommitTicket::complete(Result<CommitReceipt> outcome) const {
  Callback callback;
  {
    std::lock_guard lock(state_->mutex);
    if (state_->outcome) return;
    state_->outcome = std::move(outcome);
    callback = std::move(state_->callback);
  }
  state_->completed.notify_all();
  // Outside the lock: the callback may look at the ticket again.
  if (callback) callback(*state_->outcome);
}

void CommitTicket::when_done(Callback callback) const {
  {
    std::lock_guard lock(state_->mutex);
    if (!state_->outcome) {
      state_->callback = std::move(callback);
      return;
    }
  }
  callback(*state_->outcome);
}

Result<CommitReceipt> CommitTicket::wait() const {
  std::unique_lock lock(state_->mutex);
  state_->completed.wait(lock, [&] { return state_->outcome.has_value(); });
  return *state_->outcome;
}

}  // namespace kavach::store
