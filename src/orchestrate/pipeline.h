// Pipelines: the DAGs of tasks a project declares under `pipelines:` in strata.yml.
//
//   pipelines:
//     daily:
//       schedule: "0 6 * * *"         # 5-field cron or @daily, @hourly, ...; absent = manual only
//                                     # (how runs are named and what each covers: calendar.h)
//       timezone: Europe/Berlin       # IANA name; default UTC
//       start_date: 2024-01-01        # first logical date the scheduler and catchup consider
//       catchup: true                 # run missed intervals, oldest first
//       max_active_runs: 1            # runs of this pipeline at once (scheduler, backfill)
//       concurrency: 4                # tasks of one run at once
//       defaults: {retries: 2, retry_delay: 30s, retry_backoff: exponential, max_retry_delay: 10m,
//                  retry_jitter: true, timeout: 1h}
//       tasks:
//         ingest_shopdb: {type: ingest, source: shopdb}
//         load:          {type: load}
//         build:         {type: build, select: "staging+ marts", vars: {lookback_days: 3}}
//         publish:       {type: publish, select: "marts", schema: analytics}  # audit, then promote
//         notify:        {type: shell, command: "echo done", after: [build], trigger_rule: all_done}
//       alerts:                       # see alerts.h for the events and what counts as each
//         - on: [failure, retry_exhausted, publish_blocked, success]  # default: all but success
//           webhook: https://hooks.example.com/strata                 # POSTs the JSON below
//           headers: {Authorization: "Bearer ${ALERT_TOKEN}"}         # ${VAR} resolved when sending
//           timeout: 10s              # the whole delivery, 3 tries included (default 10s)
//         - on: [failure]
//           command: 'notify-send "$STRATA_ALERT_SUMMARY"'  # /bin/sh -c; the JSON on stdin
//
// Alerts: a JSON webhook (HTTP POST) or a command per entry, sent from a background thread (a
// slow or dead endpoint never fails the run nor holds up its tasks; before it returns, the run
// waits for the queue, each delivery bounded by its timeout, and an endpoint that did not
// answer is skipped for a minute). The JSON: {"event", "pipeline", "run_id", "logical_date",
// "task" (null for the run), "state", "try", "error", "log_path", "link" ($STRATA_UI_URL +
// "/runs/<run_id>#task=<task>"), "summary", "at" (UTC ISO 8601)}.
// Commands get it on stdin and as STRATA_ALERT_EVENT, STRATA_ALERT_SUMMARY, STRATA_ALERT_LINK,
// STRATA_ALERT_ERROR, STRATA_PIPELINE, STRATA_RUN_ID, STRATA_LOGICAL_DATE, STRATA_TASK,
// STRATA_TRY, STRATA_STATE, STRATA_LOG_PATH; their output goes to the run's alerts.log (next
// to its task logs). Secrets stay in the environment: webhook URLs and header values keep
// ${VAR} unresolved until sending (an unset one is a warning when the run starts and an error
// when sending), and logs, errors and the run store never show header values, credentials or
// query strings. Every delivery is recorded in the run store (`strata runs show`). To share
// alerts between pipelines, use a YAML anchor (`alerts: &alerts [...]`, then `alerts: *alerts`).
//
// Task types: ingest (one source into the lake), load (new lake files into raw.*), build and
// test (the project's dbt project, with a selection), publish (write-audit-publish: run the
// tests of the selected relations, and only if no error-severity test fails copy them into
// `schema` in one transaction; see transform/publish.h), sql (statements on the warehouse),
// shell (a command), noop.
//
// build, test and publish see the run as dbt vars: {{ var('ds') }} (the local date of the
// interval start, YYYY-MM-DD), var('logical_date') (the run's date, or its UTC start time
// for pipelines that run several times a day), var('data_interval_start'),
// var('data_interval_end') (UTC timestamps), var('run_id'); a task's `vars:` add to them.
// Shell tasks get them as STRATA_DS, STRATA_LOGICAL_DATE, STRATA_DATA_INTERVAL_START,
// STRATA_DATA_INTERVAL_END and STRATA_RUN_ID. Ingest tasks land in the `ds` partition, and
// the sql connector takes rows whose cursor is before the interval's end.
//
// Dependencies are explicit (`after`) and implied by assets: a task that reads an asset runs
// after every task that writes it. Built-in types declare theirs — ingest writes
// `lake.<source>`; load reads `lake.*` and writes `raw`; build reads `raw` and writes
// `models`; test reads `models` and writes `checks`; publish reads `models` and `checks` —
// and any task may add `reads:`/`writes:` (globs with `*`).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/project.h"
#include "core/status.h"
#include "orchestrate/alerts.h"

namespace strata::orchestrate {

class TaskKind;  // task_kind.h

// When a task may run, given its upstream tasks' final states (evaluated once all of them
// have finished).
enum class TriggerRule {
  kAllSuccess,  // every upstream succeeded (default); a failure upstream -> upstream_failed
  kAllDone,     // every upstream finished, whatever its state (clean-up, alerts)
  kNoneFailed,  // no upstream failed (skipped ones are fine)
  kOneFailed,   // at least one upstream failed
  kAllFailed,   // every upstream failed
};
const char* TriggerRuleName(TriggerRule rule);

struct RetryPolicy {
  int retries = 0;                  // extra attempts after the first
  double delay_seconds = 0;         // before the first retry
  bool exponential = false;         // delay * 2^(n-1) before retry n
  double max_delay_seconds = 3600;  // cap of the computed delay
  bool jitter = false;              // draw the delay uniformly in [delay/2, delay]

  // The wait before retry `n` (1-based); `unit` in [0, 1) draws the jitter.
  double DelayBefore(int n, double unit) const;
};

struct TaskSpec {
  std::string id;
  const TaskKind* kind = nullptr;  // from `type:` (task_kind.h)
  std::string where;               // file:line:col of its definition
  ConfigNode node;                 // its whole map, for settings a kind reads when it runs

  // Type-specific settings.
  std::string source;                              // ingest
  std::vector<std::string> tables;                 // ingest: only these (empty = all)
  std::string select, exclude;                     // build, test, publish
  std::string publish_schema = "analytics";        // publish: where users and dashboards read
  bool audit = true;                               // publish: run the published relations' tests first
  nlohmann::json vars = nlohmann::json::object();  // build, test, publish: dbt vars on top of the
                                                   // run's own (ds, logical_date, data_interval_start/end, run_id)
  bool full_refresh = false;                       // ingest (sql), build
  std::string sql;                                 // sql
  std::string command;                             // shell (run by /bin/sh -c)
  std::map<std::string, std::string> env;          // shell: extra environment

  std::vector<std::string> after;   // explicit upstream task ids
  std::vector<std::string> reads;   // assets (globs)
  std::vector<std::string> writes;  // assets
  RetryPolicy retry;
  double timeout_seconds = 0;  // per attempt; 0 = none
  TriggerRule trigger_rule = TriggerRule::kAllSuccess;

  // Its kind's name ("ingest", "build", ...).
  const char* type() const;
  bool Is(std::string_view kind_name) const { return kind_name == type(); }
};

struct PipelineSpec {
  std::string name;
  std::string where;
  std::string schedule;  // "" = manual only
  std::string timezone = "UTC";
  std::string start_date;  // YYYY-MM-DD or ""
  bool catchup = false;
  int max_active_runs = 1;
  int concurrency = 4;
  std::vector<TaskSpec> tasks;  // in file order
  std::vector<AlertSpec> alerts;

  // Resolved dependencies: upstream task indexes of each task (explicit and from assets).
  std::vector<std::vector<int>> upstream;

  int FindTask(const std::string& id) const;  // -1 if absent
};

// Parses and validates every pipeline of the project (`project.pipelines`): unknown keys,
// types and trigger rules, sources that the project does not declare, unknown tasks in
// `after` (with "did you mean"), bad durations, cycles (with the path) and bad alerts are
// errors that name file:line:col.
Result<std::vector<PipelineSpec>> ParsePipelines(const Project& project);

// Adds the assets the task's kind reads and writes (see the top of this file).
void AddImpliedAssets(TaskSpec* task);

// A string or a list of strings at `key` of `node` (absent: empty).
Result<std::vector<std::string>> ListAt(const ConfigNode& node, const std::string& key);

// Fills `upstream` from `after` and from assets (a task reading an asset runs after every task
// writing it; `*` globs), and rejects unknown tasks and cycles (with the path).
Status ResolveDependencies(PipelineSpec* pipeline);

// "30s", "5m", "1h", "250ms", "1d" or a plain number of seconds.
Result<double> ParseDuration(const std::string& text);

}  // namespace strata::orchestrate
