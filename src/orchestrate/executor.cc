#include "orchestrate/executor.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

namespace strata::orchestrate {

namespace {

constexpr const char* kStateNames[] = {"none",   "queued",       "running",         "success",
                                       "failed", "up_for_retry", "upstream_failed", "skipped"};

// A uniform draw in [0, 1) from (seed, task, try), so a run's jitter is reproducible.
double Unit(uint64_t seed, int task, int try_number) {
  uint64_t x = seed ^ (static_cast<uint64_t>(task) * 0x9E3779B97F4A7C15ull) ^
               (static_cast<uint64_t>(try_number) * 0xBF58476D1CE4E5B9ull);
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBull;
  x ^= x >> 31;
  return static_cast<double>(x >> 11) / static_cast<double>(1ull << 53);
}

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), s < 10 ? "%.3gs" : "%.0fs", s);
  return buf;
}

}  // namespace

const char* TaskStateName(TaskState state) { return kStateNames[static_cast<int>(state)]; }

Result<TaskState> ParseTaskState(const std::string& name) {
  for (int i = 0; i < 8; ++i) {
    if (name == kStateNames[i]) return static_cast<TaskState>(i);
  }
  return Status::InvalidArgument("unknown task state '" + name + "'");
}

bool IsTerminal(TaskState s) {
  return s == TaskState::kSuccess || s == TaskState::kFailed || s == TaskState::kUpstreamFailed ||
         s == TaskState::kSkipped;
}

bool RunOutcome::success() const {
  if (stopped) return false;
  for (const auto& t : tasks) {
    if (t.state != TaskState::kSuccess && t.state != TaskState::kSkipped) return false;
  }
  return true;
}

Result<RunOutcome> Execute(const PipelineSpec& pipeline, TaskRunner* runner, const RunContext& run,
                           const ExecutorOptions& options) {
  Clock* clock = options.clock != nullptr ? options.clock : Clock::Real();
  const size_t n = pipeline.tasks.size();
  const int concurrency = options.concurrency > 0 ? options.concurrency : pipeline.concurrency;
  RunOutcome out;
  out.tasks.resize(n);
  std::vector<TaskState> state(n, TaskState::kNone);
  std::vector<int64_t> retry_at(n, 0), deadline(n, 0);
  std::vector<bool> timed_out(n, false);
  std::vector<std::unique_ptr<CancelToken>> tokens(n);
  for (size_t i = 0; i < n && i < options.initial.size(); ++i) {
    if (options.initial[i] == TaskState::kSuccess) {
      state[i] = TaskState::kSuccess;
      out.tasks[i].state = TaskState::kSuccess;
      out.tasks[i].message = "succeeded in an earlier attempt of this run";
    }
  }

  std::mutex mu;
  std::condition_variable main_cv, work_cv;
  struct Finished {
    int task;
    TaskOutcome outcome;
  };
  std::deque<Finished> finished;
  std::deque<std::function<void()>> work;
  bool shutdown = false;
  auto worker = [&] {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mu);
        work_cv.wait(lock, [&] { return shutdown || !work.empty(); });
        if (work.empty()) return;
        job = std::move(work.front());
        work.pop_front();
      }
      job();
    }
  };
  std::vector<std::thread> pool;
  for (int i = 0; i < std::min<int>(concurrency, static_cast<int>(n)); ++i) pool.emplace_back(worker);
  // The stop token wakes the main loop.
  CancelScope stop_scope(options.stop, [&] {
    std::lock_guard<std::mutex> lock(mu);
    main_cv.notify_all();
  });

  bool round_has_events = false;
  auto end_round = [&] {
    if (round_has_events && options.on_round) options.on_round();
    round_has_events = false;
  };
  auto emit = [&](int i, TaskState s, std::string message = "", std::string reason = "", int64_t rows = -1,
                  int64_t at_retry = 0, std::string log = "") {
    state[i] = s;
    out.tasks[i].state = s;
    if (!message.empty() || IsTerminal(s)) out.tasks[i].message = message;
    if (!options.on_event) return;
    round_has_events = true;
    TaskEvent e;
    e.task = i;
    e.state = s;
    e.try_number = out.tasks[i].tries;
    e.at_micros = clock->NowMicros();
    e.message = std::move(message);
    e.exit_reason = std::move(reason);
    e.rows = rows;
    e.retry_at_micros = at_retry;
    e.log_path = std::move(log);
    options.on_event(e);
  };

  int running = 0;
  bool stopping = false;
  Status internal;
  for (;;) {
    int64_t now = clock->NowMicros();
    std::deque<Finished> done;
    {
      std::lock_guard<std::mutex> lock(mu);
      done.swap(finished);
    }
    for (auto& d : done) {
      --running;
      int i = d.task;
      TaskResult& r = out.tasks[i];
      r.ended_micros = now;
      r.rows = d.outcome.rows;
      r.details = std::move(d.outcome.details);
      const TaskSpec& t = pipeline.tasks[i];
      std::string reason;
      std::string message = d.outcome.status.ok() ? d.outcome.summary : d.outcome.status.message();
      if (timed_out[i]) {
        reason = "timeout";
        message = "timed out after " + Seconds(t.timeout_seconds) + " (attempt stopped)";
      } else if (tokens[i]->cancelled()) {
        reason = "cancelled";
        message = "cancelled: " + tokens[i]->reason();
      } else if (!d.outcome.status.ok()) {
        reason = d.outcome.final ? "blocked" : "error";
      }
      r.exit_reason = reason;
      if (reason.empty()) {
        emit(i, TaskState::kSuccess, message, "", d.outcome.rows);
      } else if (reason != "cancelled" && reason != "blocked" && r.tries <= t.retry.retries) {
        double delay = t.retry.DelayBefore(r.tries, Unit(options.jitter_seed, i, r.tries));
        retry_at[i] = now + static_cast<int64_t>(delay * 1e6);
        emit(i, TaskState::kUpForRetry, message, reason, d.outcome.rows, retry_at[i]);
      } else {
        emit(i, TaskState::kFailed, message, reason, d.outcome.rows);
      }
    }

    if (options.stop != nullptr && options.stop->cancelled() && !stopping) {
      stopping = true;
      out.stopped = true;
      for (size_t i = 0; i < n; ++i) {
        if (state[i] == TaskState::kRunning) tokens[i]->Cancel(options.stop->reason());
      }
    }
    for (size_t i = 0; i < n; ++i) {
      if (state[i] == TaskState::kRunning && deadline[i] > 0 && now >= deadline[i] && !timed_out[i]) {
        timed_out[i] = true;
        tokens[i]->Cancel("timeout after " + Seconds(pipeline.tasks[i].timeout_seconds));
      }
    }
    if (!stopping) {
      for (size_t i = 0; i < n; ++i) {
        if (state[i] == TaskState::kUpForRetry && retry_at[i] <= now) emit(static_cast<int>(i), TaskState::kQueued);
      }
      // Trigger rules, to a fixpoint: a skip or upstream failure can settle the next task.
      for (bool changed = true; changed;) {
        changed = false;
        for (size_t i = 0; i < n; ++i) {
          if (state[i] != TaskState::kNone) continue;
          const auto& ups = pipeline.upstream[i];
          int ok = 0, failed = 0, skipped = 0;
          bool all_done = true;
          for (int u : ups) {
            if (!IsTerminal(state[u])) all_done = false;
            ok += state[u] == TaskState::kSuccess;
            failed += state[u] == TaskState::kFailed || state[u] == TaskState::kUpstreamFailed;
            skipped += state[u] == TaskState::kSkipped;
          }
          if (!all_done) continue;
          TaskState next = TaskState::kQueued;
          std::string why;
          switch (pipeline.tasks[i].trigger_rule) {
            case TriggerRule::kAllSuccess:
              if (failed > 0)
                next = TaskState::kUpstreamFailed, why = "an upstream task failed";
              else if (skipped > 0)
                next = TaskState::kSkipped, why = "an upstream task was skipped";
              break;
            case TriggerRule::kAllDone:
              break;
            case TriggerRule::kNoneFailed:
              if (failed > 0) next = TaskState::kUpstreamFailed, why = "an upstream task failed";
              break;
            case TriggerRule::kOneFailed:
              if (failed == 0) next = TaskState::kSkipped, why = "no upstream task failed (trigger_rule one_failed)";
              break;
            case TriggerRule::kAllFailed:
              if (failed != static_cast<int>(ups.size())) {
                next = TaskState::kSkipped, why = "not every upstream task failed (trigger_rule all_failed)";
              }
              break;
          }
          emit(static_cast<int>(i), next, why);
          changed = true;
        }
      }
      for (size_t i = 0; i < n && running < concurrency; ++i) {
        if (state[i] != TaskState::kQueued) continue;
        TaskResult& r = out.tasks[i];
        ++r.tries;
        ++running;
        if (r.started_micros == 0) r.started_micros = now;
        timed_out[i] = false;
        tokens[i] = std::make_unique<CancelToken>();
        const TaskSpec& t = pipeline.tasks[i];
        deadline[i] = t.timeout_seconds > 0 ? now + static_cast<int64_t>(t.timeout_seconds * 1e6) : 0;
        Attempt a;
        a.task = &t;
        a.run = &run;
        a.try_number = r.tries;
        a.cancel = tokens[i].get();
        if (options.log_path) a.log_path = options.log_path(t, r.tries);
        emit(static_cast<int>(i), TaskState::kRunning, "", "", -1, 0, a.log_path);
        int index = static_cast<int>(i);
        std::lock_guard<std::mutex> lock(mu);
        work.push_back([&, a, index] {
          TaskOutcome o = runner->Run(a);
          std::lock_guard<std::mutex> inner(mu);
          finished.push_back({index, std::move(o)});
          main_cv.notify_all();
        });
        work_cv.notify_one();
      }
    }

    end_round();
    bool all_terminal = std::all_of(state.begin(), state.end(), IsTerminal);
    if (running == 0 && (all_terminal || stopping)) break;
    int64_t next_event = INT64_MAX;
    for (size_t i = 0; i < n; ++i) {
      if (state[i] == TaskState::kUpForRetry) next_event = std::min(next_event, retry_at[i]);
      if (state[i] == TaskState::kRunning && deadline[i] > 0 && !timed_out[i]) {
        next_event = std::min(next_event, deadline[i]);
      }
    }
    if (running == 0) {
      if (next_event == INT64_MAX) {
        internal = Status::Internal("pipeline '" + pipeline.name + "': no task can start and none is running");
        break;
      }
      // Nothing runs: wait for the next retry on the clock (a fake clock jumps), in slices so
      // that a stop request is noticed.
      clock->SleepUntilMicros(std::min(next_event, clock->NowMicros() + 100000));
      continue;
    }
    std::unique_lock<std::mutex> lock(mu);
    int64_t wait = next_event == INT64_MAX ? 100000 : std::clamp<int64_t>(next_event - clock->NowMicros(), 0, 100000);
    main_cv.wait_for(lock, std::chrono::microseconds(wait), [&] {
      return !finished.empty() || (options.stop != nullptr && options.stop->cancelled() && !stopping);
    });
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    shutdown = true;
  }
  work_cv.notify_all();
  for (auto& t : pool) t.join();
  if (!internal.ok()) return internal;
  return out;
}

}  // namespace strata::orchestrate
