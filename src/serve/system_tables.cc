#include "serve/system_tables.h"

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>

#include "core/date.h"
#include "core/file.h"
#include "db/duckdb.h"
#include "lake/lake.h"
#include "lake/manifest.h"
#include "orchestrate/run_store.h"

namespace strata::serve {

namespace {

using nlohmann::json;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Appends one row of mixed values; a null optional is NULL.
class Row {
 public:
  explicit Row(duck::Appender* a) : a_(a) {}
  Row& Text(const std::string& v) { return Check(a_->Append(v)); }
  Row& Int(int64_t v) { return Check(a_->Append(v)); }
  Row& Double(double v) { return Check(a_->Append(v)); }
  Row& Null() { return Check(a_->AppendNull()); }
  // Epoch microseconds as a timestamp (0: NULL).
  Row& Micros(int64_t us) { return us == 0 ? Null() : Text(FormatTimestamp(us / 1000000)); }
  Row& Seconds(int64_t from, int64_t to) { return from == 0 || to < from ? Null() : Double((to - from) / 1e6); }
  Status End() {
    if (s_.ok()) s_ = a_->EndRow();
    return s_;
  }

 private:
  Row& Check(Status s) {
    if (s_.ok()) s_ = std::move(s);
    return *this;
  }
  duck::Appender* a_;
  Status s_;
};

// The tests and checks in a build's or a publish's details.
struct Check {
  std::string unique_id, status, message;
  int64_t failures = 0;
};

std::vector<Check> ChecksIn(const std::string& details_text) {
  std::vector<Check> out;
  if (details_text.empty()) return out;
  json details = json::parse(details_text, nullptr, false);
  if (details.is_discarded() || !details.is_object()) return out;
  auto take = [&](const json& list, bool tests_only) {
    if (!list.is_array()) return;
    for (const auto& r : list) {
      if (!r.is_object()) continue;
      std::string id = r.value("unique_id", "");
      if (tests_only && id.rfind("test.", 0) != 0 && id.rfind("unit_test.", 0) != 0) continue;
      out.push_back({id, r.value("status", ""), r.value("message", ""), r.value("failures", int64_t{0})});
    }
  };
  if (details.contains("results")) take(details["results"], true);  // build / test tasks
  if (details.contains("audit")) take(details["audit"], false);     // publish's gates
  return out;
}

std::string NameOf(const std::string& unique_id) {
  size_t dot = unique_id.rfind('.');
  return dot == std::string::npos ? unique_id : unique_id.substr(dot + 1);
}

constexpr const char* kSchema = R"(
CREATE SCHEMA strata;
CREATE TABLE strata.runs (run_id VARCHAR, pipeline VARCHAR, logical_date VARCHAR, state VARCHAR, "trigger" VARCHAR,
  attempt INTEGER, started_at TIMESTAMP, ended_at TIMESTAMP, seconds DOUBLE, message VARCHAR);
CREATE TABLE strata.task_runs (run_id VARCHAR, pipeline VARCHAR, logical_date VARCHAR, task_id VARCHAR, type VARCHAR,
  state VARCHAR, tries INTEGER, started_at TIMESTAMP, ended_at TIMESTAMP, seconds DOUBLE, "rows" BIGINT,
  exit_reason VARCHAR, message VARCHAR);
CREATE TABLE strata.test_results (run_id VARCHAR, pipeline VARCHAR, logical_date VARCHAR, task_id VARCHAR,
  unique_id VARCHAR, name VARCHAR, status VARCHAR, failures BIGINT, message VARCHAR);
CREATE TABLE strata.lake_batches (source VARCHAR, table_name VARCHAR, logical_date DATE, batch_id VARCHAR,
  "sequence" BIGINT, committed_at TIMESTAMP, records_received BIGINT, records_landed BIGINT,
  records_quarantined BIGINT, files INTEGER, bytes BIGINT);
)";

}  // namespace

// What the tables are read from, kept between refreshes (manifests never change once written).
struct SystemTables::Sources {
  std::unique_ptr<lake::Lake> lake;
  Status lake_error;
  std::map<std::string, lake::Manifest> manifests;  // by key
};

SystemTables::SystemTables(const Project& project, int connections, int refresh_ms)
    : project_(project), connections_(connections), refresh_ms_(refresh_ms), sources_(std::make_unique<Sources>()) {
  auto store = lake::OpenObjectStore(project_.lake_location);
  if (store.ok()) {
    sources_->lake = std::make_unique<lake::Lake>(std::move(*store));
  } else {
    sources_->lake_error = store.status();
  }
}

SystemTables::~SystemTables() = default;

Result<std::shared_ptr<Publication>> SystemTables::Current() {
  std::lock_guard<std::mutex> l(mu_);
  const int64_t now = NowMs();
  if (current_ && now - checked_ms_ < refresh_ms_) return current_;
  checked_ms_ = now;
  const std::string runs_db = JoinPath(project_.state_dir, "runs.db");
  std::vector<std::string> manifest_keys;
  if (sources_->lake) {
    auto listed = sources_->lake->store()->List("raw/");
    if (!listed.ok()) return listed.status().WithContext("listing the lake's manifests");
    for (const auto& o : *listed) {
      if (o.key.find("/_manifests/") != std::string::npos && o.key.size() > 5 &&
          o.key.substr(o.key.size() - 5) == ".json") {
        manifest_keys.push_back(o.key);
      }
    }
  }
  std::string stamp =
      FileStamp(runs_db) + "|" + FileStamp(runs_db + "-wal") + "|" + std::to_string(manifest_keys.size());
  if (!manifest_keys.empty()) stamp += "|" + manifest_keys.back();
  if (current_ && stamp == stamp_) return current_;

  for (const auto& key : manifest_keys) {
    if (sources_->manifests.contains(key)) continue;
    STRATA_ASSIGN_OR_RETURN(std::string text, sources_->lake->store()->Get(key));
    auto m = lake::Manifest::Parse(text, key);
    if (!m.ok()) continue;  // a damaged manifest is the lake's problem to report, not the dashboard's
    sources_->manifests.emplace(key, std::move(*m));
  }

  STRATA_ASSIGN_OR_RETURN(auto db, duck::Database::Open(":memory:", {{"enable_external_access", "false"}}));
  STRATA_ASSIGN_OR_RETURN(auto conn, db->Connect());
  STRATA_RETURN_IF_ERROR(conn->Execute(kSchema));
  std::error_code ec;
  if (std::filesystem::exists(runs_db, ec)) {
    STRATA_ASSIGN_OR_RETURN(auto store, orchestrate::RunStore::OpenForReading(runs_db, 5));
    STRATA_ASSIGN_OR_RETURN(auto runs, store->ListRuns("", 0));
    STRATA_ASSIGN_OR_RETURN(auto runs_app, conn->CreateAppender("strata", "runs"));
    STRATA_ASSIGN_OR_RETURN(auto tasks_app, conn->CreateAppender("strata", "task_runs"));
    STRATA_ASSIGN_OR_RETURN(auto tests_app, conn->CreateAppender("strata", "test_results"));
    for (const auto& r : runs) {
      STRATA_RETURN_IF_ERROR(Row(runs_app.get())
                                 .Text(r.run_id)
                                 .Text(r.pipeline)
                                 .Text(r.logical_date)
                                 .Text(orchestrate::RunStateName(r.state))
                                 .Text(r.trigger)
                                 .Int(r.attempt)
                                 .Micros(r.started_micros)
                                 .Micros(r.ended_micros)
                                 .Seconds(r.started_micros, r.ended_micros)
                                 .Text(r.message)
                                 .End());
      STRATA_ASSIGN_OR_RETURN(auto tasks, store->Tasks(r.run_id));
      for (const auto& t : tasks) {
        Row row(tasks_app.get());
        row.Text(r.run_id).Text(r.pipeline).Text(r.logical_date).Text(t.task_id).Text(t.type);
        row.Text(orchestrate::TaskStateName(t.state)).Int(t.tries).Micros(t.started_micros).Micros(t.ended_micros);
        row.Seconds(t.started_micros, t.ended_micros);
        if (t.rows >= 0) {
          row.Int(t.rows);
        } else {
          row.Null();
        }
        STRATA_RETURN_IF_ERROR(row.Text(t.exit_reason).Text(t.message).End());
      }
      // The checks of each task's latest finished attempt.
      STRATA_ASSIGN_OR_RETURN(auto attempts, store->Attempts(r.run_id));
      std::map<std::string, const orchestrate::AttemptRecord*> latest;
      for (const auto& a : attempts) {
        if (!a.details.empty()) latest[a.task_id] = &a;  // ordered by attempt, then try
      }
      for (const auto& [task, a] : latest) {
        for (const auto& c : ChecksIn(a->details)) {
          STRATA_RETURN_IF_ERROR(Row(tests_app.get())
                                     .Text(r.run_id)
                                     .Text(r.pipeline)
                                     .Text(r.logical_date)
                                     .Text(task)
                                     .Text(c.unique_id)
                                     .Text(NameOf(c.unique_id))
                                     .Text(c.status)
                                     .Int(c.failures)
                                     .Text(c.message)
                                     .End());
        }
      }
    }
    STRATA_RETURN_IF_ERROR(runs_app->Close());
    STRATA_RETURN_IF_ERROR(tasks_app->Close());
    STRATA_RETURN_IF_ERROR(tests_app->Close());
  }
  STRATA_ASSIGN_OR_RETURN(auto batches_app, conn->CreateAppender("strata", "lake_batches"));
  for (const auto& [key, m] : sources_->manifests) {
    int64_t bytes = 0;
    for (const auto& f : m.files) bytes += f.bytes;
    Row row(batches_app.get());
    row.Text(m.source).Text(m.table).Text(m.logical_date).Text(m.batch_id).Int(m.sequence);
    if (m.created_at.empty()) {
      row.Null();
    } else {
      row.Text(m.created_at);
    }
    row.Int(m.records_received).Int(m.records_landed).Int(m.records_quarantined);
    STRATA_RETURN_IF_ERROR(row.Int(static_cast<int64_t>(m.files.size())).Int(bytes).End());
  }
  STRATA_RETURN_IF_ERROR(batches_app->Close());
  conn.reset();

  ++version_;
  const std::string version = "system-" + std::to_string(version_);
  std::map<std::string, std::string> fingerprints;
  for (const char* t : {"runs", "task_runs", "test_results", "lake_batches"}) fingerprints[t] = stamp;
  current_ = Publication::InMemory(std::move(db), version, "strata", std::move(fingerprints), connections_);
  stamp_ = stamp;
  return current_;
}

}  // namespace strata::serve
