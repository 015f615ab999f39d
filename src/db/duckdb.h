// A small RAII layer over DuckDB's C API. Only pg_copy.cc also calls the C API (through
// Connection::handle()), to stream result vectors into PostgreSQL.
//
// Errors from DuckDB become Status values (kInvalidArgument for SQL/binder/conversion errors,
// kAborted for interrupts, kIOError otherwise), carrying DuckDB's message (without its stack
// trace).
//
// A failed write to the database file or its WAL (a full disk, an I/O error) leaves DuckDB's
// in-memory WAL writer unfit: in DuckDB 1.4 the next commit in the same process can write a
// garbled WAL record (seen: two ledger keys run together after an ENOSPC). So the first such
// failure marks the Database broken: every later statement on any of its connections fails
// with kIOError at once, and the owner must close it and open the file again (which replays
// the intact part of the WAL).
// Thread-safety: a Database may be shared by threads; a Connection and everything created
// from it are used by one thread at a time, except Interrupt(), which any thread may call.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "db/query_result.h"

// Opaque C handles (defined in duckdb.h, which only duckdb.cc includes).
struct _duckdb_database;
struct _duckdb_connection;
struct _duckdb_prepared_statement;
struct _duckdb_appender;

namespace strata::duck {

class Connection;

// How Database::Open() treats a file that another process holds (DuckDB allows one writer
// process, or several read-only ones).
struct LockWait {
  int timeout_seconds = 0;  // keep trying this long before kUnavailable
  // Called about every 5 s while waiting, with who holds the file (DuckDB's "PID n").
  std::function<void(const std::string& holder, int waited_seconds)> on_wait;
};

class Database {
 public:
  // Opens (or creates) the database file at `path`; "" or ":memory:" is in-memory.
  // `config` holds DuckDB settings such as {"threads","2"} or {"access_mode","READ_ONLY"}.
  // A file held by another process is retried for `wait.timeout_seconds`, then kUnavailable.
  static Result<std::unique_ptr<Database>> Open(const std::string& path,
                                                const std::map<std::string, std::string>& config = {},
                                                const LockWait& wait = {});
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  Result<std::unique_ptr<Connection>> Connect();
  static std::string LibraryVersion();

  // Whether a write to the file failed (see above): then it must be closed and reopened.
  bool broken() const { return health_->broken.load(); }
  std::string broken_reason() const { return health_->Reason(); }

  // Shared by a database and its connections.
  struct Health {
    std::atomic<bool> broken{false};
    mutable std::mutex mu;
    std::string reason;
    void Break(const std::string& why);
    std::string Reason() const;
    Status Check() const;  // kIOError when broken
  };

 private:
  Database() = default;
  _duckdb_database* db_ = nullptr;
  std::string path_;
  std::shared_ptr<Health> health_ = std::make_shared<Health>();
};

using Cell = sql::Cell;
using Row = sql::Row;
using QueryResult = sql::QueryResult;  // column_types are DuckDB type names, e.g. "BIGINT"

class PreparedStatement;
class Appender;

class Connection {
 public:
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one or more statements, discarding results.
  Status Execute(std::string_view sql);
  // Runs a statement and materializes its result. Values of types other than numbers,
  // booleans and strings are returned as DuckDB renders them (CAST(... AS VARCHAR)).
  Result<QueryResult> Query(std::string_view sql);
  Result<std::unique_ptr<PreparedStatement>> Prepare(std::string_view sql);
  Result<std::unique_ptr<Appender>> CreateAppender(const std::string& schema, const std::string& table);

  // Asks the running query on this connection to stop; it then fails with kAborted.
  void Interrupt();

  // The C API handle, for the one other file that reads DuckDB's vectors directly
  // (pg_copy.cc, which encodes them for PostgreSQL's binary COPY).
  _duckdb_connection* handle() { return conn_; }

  // Transaction helpers.
  Status Begin() { return Execute("BEGIN TRANSACTION"); }
  Status Commit() { return Execute("COMMIT"); }
  Status Rollback() { return Execute("ROLLBACK"); }

 private:
  friend class Database;
  Connection() = default;
  _duckdb_connection* conn_ = nullptr;
  std::shared_ptr<Database::Health> health_;
};

// Parameters are 1-based, as in DuckDB.
class PreparedStatement {
 public:
  ~PreparedStatement();
  PreparedStatement(const PreparedStatement&) = delete;
  PreparedStatement& operator=(const PreparedStatement&) = delete;

  Status Bind(int index, std::string_view value);
  Status Bind(int index, int64_t value);
  Status Bind(int index, double value);
  Status BindBool(int index, bool value);
  Status BindNull(int index);
  Result<QueryResult> Execute();

 private:
  friend class Connection;
  PreparedStatement() = default;
  _duckdb_prepared_statement* stmt_ = nullptr;
  std::shared_ptr<Database::Health> health_;
};

// Fast row-wise insertion into one table. Values are cast to the column types
// (e.g. a string into a TIMESTAMP column). Close() flushes; destruction without Close()
// flushes too but loses the error.
class Appender {
 public:
  ~Appender();
  Appender(const Appender&) = delete;
  Appender& operator=(const Appender&) = delete;

  Status Append(std::string_view value);
  Status Append(int64_t value);
  Status Append(double value);
  Status AppendBool(bool value);
  Status AppendNull();
  Status EndRow();
  Status Close();

 private:
  friend class Connection;
  Appender() = default;
  Status Check(int state);
  _duckdb_appender* app_ = nullptr;
};

// Quotes an identifier ("a""b") and a string literal ('it''s') for SQL text.
std::string QuoteIdent(std::string_view name);
std::string QuoteLiteral(std::string_view value);

}  // namespace strata::duck
