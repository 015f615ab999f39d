#include "warehouse/target.h"

#include <map>
#include <utility>

namespace strata::warehouse {

std::string Target::Describe() const {
  return kind == Kind::kPostgres ? "postgres " + postgres.Describe() : "duckdb " + duckdb.path;
}

const char* Target::TypeName() const { return kind == Kind::kPostgres ? "postgres" : "duckdb"; }

namespace {

// The embedded DuckDB file, held open while the target is.
class OpenDuckDbTarget : public OpenTarget {
 public:
  OpenDuckDbTarget(Target target, std::unique_ptr<Warehouse> wh) : OpenTarget(std::move(target)), wh_(std::move(wh)) {}

  Status LoadRaw(lake::Lake* lake, std::vector<LoadResult>* results,
                 const std::function<void(const LoadResult&)>& on_table, CancelToken* cancel) override {
    CancelScope interrupt(cancel, [this] { wh_->connection()->Interrupt(); });
    STRATA_RETURN_IF_ERROR(interrupt.Check());
    return wh_->LoadRaw(lake, results, on_table);
  }
  Result<std::unique_ptr<Engine>> NewEngine() override { return DuckDbEngine(wh_->database(), wh_->path()); }
  bool broken() const override { return wh_->broken(); }

 private:
  std::unique_ptr<Warehouse> wh_;
};

// A PostgreSQL server: a connection per use.
class OpenPostgresTarget : public OpenTarget {
 public:
  explicit OpenPostgresTarget(Target target) : OpenTarget(std::move(target)) {}

  Status LoadRaw(lake::Lake* lake, std::vector<LoadResult>* results,
                 const std::function<void(const LoadResult&)>& on_table, CancelToken* cancel) override {
    STRATA_ASSIGN_OR_RETURN(auto conn, pg::Connection::Open(target().postgres));
    return LoadRawToPostgres(lake, conn.get(), results, on_table, cancel);
  }
  Result<std::unique_ptr<Engine>> NewEngine() override { return OpenPostgres(target().postgres); }
};

}  // namespace

Result<std::unique_ptr<OpenTarget>> OpenTarget::Open(const Target& target, const Options& options) {
  if (target.kind == Target::Kind::kPostgres) {
    Target t = target;
    t.postgres.read_only = options.read_only;
    STRATA_RETURN_IF_ERROR(pg::Connection::Open(t.postgres).status());  // fail now, with the reason
    return std::unique_ptr<OpenTarget>(new OpenPostgresTarget(std::move(t)));
  }
  STRATA_ASSIGN_OR_RETURN(auto wh, Warehouse::Open(target.duckdb, options));
  return std::unique_ptr<OpenTarget>(new OpenDuckDbTarget(target, std::move(wh)));
}

Result<std::unique_ptr<Engine>> OpenEngine(const Target& target) {
  if (target.kind == Target::Kind::kPostgres) return OpenPostgres(target.postgres);
  std::map<std::string, std::string> settings;
  if (target.duckdb.threads > 0) settings["threads"] = std::to_string(target.duckdb.threads);
  if (!target.duckdb.memory_limit.empty()) settings["memory_limit"] = target.duckdb.memory_limit;
  return OpenDuckDb(target.duckdb.path, settings, target.duckdb.lock_timeout_seconds);
}

}  // namespace strata::warehouse
