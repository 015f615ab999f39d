#include "core/clock.h"

#include <chrono>
#include <thread>

namespace strata {

namespace {

class RealClock : public Clock {
 public:
  int64_t NowMicros() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  void SleepUntilMicros(int64_t micros) override {
    int64_t now = NowMicros();
    if (micros > now) std::this_thread::sleep_for(std::chrono::microseconds(micros - now));
  }
};

}  // namespace

Clock* Clock::Real() {
  static RealClock clock;
  return &clock;
}

}  // namespace strata
