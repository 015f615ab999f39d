#include "core/cancel.h"

#include <vector>

namespace strata {

void CancelToken::Cancel(const std::string& reason) {
  std::vector<std::function<void()>> fns;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (cancelled_.load()) return;
    reason_ = reason;
    cancelled_.store(true);
    for (auto& [id, fn] : callbacks_) fns.push_back(fn);
  }
  for (auto& fn : fns) fn();  // outside the lock: a callback may unregister
}

std::string CancelToken::reason() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reason_;
}

void CancelToken::OnFirstRegister(std::function<void()> arm) {
  std::lock_guard<std::mutex> lock(mu_);
  arm_ = std::move(arm);
}

int CancelToken::Register(std::function<void()> fn) {
  std::unique_lock<std::mutex> lock(mu_);
  if (arm_) {
    // Outside the lock: arming may lead to Cancel() on another thread.
    std::function<void()> arm = std::move(arm_);
    arm_ = nullptr;
    lock.unlock();
    arm();
    lock.lock();
  }
  int id = next_id_++;
  if (cancelled_.load()) {
    lock.unlock();
    fn();
    return id;
  }
  callbacks_[id] = std::move(fn);
  return id;
}

void CancelToken::Unregister(int id) {
  std::lock_guard<std::mutex> lock(mu_);
  callbacks_.erase(id);
}

}  // namespace strata
