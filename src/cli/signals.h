// SignalStop: SIGINT/SIGTERM cancel a token instead of killing the process, for commands that
// stop cleanly (pipeline runs stay resumable, the server finishes its requests).
#pragma once

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <thread>

#include "core/cancel.h"

namespace strata::cli {

// Signals are blocked in every thread started after this object.
class SignalStop {
 public:
  SignalStop() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
    thread_ = std::thread([this] {
      timespec tick{0, 100 * 1000 * 1000};
      while (!done_) {
        int sig = sigtimedwait(&set_, nullptr, &tick);
        if (sig > 0) token.Cancel(sig == SIGINT ? "SIGINT" : "SIGTERM");
      }
    });
  }
  ~SignalStop() {
    done_ = true;
    thread_.join();
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  CancelToken token;

 private:
  sigset_t set_, old_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace strata::cli
