#include "orchestrate/run_store.h"

#include <algorithm>
#include <filesystem>
#include <functional>

#include "core/date.h"
#include "core/file.h"
#include "core/redact.h"

namespace strata::orchestrate {

namespace {

constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS runs (
  run_id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, logical_date TEXT NOT NULL,
  interval_start INTEGER, interval_end INTEGER, trigger TEXT, state TEXT NOT NULL, attempt INTEGER,
  started_micros INTEGER, ended_micros INTEGER, pid INTEGER, message TEXT,
  UNIQUE (pipeline, logical_date));
CREATE TABLE IF NOT EXISTS task_instances (
  run_id TEXT NOT NULL, task_id TEXT NOT NULL, type TEXT, state TEXT NOT NULL, tries INTEGER,
  started_micros INTEGER, ended_micros INTEGER, rows INTEGER, exit_reason TEXT, message TEXT, log_path TEXT,
  PRIMARY KEY (run_id, task_id));
CREATE TABLE IF NOT EXISTS attempts (
  run_id TEXT NOT NULL, task_id TEXT NOT NULL, run_attempt INTEGER NOT NULL, try_number INTEGER NOT NULL,
  state TEXT NOT NULL, started_micros INTEGER, ended_micros INTEGER, rows INTEGER, exit_reason TEXT,
  message TEXT, log_path TEXT, details TEXT,
  PRIMARY KEY (run_id, task_id, run_attempt, try_number));
CREATE TABLE IF NOT EXISTS alerts (
  run_id TEXT NOT NULL, run_attempt INTEGER, event TEXT NOT NULL, task_id TEXT, target TEXT, ok INTEGER,
  tries INTEGER, error TEXT, at_micros INTEGER);
CREATE INDEX IF NOT EXISTS alerts_by_run ON alerts (run_id);
CREATE INDEX IF NOT EXISTS runs_by_start ON runs (started_micros);
)";

// A prepared statement with positional binds (run_store's own shorthand over db::SqliteStmt).
class Stmt {
 public:
  Stmt(db::SqliteDb* db, const std::string& sql) {
    auto prepared = db->Prepare(sql);
    if (prepared.ok()) {
      st_ = std::move(*prepared);
    } else {
      error_ = prepared.status();
    }
  }
  Stmt& Bind(const std::string& v) {
    if (error_.ok()) st_.BindText(++n_, v);
    return *this;
  }
  Stmt& Bind(int64_t v) {
    if (error_.ok()) st_.BindInt(++n_, v);
    return *this;
  }
  // Binds text that people read back (messages, errors): secrets are redacted first.
  Stmt& BindMessage(const std::string& v) { return Bind(Redact(v)); }
  Status Run() { return error_.ok() ? st_.Run() : error_; }
  // Calls `row` for each result row; stops at its first error.
  Status Each(const std::function<Status(Stmt&)>& row) {
    if (!error_.ok()) return error_;
    for (;;) {
      STRATA_ASSIGN_OR_RETURN(bool has_row, st_.Step());
      if (!has_row) return Status::OK();
      STRATA_RETURN_IF_ERROR(row(*this));
    }
  }
  std::string Text(int i) const { return std::string(st_.ColumnText(i)); }
  int64_t Int(int i) const { return st_.ColumnInt(i); }

 private:
  db::SqliteStmt st_;
  Status error_;
  int n_ = 0;
};

constexpr const char* kRunColumns =
    "run_id, pipeline, logical_date, interval_start, interval_end, trigger, state, attempt, started_micros, "
    "ended_micros, pid, message";

// A state name read back from runs.db; one this version does not know is corruption (or a
// newer Strata's history), named with its row.
template <typename E>
Result<E> StoredState(Result<E> parsed, const std::string& row) {
  if (parsed.ok()) return parsed;
  return Status::Corruption("runs.db: " + row + ": " + parsed.status().message());
}

Result<RunRecord> ReadRun(Stmt& s) {
  RunRecord r;
  r.run_id = s.Text(0);
  r.pipeline = s.Text(1);
  r.logical_date = s.Text(2);
  r.interval_start = s.Int(3);
  r.interval_end = s.Int(4);
  r.trigger = s.Text(5);
  STRATA_ASSIGN_OR_RETURN(r.state, StoredState(ParseRunState(s.Text(6)), "run " + r.run_id));
  r.attempt = static_cast<int>(s.Int(7));
  r.started_micros = s.Int(8);
  r.ended_micros = s.Int(9);
  r.pid = s.Int(10);
  r.message = s.Text(11);
  return r;
}

}  // namespace

Result<std::unique_ptr<RunStore>> RunStore::Open(const std::string& path, int lock_timeout_seconds) {
  STRATA_RETURN_IF_ERROR(MakeDirs(std::filesystem::path(path).parent_path().string()));
  db::SqliteOptions options;
  options.serialized = true;
  // Every statement waits this long for a lock another process holds, then fails with
  // kUnavailable.
  options.busy_timeout_ms = std::max(1, lock_timeout_seconds) * 1000;
  auto db = db::SqliteDb::Open(path, options);
  if (!db.ok()) {
    if (path.size() >= 512) {
      return Status::InvalidArgument("cannot open the run history: " + db.status().message() +
                                     "; set state_dir in strata.yml to a shorter path (e.g. state_dir: "
                                     "/var/lib/strata/<project>)");
    }
    return db.status().WithContext("cannot open the run history");
  }
  std::unique_ptr<RunStore> store(new RunStore(std::move(*db)));
  STRATA_RETURN_IF_ERROR(store->db_.Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"));
  STRATA_RETURN_IF_ERROR(store->db_.Exec(kSchema));
  // Histories written before attempts kept their details gain the column.
  STRATA_RETURN_IF_ERROR(store->CheckDetailsColumn());
  if (!store->has_details_) {
    STRATA_RETURN_IF_ERROR(store->db_.Exec("ALTER TABLE attempts ADD COLUMN details TEXT"));
    store->has_details_ = true;
  }
  return store;
}

Result<std::unique_ptr<RunStore>> RunStore::OpenForReading(const std::string& path, int lock_timeout_seconds) {
  db::SqliteOptions options;
  options.read_only = true;
  options.serialized = true;
  options.busy_timeout_ms = std::max(1, lock_timeout_seconds) * 1000;
  auto db = db::SqliteDb::Open(path, options);
  if (!db.ok()) return db.status().WithContext("cannot open the run history");
  std::unique_ptr<RunStore> store(new RunStore(std::move(*db)));
  STRATA_RETURN_IF_ERROR(store->CheckDetailsColumn());
  return store;
}

Status RunStore::CheckDetailsColumn() {
  has_details_ = false;
  Stmt info(&db_, "SELECT name FROM pragma_table_info('attempts')");
  return info.Each([&](Stmt& row) {
    if (row.Text(0) == "details") has_details_ = true;
    return Status::OK();
  });
}

RunStore::~RunStore() = default;

Result<std::optional<RunRecord>> RunStore::FindRun(const std::string& run_id) {
  Stmt s(&db_, std::string("SELECT ") + kRunColumns + " FROM runs WHERE run_id = ?");
  s.Bind(run_id);
  std::optional<RunRecord> out;
  STRATA_RETURN_IF_ERROR(s.Each([&](Stmt& row) -> Status {
    STRATA_ASSIGN_OR_RETURN(out, ReadRun(row));
    return Status::OK();
  }));
  return out;
}

Status RunStore::PutRun(const RunRecord& r) {
  Stmt s(&db_, std::string("INSERT OR REPLACE INTO runs (") + kRunColumns + ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
  s.Bind(r.run_id).Bind(r.pipeline).Bind(r.logical_date).Bind(r.interval_start).Bind(r.interval_end);
  s.Bind(r.trigger)
      .Bind(RunStateName(r.state))
      .Bind(static_cast<int64_t>(r.attempt))
      .Bind(r.started_micros)
      .Bind(r.ended_micros);
  s.Bind(r.pid).BindMessage(r.message);
  return s.Run();
}

Status RunStore::PutTask(const TaskRecord& t) {
  Stmt s(&db_,
         "INSERT OR REPLACE INTO task_instances (run_id, task_id, type, state, tries, started_micros, ended_micros, "
         "rows, exit_reason, message, log_path) VALUES (?,?,?,?,?,?,?,?,?,?,?)");
  s.Bind(t.run_id).Bind(t.task_id).Bind(t.type).Bind(TaskStateName(t.state)).Bind(static_cast<int64_t>(t.tries));
  s.Bind(t.started_micros)
      .Bind(t.ended_micros)
      .Bind(t.rows)
      .Bind(t.exit_reason)
      .BindMessage(t.message)
      .Bind(t.log_path);
  return s.Run();
}

Status RunStore::PutAttempt(const AttemptRecord& a) {
  Stmt s(&db_,
         "INSERT OR REPLACE INTO attempts (run_id, task_id, run_attempt, try_number, state, started_micros, "
         "ended_micros, rows, exit_reason, message, log_path, details) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
  s.Bind(a.run_id).Bind(a.task_id).Bind(static_cast<int64_t>(a.run_attempt)).Bind(static_cast<int64_t>(a.try_number));
  s.Bind(TaskStateName(a.state))
      .Bind(a.started_micros)
      .Bind(a.ended_micros)
      .Bind(a.rows)
      .Bind(a.exit_reason)
      .BindMessage(a.message);
  s.Bind(a.log_path).BindMessage(a.details);
  return s.Run();
}

Status RunStore::AddAlert(const AlertRecord& a) {
  Stmt s(&db_,
         "INSERT INTO alerts (run_id, run_attempt, event, task_id, target, ok, tries, error, at_micros) "
         "VALUES (?,?,?,?,?,?,?,?,?)");
  s.Bind(a.run_id).Bind(static_cast<int64_t>(a.run_attempt)).Bind(a.event).Bind(a.task_id).Bind(a.target);
  s.Bind(static_cast<int64_t>(a.ok)).Bind(static_cast<int64_t>(a.tries)).BindMessage(a.error).Bind(a.at_micros);
  return s.Run();
}

Result<std::vector<RunRecord>> RunStore::ListRuns(const std::string& pipeline, int limit) {
  std::string sql = std::string("SELECT ") + kRunColumns + " FROM runs";
  if (!pipeline.empty()) sql += " WHERE pipeline = ?";
  sql += " ORDER BY logical_date DESC, pipeline";
  if (limit > 0) sql += " LIMIT " + std::to_string(limit);
  Stmt s(&db_, sql);
  if (!pipeline.empty()) s.Bind(pipeline);
  std::vector<RunRecord> out;
  STRATA_RETURN_IF_ERROR(s.Each([&](Stmt& row) -> Status {
    STRATA_ASSIGN_OR_RETURN(RunRecord r, ReadRun(row));
    out.push_back(std::move(r));
    return Status::OK();
  }));
  return out;
}

Result<std::vector<TaskRecord>> RunStore::Tasks(const std::string& run_id) {
  Stmt s(&db_,
         "SELECT run_id, task_id, type, state, tries, started_micros, ended_micros, rows, exit_reason, message, "
         "log_path FROM task_instances WHERE run_id = ? ORDER BY started_micros = 0, started_micros, task_id");
  s.Bind(run_id);
  std::vector<TaskRecord> out;
  STRATA_RETURN_IF_ERROR(s.Each([&](Stmt& row) -> Status {
    TaskRecord t;
    t.run_id = row.Text(0);
    t.task_id = row.Text(1);
    t.type = row.Text(2);
    STRATA_ASSIGN_OR_RETURN(t.state, StoredState(ParseTaskState(row.Text(3)), "task " + t.run_id + "/" + t.task_id));
    t.tries = static_cast<int>(row.Int(4));
    t.started_micros = row.Int(5);
    t.ended_micros = row.Int(6);
    t.rows = row.Int(7);
    t.exit_reason = row.Text(8);
    t.message = row.Text(9);
    t.log_path = row.Text(10);
    out.push_back(std::move(t));
    return Status::OK();
  }));
  return out;
}

Result<std::vector<AttemptRecord>> RunStore::Attempts(const std::string& run_id, const std::string& task_id) {
  std::string sql =
      "SELECT run_id, task_id, run_attempt, try_number, state, started_micros, ended_micros, rows, exit_reason, "
      "message, log_path, " +
      std::string(has_details_ ? "coalesce(details, '')" : "''") + " FROM attempts WHERE run_id = ?";
  if (!task_id.empty()) sql += " AND task_id = ?";
  sql += " ORDER BY run_attempt, started_micros, task_id, try_number";
  Stmt s(&db_, sql);
  s.Bind(run_id);
  if (!task_id.empty()) s.Bind(task_id);
  std::vector<AttemptRecord> out;
  STRATA_RETURN_IF_ERROR(s.Each([&](Stmt& row) -> Status {
    AttemptRecord a;
    a.run_id = row.Text(0);
    a.task_id = row.Text(1);
    a.run_attempt = static_cast<int>(row.Int(2));
    a.try_number = static_cast<int>(row.Int(3));
    STRATA_ASSIGN_OR_RETURN(
        a.state, StoredState(ParseTaskState(row.Text(4)),
                             "attempt " + a.run_id + "/" + a.task_id + " try " + std::to_string(a.try_number)));
    a.started_micros = row.Int(5);
    a.ended_micros = row.Int(6);
    a.rows = row.Int(7);
    a.exit_reason = row.Text(8);
    a.message = row.Text(9);
    a.log_path = row.Text(10);
    a.details = row.Text(11);
    out.push_back(std::move(a));
    return Status::OK();
  }));
  return out;
}

Status RunStore::Begin() { return db_.Exec("BEGIN IMMEDIATE"); }
Status RunStore::Commit() { return db_.Exec("COMMIT"); }
Status RunStore::Rollback() { return db_.Exec("ROLLBACK"); }

Result<std::vector<AlertRecord>> RunStore::Alerts(const std::string& run_id) {
  Stmt s(&db_,
         "SELECT run_id, run_attempt, event, task_id, target, ok, tries, error, at_micros FROM alerts "
         "WHERE run_id = ? ORDER BY rowid");
  s.Bind(run_id);
  std::vector<AlertRecord> out;
  STRATA_RETURN_IF_ERROR(s.Each([&](Stmt& row) -> Status {
    AlertRecord a;
    a.run_id = row.Text(0);
    a.run_attempt = static_cast<int>(row.Int(1));
    a.event = row.Text(2);
    a.task_id = row.Text(3);
    a.target = row.Text(4);
    a.ok = row.Int(5) != 0;
    a.tries = static_cast<int>(row.Int(6));
    a.error = row.Text(7);
    a.at_micros = row.Int(8);
    out.push_back(std::move(a));
    return Status::OK();
  }));
  return out;
}

namespace {

std::string IsoMicros(int64_t us) { return us == 0 ? "" : FormatTimestamp(us / 1000000); }

}  // namespace

nlohmann::json ToJson(const RunRecord& r) {
  return {{"run_id", r.run_id},
          {"pipeline", r.pipeline},
          {"logical_date", r.logical_date},
          {"trigger", r.trigger},
          {"state", RunStateName(r.state)},
          {"attempt", r.attempt},
          {"started_at", IsoMicros(r.started_micros)},
          {"ended_at", IsoMicros(r.ended_micros)},
          {"seconds", r.ended_micros > r.started_micros ? (r.ended_micros - r.started_micros) / 1e6 : 0.0},
          {"message", r.message}};
}

nlohmann::json ToJson(const TaskRecord& t) {
  return {{"task", t.task_id},
          {"type", t.type},
          {"state", TaskStateName(t.state)},
          {"tries", t.tries},
          {"rows", t.rows},
          {"exit_reason", t.exit_reason},
          {"message", t.message},
          {"started_at", IsoMicros(t.started_micros)},
          {"ended_at", IsoMicros(t.ended_micros)},
          {"log", t.log_path}};
}

nlohmann::json ToJson(const AttemptRecord& a) {
  return {{"run_attempt", a.run_attempt},
          {"try", a.try_number},
          {"state", TaskStateName(a.state)},
          {"started_at", IsoMicros(a.started_micros)},
          {"ended_at", IsoMicros(a.ended_micros)},
          {"exit_reason", a.exit_reason},
          {"message", a.message},
          {"log", a.log_path}};
}

nlohmann::json ToJson(const AlertRecord& a) {
  return {{"run_attempt", a.run_attempt},
          {"event", a.event},
          {"task", a.task_id.empty() ? nlohmann::json() : nlohmann::json(a.task_id)},
          {"target", a.target},
          {"ok", a.ok},
          {"tries", a.tries},
          {"error", a.error},
          {"at", IsoMicros(a.at_micros)}};
}

}  // namespace strata::orchestrate
