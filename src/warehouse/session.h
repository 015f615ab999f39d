// Warehouse engines behind one interface: the transformation engine, tests and publishing
// talk to a Session, whatever runs the SQL — embedded DuckDB or a PostgreSQL server. What
// differs in SQL between them lives in dispatchable macros (adapter.dispatch), keyed by
// engine(); what differs in mechanics (loading a CSV, cancelling) lives here.
//
// Thread-safety: an Engine may be shared by threads; a Session is used by one thread at a
// time, except Interrupt(), which any thread may call.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "db/duckdb.h"
#include "db/postgres.h"
#include "db/query_result.h"

namespace strata::warehouse {

class Session {
 public:
  virtual ~Session() = default;
  // "duckdb" or "postgres": dbt's target.type, and the prefix adapter.dispatch tries first.
  virtual const std::string& engine() const = 0;
  // Runs one or more statements, discarding results.
  virtual Status Execute(std::string_view sql) = 0;
  // Runs one statement and returns its rows as text.
  virtual Result<sql::QueryResult> Query(std::string_view sql) = 0;
  // Stops the running statement (it fails with kAborted); safe from any thread.
  virtual void Interrupt() = 0;
  virtual Status Begin() = 0;
  virtual Status Commit() = 0;
  virtual Status Rollback() = 0;

  // Creates table `schema`.`table` from a CSV file with a header row (dbt seeds): column
  // types as `types` says (column -> SQL type), the others inferred from the data. Replaces
  // nothing: the caller creates into a fresh name. Returns the rows loaded.
  // The DuckDB connection behind this session, or null (PostgreSQL): for streaming a DuckDB
  // relation elsewhere (pg_copy.h).
  virtual duck::Connection* duckdb() { return nullptr; }

  virtual Result<int64_t> CreateTableFromCsv(const std::string& schema, const std::string& table,
                                             const std::string& csv_path, char delimiter,
                                             const std::map<std::string, std::string>& types) = 0;
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual const std::string& engine() const = 0;
  virtual Result<std::unique_ptr<Session>> Connect() = 0;
  // "duckdb /path/wh.duckdb" or "postgres strata@127.0.0.1:5432/shop", for messages.
  virtual std::string Describe() const = 0;
};

// An embedded DuckDB database; `db` must outlive the engine.
std::unique_ptr<Engine> DuckDbEngine(duck::Database* db, std::string path = "");
// Opens (or creates) a DuckDB database file ("" or ":memory:": in memory) and owns it.
// A file that another process holds is waited for up to `lock_timeout_seconds`.
Result<std::unique_ptr<Engine>> OpenDuckDb(const std::string& path,
                                           const std::map<std::string, std::string>& settings = {},
                                           int lock_timeout_seconds = 0);
// A PostgreSQL server; each Connect() opens a connection (checked at once by OpenPostgres).
Result<std::unique_ptr<Engine>> OpenPostgres(const pg::ConnectOptions& options);

// The SQL column types DuckDB infers for a CSV file (its sniffer), as PostgreSQL types
// (BIGINT, DOUBLE PRECISION, BOOLEAN, DATE, TIMESTAMP, TEXT, ...), in file order.
Result<std::vector<std::pair<std::string, std::string>>> SniffCsv(const std::string& csv_path, char delimiter);

}  // namespace strata::warehouse
