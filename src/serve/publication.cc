#include "serve/publication.h"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "core/file.h"
#include "core/strings.h"
#include "db/duckdb.h"
#include "db/postgres.h"
#include "transform/target.h"
#include "warehouse/serving_copy.h"

namespace strata::serve {

namespace {

using Clock = std::chrono::steady_clock;

// One thread that cancels queries whose deadline passed.
class Watchdog {
 public:
  static Watchdog& Get() {
    static Watchdog* w = new Watchdog();  // never destroyed: queries may run until exit
    return *w;
  }
  int Add(Clock::time_point deadline, CancelToken* token) {
    std::lock_guard<std::mutex> l(mu_);
    const int id = next_++;
    due_[id] = {deadline, token};
    cv_.notify_one();
    return id;
  }
  void Remove(int id) {
    std::lock_guard<std::mutex> l(mu_);
    due_.erase(id);
  }

 private:
  Watchdog() {
    std::thread([this] { Loop(); }).detach();
  }
  void Loop() {
    std::unique_lock<std::mutex> l(mu_);
    for (;;) {
      auto next = Clock::time_point::max();
      const auto now = Clock::now();
      for (auto it = due_.begin(); it != due_.end();) {
        if (it->second.first <= now) {
          it->second.second->Cancel("the statement timeout passed");
          it = due_.erase(it);
        } else {
          next = std::min(next, it->second.first);
          ++it;
        }
      }
      if (next == Clock::time_point::max()) {
        cv_.wait(l);
      } else {
        cv_.wait_until(l, next);
      }
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  int next_ = 0;
  std::map<int, std::pair<Clock::time_point, CancelToken*>> due_;
};

// The statement that runs `q` with the row limit: one row more than the limit tells that the
// result was cut.
std::string Limited(const BoundQuery& q, const QueryLimits& limits) {
  return "SELECT * FROM (" + std::string(TrimSqlEnd(q.sql)) + "\n) AS strata_card LIMIT " +
         std::to_string(limits.max_rows + 1);
}

Status TimedOut(const QueryLimits& limits) {
  return Status::Aborted("the query ran longer than " + std::to_string(limits.timeout_ms) + " ms and was stopped");
}

// A query's answer: its rows up to the limit, whether there were more, and its time.
QueryOutput Answer(sql::QueryResult result, const QueryLimits& limits, Clock::time_point started) {
  QueryOutput out;
  out.result = std::move(result);
  if (static_cast<int64_t>(out.result.rows.size()) > limits.max_rows) {
    out.result.rows.resize(limits.max_rows);
    out.truncated = true;
  }
  out.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return out;
}

// At most `max` connections, opened on demand by `open`; a caller waits for a free one.
template <typename C>
class Pool {
 public:
  Pool(int max, std::function<Result<std::unique_ptr<C>>()> open) : max_(std::max(1, max)), open_fn_(std::move(open)) {}
  void Add(std::unique_ptr<C> c) {
    std::lock_guard<std::mutex> l(mu_);
    idle_.push_back(std::move(c));
    ++open_;
  }
  Result<std::unique_ptr<C>> Take() {
    std::unique_lock<std::mutex> l(mu_);
    for (;;) {
      if (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        return c;
      }
      if (open_ < max_) {
        ++open_;
        l.unlock();
        auto c = open_fn_();
        if (!c.ok()) Give(nullptr, false);
        return c;
      }
      cv_.wait(l);
    }
  }
  // A connection that is not healthy (lost, broken, left in a transaction) is closed, not reused.
  void Give(std::unique_ptr<C> c, bool healthy) {
    std::lock_guard<std::mutex> l(mu_);
    if (c && healthy) {
      idle_.push_back(std::move(c));
    } else {
      --open_;
    }
    cv_.notify_one();
  }

 private:
  const int max_;
  std::function<Result<std::unique_ptr<C>>()> open_fn_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<C>> idle_;
  int open_ = 0;
};

// One serving copy, open read-only, with a pool of connections.
class DuckPublication : public Publication {
 public:
  static Result<std::shared_ptr<DuckPublication>> Open(const warehouse::ServingCopy& copy, const std::string& schema,
                                                       int connections) {
    // No access to any other file (read_csv, COPY TO, ATTACH), and no way to turn it back on.
    STRATA_ASSIGN_OR_RETURN(auto db, duck::Database::Open(copy.file, {{"access_mode", "READ_ONLY"},
                                                                      {"enable_external_access", "false"},
                                                                      {"autoinstall_known_extensions", "false"},
                                                                      {"autoload_known_extensions", "false"},
                                                                      {"lock_configuration", "true"}}));
    STRATA_ASSIGN_OR_RETURN(auto conn, db->Connect());
    auto fp = conn->Query("SELECT relation, fingerprint FROM " + duck::QuoteIdent(schema) + "._strata_serving");
    if (!fp.ok()) return fp.status().WithContext("reading the fingerprints of " + copy.file);
    std::map<std::string, std::string> fingerprints;
    for (const auto& row : fp->rows) fingerprints[row[0].value_or("")] = row[1].value_or("");
    auto p = Make(std::move(db), std::to_string(copy.version), schema, std::move(fingerprints), connections, false);
    p->pool_->Add(std::move(conn));
    return p;
  }

  static std::shared_ptr<DuckPublication> Make(std::unique_ptr<duck::Database> db, std::string version,
                                               std::string schema, std::map<std::string, std::string> fingerprints,
                                               int connections, bool sandbox) {
    auto p = std::shared_ptr<DuckPublication>(new DuckPublication());
    p->db_ = std::move(db);
    p->version_ = std::move(version);
    p->schema_ = std::move(schema);
    p->fingerprints_ = std::move(fingerprints);
    p->pool_ = std::make_unique<Pool<duck::Connection>>(connections, [db = p->db_.get()] { return db->Connect(); });
    p->sandbox_ = sandbox;
    return p;
  }

  Result<QueryOutput> Run(const BoundQuery& q, const QueryLimits& limits, CancelToken* cancel) override {
    STRATA_ASSIGN_OR_RETURN(auto conn, pool_->Take());
    struct Return {
      Pool<duck::Connection>* pool;
      std::unique_ptr<duck::Connection>* c;
      ~Return() { pool->Give(std::move(*c), true); }
    } give_back{pool_.get(), &conn};
    const auto started = Clock::now();
    CancelToken deadline;
    const int watch = Watchdog::Get().Add(started + std::chrono::milliseconds(limits.timeout_ms), &deadline);
    struct Unwatch {
      int id;
      ~Unwatch() { Watchdog::Get().Remove(id); }
    } unwatch{watch};
    duck::Connection* c = conn.get();
    CancelScope on_timeout(&deadline, [c] { c->Interrupt(); });
    CancelScope on_cancel(cancel, [c] { c->Interrupt(); });
    STRATA_RETURN_IF_ERROR(on_cancel.Check());
    const std::string sql = Limited(q, limits);
    // A writable database is read in a transaction that is always rolled back.
    if (sandbox_) STRATA_RETURN_IF_ERROR(c->Begin());
    struct Rollback {
      duck::Connection* c;
      bool on;
      ~Rollback() {
        if (on) (void)c->Rollback();
      }
    } rollback{c, sandbox_};
    auto prepared = c->Prepare(sql);
    if (!prepared.ok()) {
      // Say what is wrong with the user's own statement, not with the LIMIT wrapper around it
      // (DuckDB's error names a line and column, and quotes the statement).
      auto plain = c->Prepare(TrimSqlEnd(q.sql));
      return plain.ok() ? prepared.status() : plain.status();
    }
    for (size_t i = 0; i < q.params.size(); ++i) {
      STRATA_RETURN_IF_ERROR((*prepared)->Bind(static_cast<int>(i + 1), q.params[i]));
    }
    auto result = (*prepared)->Execute();
    if (!result.ok()) return deadline.cancelled() ? TimedOut(limits) : result.status();
    return Answer(std::move(*result), limits, started);
  }

 private:
  DuckPublication() = default;

  std::unique_ptr<duck::Database> db_;
  std::unique_ptr<Pool<duck::Connection>> pool_;  // after db_: closed before it
  bool sandbox_ = false;
};

class ServingCopyPublications : public Publications {
 public:
  ServingCopyPublications(std::string dir, std::string schema, int connections)
      : dir_(std::move(dir)), schema_(std::move(schema)), connections_(connections) {}

  Result<std::shared_ptr<Publication>> Current() override {
    // CURRENT is replaced by rename: a new inode (or mtime) means a new publication.
    const std::string seen = FileStamp(dir_ + "/CURRENT");
    std::lock_guard<std::mutex> l(mu_);
    if (seen == seen_ && (current_ || seen.empty())) return current_;
    STRATA_ASSIGN_OR_RETURN(auto copy, warehouse::CurrentServingCopy(dir_));
    if (!copy) {
      current_.reset();
    } else if (!current_ || current_->version() != std::to_string(copy->version)) {
      STRATA_ASSIGN_OR_RETURN(auto opened, DuckPublication::Open(*copy, schema_, connections_));
      current_ = std::move(opened);  // requests still on the old one keep it open until they finish
    }
    seen_ = seen;
    return current_;
  }
  std::string Describe() const override { return "serving copies in " + dir_; }

 private:
  std::string dir_, schema_;
  int connections_;
  std::mutex mu_;
  std::string seen_;
  std::shared_ptr<Publication> current_;
};

// PostgreSQL: connections shared by every version (the data lives on the server).
class PgPool : public Pool<pg::Connection> {
 public:
  PgPool(pg::ConnectOptions options, int max)
      : Pool<pg::Connection>(max, [this] { return pg::Connection::Open(options_); }), options_(std::move(options)) {
    options_.read_only = true;
    options_.application_name = "strata serve";
  }
  const pg::ConnectOptions& options() const { return options_; }

 private:
  pg::ConnectOptions options_;
};

class PgPublication : public Publication {
 public:
  PgPublication(std::shared_ptr<PgPool> pool, std::string version, std::string schema,
                std::map<std::string, std::string> fingerprints)
      : pool_(std::move(pool)) {
    version_ = std::move(version);
    schema_ = std::move(schema);
    fingerprints_ = std::move(fingerprints);
  }

  Result<QueryOutput> Run(const BoundQuery& q, const QueryLimits& limits, CancelToken* cancel) override {
    STRATA_ASSIGN_OR_RETURN(auto conn, pool_->Take());
    bool healthy = false;
    struct Return {
      PgPool* pool;
      std::unique_ptr<pg::Connection>* c;
      bool* healthy;
      ~Return() { pool->Give(std::move(*c), *healthy && !(*c)->InTransaction()); }
    } give_back{pool_.get(), &conn, &healthy};
    pg::Connection* c = conn.get();
    CancelScope on_cancel(cancel, [c] { c->Cancel(); });
    STRATA_RETURN_IF_ERROR(on_cancel.Check());
    const auto started = Clock::now();
    // Read only, whatever the role may do; the server stops the statement at the timeout.
    STRATA_RETURN_IF_ERROR(
        c->Execute("BEGIN READ ONLY; SET LOCAL statement_timeout = " + std::to_string(std::max(1, limits.timeout_ms)) +
                   "; SET LOCAL search_path = " + pg::QuoteIdent(schema_)));
    std::vector<std::optional<std::string>> params(q.params.begin(), q.params.end());
    auto result = c->Query(Limited(q, limits), params);
    Status rolled_back = c->Rollback();
    healthy = rolled_back.ok();
    if (!result.ok()) {
      const bool timed_out =
          result.status().code() == Status::Code::kAborted && (cancel == nullptr || !cancel->cancelled());
      return timed_out ? TimedOut(limits) : result.status();
    }
    return Answer(std::move(*result), limits, started);
  }

 private:
  std::shared_ptr<PgPool> pool_;
};

// The published schema on a PostgreSQL server: its version is the publication log's newest
// row, a relation's fingerprint its latest publication (time and rows).
class PgPublications : public Publications {
 public:
  PgPublications(pg::ConnectOptions options, std::string schema, int connections)
      : pool_(std::make_shared<PgPool>(std::move(options), connections)), schema_(std::move(schema)) {}

  Result<std::shared_ptr<Publication>> Current() override {
    std::lock_guard<std::mutex> l(mu_);
    const auto now = Clock::now();
    if (checked_ && now - checked_at_ < std::chrono::seconds(1)) return current_;
    STRATA_ASSIGN_OR_RETURN(auto conn, pool_->Take());
    auto log = conn->Query(
        "SELECT relation, max(published_at)::text || '/' || (array_agg(row_count ORDER BY published_at DESC))[1] "
        "FROM " +
        pg::QuoteIdent(schema_) + "._strata_publications GROUP BY relation ORDER BY relation");
    const bool healthy = !conn->InTransaction();
    pool_->Give(std::move(conn), healthy);
    checked_ = true;
    checked_at_ = now;
    if (!log.ok()) {
      if (log.status().message().find("does not exist") != std::string::npos) {
        current_.reset();  // nothing published yet
        return current_;
      }
      return log.status().WithContext("reading " + schema_ + "._strata_publications on " + Describe());
    }
    std::map<std::string, std::string> fingerprints;
    std::string version;
    for (const auto& row : log->rows) {
      fingerprints[row[0].value_or("")] = row[1].value_or("");
      version = std::max(version, row[1].value_or(""));
    }
    if (!current_ || current_->version() != version || current_->fingerprints() != fingerprints) {
      current_ = std::make_shared<PgPublication>(pool_, version, schema_, std::move(fingerprints));
    }
    return current_;
  }
  std::string Describe() const override { return "postgres " + pool_->options().Describe() + " " + schema_; }

 private:
  std::shared_ptr<PgPool> pool_;
  std::string schema_;
  std::mutex mu_;
  bool checked_ = false;
  Clock::time_point checked_at_;
  std::shared_ptr<Publication> current_;
};

}  // namespace

std::shared_ptr<Publication> Publication::InMemory(std::unique_ptr<duck::Database> db, std::string version,
                                                   std::string schema, std::map<std::string, std::string> fingerprints,
                                                   int connections) {
  return DuckPublication::Make(std::move(db), std::move(version), std::move(schema), std::move(fingerprints),
                               connections, true);
}

std::string Publication::Relation(const std::string& model) const {
  if (!fingerprints_.contains(model)) return "";
  return duck::QuoteIdent(schema_) + "." + duck::QuoteIdent(model);  // the same quoting in PostgreSQL
}

std::string Publication::Fingerprint(const std::string& model) const {
  auto it = fingerprints_.find(model);
  return it == fingerprints_.end() ? "" : it->second;
}

std::unique_ptr<Publications> Publications::ServingCopies(const std::string& dir, const std::string& schema,
                                                          int connections) {
  return std::make_unique<ServingCopyPublications>(dir, schema, connections);
}

std::unique_ptr<Publications> Publications::Postgres(const pg::ConnectOptions& options, const std::string& schema,
                                                     int connections) {
  return std::make_unique<PgPublications>(options, schema, connections);
}

Result<std::unique_ptr<Publications>> Publications::ForProject(const Project& project, const std::string& schema,
                                                               int connections) {
  // A PostgreSQL publish target holds the published schema; else a PostgreSQL warehouse
  // does; else the DuckDB warehouse's serving copies.
  STRATA_ASSIGN_OR_RETURN(auto publish_target, transform::PublishTarget(project));
  if (publish_target) return Postgres(*publish_target, schema, connections);
  if (!project.transform_dir.empty()) {
    STRATA_ASSIGN_OR_RETURN(warehouse::Target target, transform::ResolveTarget(project));
    if (target.kind == warehouse::Target::Kind::kPostgres) return Postgres(target.postgres, schema, connections);
  }
  return ServingCopies(project.serving_dir(), schema, connections);
}

}  // namespace strata::serve
