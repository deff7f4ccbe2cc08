#include <condition_variable>
#include <mutex>

#include "store/store.h"

namespace kavach::store {

struct CommitTicket::State {
  std::mutex mutex;
  std::condition_variable settled_changed;
  std::optional<Result<CommitReceipt>> outcome;  // GUARDED_BY(mutex); set once
  Callback callback;                             // GUARDED_BY(mutex)
  bool settled = false;  // GUARDED_BY(mutex): the outcome is set and its callback has run
};

CommitTicket::CommitTicket() : state_(std::make_shared<State>()) {}

CommitTicket CommitTicket::done(Result<CommitReceipt> outcome) {
  CommitTicket ticket;
  ticket.state_->outcome = std::move(outcome);
  ticket.state_->settled = true;
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
  // Outside the lock: the callback may look at the ticket again. The outcome is set once, so it
  // is read here without the lock.
  if (callback) callback(*state_->outcome);
  {
    std::lock_guard lock(state_->mutex);
    state_->settled = true;
  }
  state_->settled_changed.notify_all();
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
  state_->settled_changed.wait(lock, [&] { return state_->settled; });
  return *state_->outcome;
}

}  // namespace kavach::store
