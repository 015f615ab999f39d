#include "orchestrate/executor.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

namespace strata::orchestrate {

namespace {

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

bool RunOutcome::success() const {
  if (stopped) return false;
  for (const auto& t : tasks) {
    if (t.state != TaskState::kSuccess && t.state != TaskState::kSkipped) return false;
  }
  return true;
}

namespace {

// One call of Execute. The caller's thread runs the loop and makes every decision, in rounds:
// take in the attempts the workers finished, apply a stop request and timeouts, queue the
// retries that are due, apply trigger rules, start ready tasks, then wait for the next event.
// Workers only run task bodies and hand back what they return.
class RunLoop {
 public:
  RunLoop(const PipelineSpec& pipeline, TaskRunner* runner, const RunContext& run, const ExecutorOptions& options);
  Result<RunOutcome> Run();

 private:
  // An attempt a worker finished, handed to the loop.
  struct Finished {
    int task;
    TaskOutcome outcome;
  };

  Status Loop();
  void CollectFinished(int64_t now);
  void FinishAttempt(Finished* d, int64_t now);
  void HandleStop();
  void HandleTimeouts(int64_t now);
  void QueueDueRetries(int64_t now);
  void ApplyTriggerRules();
  bool SettleByTriggerRule(int i);
  void StartReadyTasks(int64_t now);
  void StartAttempt(int i, int64_t now);
  int64_t NextEvent() const;
  void WaitForWorkers(int64_t next_event);
  void Emit(int i, TaskState s, std::string message = "", std::string reason = "", int64_t rows = -1,
            int64_t at_retry = 0, std::string log = "");
  void EndRound();
  void StartWorkers();
  void Work();
  void StopWorkers();

  const PipelineSpec& pipeline_;
  TaskRunner* const runner_;
  const RunContext& run_;
  const ExecutorOptions& options_;
  Clock* const clock_;
  const size_t n_;
  const int concurrency_;

  // The loop thread's own (the vectors by task index).
  RunOutcome out_;
  std::vector<TaskState> state_;
  std::vector<int64_t> retry_at_, deadline_;
  std::vector<bool> timed_out_;
  std::vector<std::unique_ptr<CancelToken>> tokens_;
  int running_ = 0;
  bool stopping_ = false;
  bool round_has_events_ = false;

  // Shared with the workers, under mu_.
  std::mutex mu_;
  std::condition_variable main_cv_, work_cv_;
  std::deque<Finished> finished_;
  std::deque<std::function<void()>> work_;
  bool shutdown_ = false;
  std::vector<std::thread> pool_;
};

RunLoop::RunLoop(const PipelineSpec& pipeline, TaskRunner* runner, const RunContext& run,
                 const ExecutorOptions& options)
    : pipeline_(pipeline),
      runner_(runner),
      run_(run),
      options_(options),
      clock_(options.clock != nullptr ? options.clock : Clock::Real()),
      n_(pipeline.tasks.size()),
      concurrency_(options.concurrency > 0 ? options.concurrency : pipeline.concurrency),
      state_(n_, TaskState::kNone),
      retry_at_(n_, 0),
      deadline_(n_, 0),
      timed_out_(n_, false),
      tokens_(n_) {
  out_.tasks.resize(n_);
  for (size_t i = 0; i < n_ && i < options_.initial.size(); ++i) {
    if (options_.initial[i] == TaskState::kSuccess) {
      state_[i] = TaskState::kSuccess;
      out_.tasks[i].state = TaskState::kSuccess;
      out_.tasks[i].message = "succeeded in an earlier attempt of this run";
    }
  }
}

Result<RunOutcome> RunLoop::Run() {
  StartWorkers();
  // The stop token wakes the main loop.
  CancelScope stop_scope(options_.stop, [this] {
    std::lock_guard<std::mutex> lock(mu_);
    main_cv_.notify_all();
  });
  Status internal = Loop();
  StopWorkers();
  if (!internal.ok()) return internal;
  return std::move(out_);
}

// Rounds until every task is terminal, or the run is stopping, and no attempt runs.
Status RunLoop::Loop() {
  for (;;) {
    const int64_t now = clock_->NowMicros();
    CollectFinished(now);
    HandleStop();
    HandleTimeouts(now);
    if (!stopping_) {
      QueueDueRetries(now);
      ApplyTriggerRules();
      StartReadyTasks(now);
    }
    EndRound();
    bool all_terminal = std::all_of(state_.begin(), state_.end(), IsTerminal);
    if (running_ == 0 && (all_terminal || stopping_)) return Status::OK();
    const int64_t next_event = NextEvent();
    if (running_ == 0) {
      if (next_event == INT64_MAX) {
        return Status::Internal("pipeline '" + pipeline_.name + "': no task can start and none is running");
      }
      // Nothing runs: wait for the next retry on the clock (a fake clock jumps), in slices so
      // that a stop request is noticed.
      clock_->SleepUntilMicros(std::min(next_event, clock_->NowMicros() + 100000));
      continue;
    }
    WaitForWorkers(next_event);
  }
}

void RunLoop::CollectFinished(int64_t now) {
  std::deque<Finished> done;
  {
    std::lock_guard<std::mutex> lock(mu_);
    done.swap(finished_);
  }
  for (auto& d : done) FinishAttempt(&d, now);
}

// A finished attempt becomes a success, a retry after its backoff, or a failure. A timeout or
// a stop, not the error the cancelled body returned, is what the attempt reports.
void RunLoop::FinishAttempt(Finished* d, int64_t now) {
  --running_;
  int i = d->task;
  TaskResult& r = out_.tasks[i];
  r.ended_micros = now;
  r.rows = d->outcome.rows;
  r.details = std::move(d->outcome.details);
  const TaskSpec& t = pipeline_.tasks[i];
  std::string reason;
  std::string message = d->outcome.status.ok() ? d->outcome.summary : d->outcome.status.message();
  if (timed_out_[i]) {
    reason = "timeout";
    message = "timed out after " + Seconds(t.timeout_seconds) + " (attempt stopped)";
  } else if (tokens_[i]->cancelled()) {
    reason = "cancelled";
    message = "cancelled: " + tokens_[i]->reason();
  } else if (!d->outcome.status.ok()) {
    reason = d->outcome.final ? "blocked" : "error";
  }
  r.exit_reason = reason;
  if (reason.empty()) {
    Emit(i, TaskState::kSuccess, message, "", d->outcome.rows);
  } else if (reason != "cancelled" && reason != "blocked" && r.tries <= t.retry.retries) {
    double delay = t.retry.DelayBefore(r.tries, Unit(options_.jitter_seed, i, r.tries));
    retry_at_[i] = now + static_cast<int64_t>(delay * 1e6);
    Emit(i, TaskState::kUpForRetry, message, reason, d->outcome.rows, retry_at_[i]);
  } else {
    Emit(i, TaskState::kFailed, message, reason, d->outcome.rows);
  }
}

// A stop request, taken once: running attempts are cancelled and nothing new starts.
void RunLoop::HandleStop() {
  if (options_.stop == nullptr || !options_.stop->cancelled() || stopping_) return;
  stopping_ = true;
  out_.stopped = true;
  for (size_t i = 0; i < n_; ++i) {
    if (state_[i] == TaskState::kRunning) tokens_[i]->Cancel(options_.stop->reason());
  }
}

// Attempts past their deadline are cancelled (FinishAttempt reports them as timeouts).
void RunLoop::HandleTimeouts(int64_t now) {
  for (size_t i = 0; i < n_; ++i) {
    if (state_[i] == TaskState::kRunning && deadline_[i] > 0 && now >= deadline_[i] && !timed_out_[i]) {
      timed_out_[i] = true;
      tokens_[i]->Cancel("timeout after " + Seconds(pipeline_.tasks[i].timeout_seconds));
    }
  }
}

void RunLoop::QueueDueRetries(int64_t now) {
  for (size_t i = 0; i < n_; ++i) {
    if (state_[i] == TaskState::kUpForRetry && retry_at_[i] <= now) Emit(static_cast<int>(i), TaskState::kQueued);
  }
}

// Trigger rules, to a fixpoint: a skip or upstream failure can settle the next task.
void RunLoop::ApplyTriggerRules() {
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < n_; ++i) {
      if (state_[i] == TaskState::kNone && SettleByTriggerRule(static_cast<int>(i))) changed = true;
    }
  }
}

// Once every upstream task of task i is done, its trigger rule makes it queued, upstream_failed
// or skipped (true); before, nothing changes (false).
bool RunLoop::SettleByTriggerRule(int i) {
  const auto& ups = pipeline_.upstream[i];
  int ok = 0, failed = 0, skipped = 0;
  bool all_done = true;
  for (int u : ups) {
    if (!IsTerminal(state_[u])) all_done = false;
    ok += state_[u] == TaskState::kSuccess;
    failed += state_[u] == TaskState::kFailed || state_[u] == TaskState::kUpstreamFailed;
    skipped += state_[u] == TaskState::kSkipped;
  }
  if (!all_done) return false;
  TaskState next = TaskState::kQueued;
  std::string why;
  switch (pipeline_.tasks[i].trigger_rule) {
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
  Emit(i, next, why);
  return true;
}

// Queued tasks start in task order while fewer than `concurrency` attempts run.
void RunLoop::StartReadyTasks(int64_t now) {
  for (size_t i = 0; i < n_ && running_ < concurrency_; ++i) {
    if (state_[i] == TaskState::kQueued) StartAttempt(static_cast<int>(i), now);
  }
}

// A new attempt of task i: a fresh cancel token and deadline, the running event, and a job
// that runs the task's body on a worker.
void RunLoop::StartAttempt(int i, int64_t now) {
  TaskResult& r = out_.tasks[i];
  ++r.tries;
  ++running_;
  if (r.started_micros == 0) r.started_micros = now;
  timed_out_[i] = false;
  tokens_[i] = std::make_unique<CancelToken>();
  const TaskSpec& t = pipeline_.tasks[i];
  deadline_[i] = t.timeout_seconds > 0 ? now + static_cast<int64_t>(t.timeout_seconds * 1e6) : 0;
  Attempt a;
  a.task = &t;
  a.run = &run_;
  a.try_number = r.tries;
  a.cancel = tokens_[i].get();
  if (options_.log_path) a.log_path = options_.log_path(t, r.tries);
  Emit(i, TaskState::kRunning, "", "", -1, 0, a.log_path);
  std::lock_guard<std::mutex> lock(mu_);
  work_.push_back([this, a, i] {
    TaskOutcome o = runner_->Run(a);
    std::lock_guard<std::mutex> inner(mu_);
    finished_.push_back({i, std::move(o)});
    main_cv_.notify_all();
  });
  work_cv_.notify_one();
}

// The next retry or deadline, INT64_MAX if there is none.
int64_t RunLoop::NextEvent() const {
  int64_t next_event = INT64_MAX;
  for (size_t i = 0; i < n_; ++i) {
    if (state_[i] == TaskState::kUpForRetry) next_event = std::min(next_event, retry_at_[i]);
    if (state_[i] == TaskState::kRunning && deadline_[i] > 0 && !timed_out_[i]) {
      next_event = std::min(next_event, deadline_[i]);
    }
  }
  return next_event;
}

// Until an attempt finishes, a stop is requested or the next event is due, at most 100 ms.
void RunLoop::WaitForWorkers(int64_t next_event) {
  std::unique_lock<std::mutex> lock(mu_);
  int64_t wait = next_event == INT64_MAX ? 100000 : std::clamp<int64_t>(next_event - clock_->NowMicros(), 0, 100000);
  main_cv_.wait_for(lock, std::chrono::microseconds(wait), [&] {
    return !finished_.empty() || (options_.stop != nullptr && options_.stop->cancelled() && !stopping_);
  });
}

// A state change of task i: recorded in the outcome and reported as an event.
void RunLoop::Emit(int i, TaskState s, std::string message, std::string reason, int64_t rows, int64_t at_retry,
                   std::string log) {
  state_[i] = s;
  out_.tasks[i].state = s;
  if (!message.empty() || IsTerminal(s)) out_.tasks[i].message = message;
  if (!options_.on_event) return;
  round_has_events_ = true;
  TaskEvent e;
  e.task = i;
  e.state = s;
  e.try_number = out_.tasks[i].tries;
  e.at_micros = clock_->NowMicros();
  e.message = std::move(message);
  e.exit_reason = std::move(reason);
  e.rows = rows;
  e.retry_at_micros = at_retry;
  e.log_path = std::move(log);
  if (s == TaskState::kSuccess || s == TaskState::kFailed || s == TaskState::kUpForRetry) {
    e.details = &out_.tasks[i].details;
  }
  options_.on_event(e);
}

void RunLoop::EndRound() {
  if (round_has_events_ && options_.on_round) options_.on_round();
  round_has_events_ = false;
}

void RunLoop::StartWorkers() {
  for (int i = 0; i < std::min<int>(concurrency_, static_cast<int>(n_)); ++i) pool_.emplace_back([this] { Work(); });
}

// A worker: runs jobs until shut down with none left.
void RunLoop::Work() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [&] { return shutdown_ || !work_.empty(); });
      if (work_.empty()) return;
      job = std::move(work_.front());
      work_.pop_front();
    }
    job();
  }
}

void RunLoop::StopWorkers() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutdown_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : pool_) t.join();
}

}  // namespace

Result<RunOutcome> Execute(const PipelineSpec& pipeline, TaskRunner* runner, const RunContext& run,
                           const ExecutorOptions& options) {
  return RunLoop(pipeline, runner, run, options).Run();
}

}  // namespace strata::orchestrate
