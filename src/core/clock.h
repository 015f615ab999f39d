// Clock: the time source of everything that waits or schedules — real in production, a
// FakeClock in tests so that schedules, retries and backoff are checked without sleeping.
#pragma once

#include <atomic>
#include <cstdint>

namespace strata {

class Clock {
 public:
  virtual ~Clock() = default;
  // Microseconds since the Unix epoch.
  virtual int64_t NowMicros() const = 0;
  // Blocks until NowMicros() >= `micros` (returns at once if it already is).
  virtual void SleepUntilMicros(int64_t micros) = 0;

  int64_t NowSeconds() const { return NowMicros() / 1000000; }
  // The process-wide real clock (system_clock).
  static Clock* Real();
};

// A clock that only moves when told to, or when someone sleeps on it: sleeping until T sets
// the time to T at once. Thread-safe.
class FakeClock : public Clock {
 public:
  explicit FakeClock(int64_t start_micros = 0) : now_(start_micros) {}
  int64_t NowMicros() const override { return now_.load(); }
  void SleepUntilMicros(int64_t micros) override { Set(micros); }
  void Advance(int64_t micros) { now_.fetch_add(micros); }
  // Moves the time forward to `micros` (never backward).
  void Set(int64_t micros) {
    int64_t cur = now_.load();
    while (cur < micros && !now_.compare_exchange_weak(cur, micros)) {
    }
  }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace strata
