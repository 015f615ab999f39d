// CancelToken: asks running work to stop — a timed-out task, a SIGTERM. Work checks
// cancelled() at safe points; things that block (a DuckDB query, a child process) register
// a callback that interrupts them. Thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "core/status.h"

namespace strata {

class CancelToken {
 public:
  CancelToken() = default;
  CancelToken(const CancelToken&) = delete;
  CancelToken& operator=(const CancelToken&) = delete;

  // Fires once: records `reason` and runs every registered callback.
  void Cancel(const std::string& reason);
  bool cancelled() const { return cancelled_.load(); }
  std::string reason() const;

  // Runs `fn` on cancellation (at once if already cancelled). Returns an id for Unregister.
  int Register(std::function<void()> fn);
  void Unregister(int id);

  // Runs `arm` once, when the first callback is registered: when something that can be
  // interrupted starts. A cause of cancellation that costs to watch (a client's connection)
  // is then watched only for requests that do run such work.
  void OnFirstRegister(std::function<void()> arm);

 private:
  std::atomic<bool> cancelled_{false};
  mutable std::mutex mu_;
  std::string reason_;
  int next_id_ = 0;
  std::map<int, std::function<void()>> callbacks_;
  std::function<void()> arm_;
};

// Registers a callback for the lifetime of a scope.
class CancelScope {
 public:
  CancelScope(CancelToken* token, std::function<void()> fn) : token_(token) {
    if (token_ != nullptr) id_ = token_->Register(std::move(fn));
  }
  ~CancelScope() {
    if (token_ != nullptr) token_->Unregister(id_);
  }
  CancelScope(const CancelScope&) = delete;
  CancelScope& operator=(const CancelScope&) = delete;

  // kAborted if the token was cancelled. Call it after the scope is set up and before the
  // work starts: a cancellation that came earlier ran the callback while there was nothing to
  // interrupt (an idle DuckDB connection forgets an interrupt), so only this check sees it.
  Status Check() const {
    if (token_ == nullptr || !token_->cancelled()) return Status::OK();
    return Status::Aborted("cancelled: " + token_->reason());
  }

 private:
  CancelToken* token_;
  int id_ = -1;
};

}  // namespace strata
