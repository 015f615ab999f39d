// Alerts: notifications about a pipeline run — a JSON webhook (HTTP POST) or a command —
// declared per pipeline under `alerts:` (see pipeline.h for the YAML).
//
// Events:
//   failure          a task ended failed (after its last try), and once more, for the run
//                    (task null), when the run ends failed
//   retry_exhausted  a task failed on its last allowed try after at least one retry
//   publish_blocked  a publish task ended failed or upstream_failed (nothing was published)
//   success          the run ended successful
// A task's end can count as several events (a publish task failing after retries is all
// three); each alert that listens to any of them sends one message, named after the most
// specific event it listens to (publish_blocked, then retry_exhausted, then failure).
// Tasks cancelled because the run was stopped send nothing (the run is resumed later).
//
// Secrets: webhook URLs and header values may reference ${VAR} (or ${VAR:-default}); they are
// kept unresolved in the spec and resolved only when sending. Logs, errors and the run store
// show webhooks as their origin only (no credentials, path, query or fragment); header
// values are never shown; every resolved value is scrubbed from error messages. Commands are
// run by /bin/sh -c as written, so the shell expands their $VARS and Strata never sees them.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "core/config.h"
#include "core/status.h"

namespace strata::orchestrate {

enum class AlertEvent { kFailure, kRetryExhausted, kPublishBlocked, kSuccess };
const char* AlertEventName(AlertEvent event);

struct AlertSpec {
  std::string where;  // file:line:col of its definition
  std::vector<AlertEvent> on = {AlertEvent::kFailure, AlertEvent::kRetryExhausted, AlertEvent::kPublishBlocked};
  // Exactly one of webhook and command is set.
  std::string webhook;                         // URL, ${VAR} unresolved
  std::map<std::string, std::string> headers;  // values with ${VAR} unresolved
  std::string command;                         // for /bin/sh -c, as written
  double timeout_seconds = 10;                 // the whole delivery, retries included

  bool Listens(AlertEvent event) const;
  // For logs and the run store: "webhook http://host:port/…" (no user:password@, no path,
  // which is often the webhook's secret, no ?query or #fragment; ${VAR} left as written) or
  // "command".
  std::string Target() const;
  // The environment variables the spec references without a default that are not set.
  std::vector<std::string> MissingEnv() const;
};

// Parses a pipeline's `alerts:` list (absent = none). Unknown keys and event names (with "did
// you mean"), neither or both of webhook and command, a URL that is not http(s) and bad
// ${...} syntax are errors naming file:line:col.
Result<std::vector<AlertSpec>> ParseAlerts(const ConfigNode& node);

// What an alert says: the webhook's JSON body, the command's stdin and environment.
struct AlertMessage {
  AlertEvent event = AlertEvent::kFailure;
  std::string pipeline;
  std::string run_id;
  std::string logical_date;
  std::string task;    // "" = about the whole run
  std::string state;   // the task's state (failed, upstream_failed) or the run's (failed, success)
  int try_number = 0;  // the task's last try (0 for the run)
  std::string error;   // "" when none
  std::string log_path;
  int64_t at_micros = 0;

  // Where the web UI shows it: $STRATA_UI_URL (default "") + "/runs/<run_id>[#task=<task>]".
  std::string Link() const;
  // One line for humans, e.g. "daily__2024-01-01: task load failed after 3 tries: ...".
  std::string Summary() const;
  // {"event", "pipeline", "run_id", "logical_date", "task", "state", "try", "error",
  //  "log_path", "link", "summary", "at"} (task, try, error, log_path null when not applicable;
  //  at in UTC, ISO 8601).
  nlohmann::json ToJson() const;
};

struct AlertResult {
  AlertMessage message;
  std::string target;  // AlertSpec::Target()
  bool ok = false;
  int tries = 0;             // 0: not attempted
  bool unreachable = false;  // timed out, or kept failing through its retries
  std::string error;         // secrets scrubbed
  int64_t at_micros = 0;     // when the delivery ended
};

// Sends one alert, blocking for at most spec.timeout_seconds (plus a second's grace to kill a
// command). Webhooks: POST with Content-Type application/json, up to 3 tries with a short
// backoff on connection errors, timeouts, 429 and 5xx; other statuses fail at once. Commands:
// the JSON on stdin, STRATA_ALERT_* variables in the environment, output appended to
// `log_path` ("" = discarded), a non-zero exit is a failure, and on timeout the process group
// gets SIGTERM, then SIGKILL.
AlertResult DeliverAlert(const AlertSpec& spec, const AlertMessage& message, const std::string& log_path);

// Delivers alerts on a background thread, one after the other, so that the caller (the
// executor's thread) never waits for a webhook. A target that times out or keeps failing
// through its retries is paused for a minute: task alerts to it are recorded as not sent
// rather than waited for (the run's own alert is always tried), so a dead endpoint costs a
// run one delivery timeout a minute, plus one for the run's alert. Thread-safe.
class AlertDispatcher {
 public:
  // `alerts` must outlive the dispatcher. `log_path`: the run's alert log, where every delivery
  // and each command's output is appended ("" = none).
  AlertDispatcher(const std::vector<AlertSpec>* alerts, std::string log_path);
  // Waits for the queued deliveries (each bounded by its timeout).
  ~AlertDispatcher();
  AlertDispatcher(const AlertDispatcher&) = delete;
  AlertDispatcher& operator=(const AlertDispatcher&) = delete;

  // Queues `message` for every alert listening to any of `events` (most specific first; the
  // message's event becomes the first one the alert listens to). Returns at once.
  void Post(const std::vector<AlertEvent>& events, const AlertMessage& message);
  // Deliveries that ended since the last call, oldest first. Does not wait.
  std::vector<AlertResult> TakeFinished();
  // Blocks until every queued delivery has ended.
  void Wait();

 private:
  void Loop();

  const std::vector<AlertSpec>* alerts_;
  std::string log_path_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<const AlertSpec*, AlertMessage>> queue_;
  std::vector<AlertResult> finished_;
  static constexpr int kPauseSeconds = 60;
  std::map<const AlertSpec*, std::chrono::steady_clock::time_point> paused_until_;  // the thread's own
  bool busy_ = false;
  bool shutdown_ = false;
  std::thread thread_;  // started on the first Post
};

}  // namespace strata::orchestrate
