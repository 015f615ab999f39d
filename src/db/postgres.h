// A small RAII layer over libpq, PostgreSQL's C client. No other code in Strata calls libpq.
//
// Errors become Status values that name the server ("PostgreSQL strata@127.0.0.1:5432/shop")
// and carry the server's message, SQLSTATE, detail and hint, with the line and column of the
// statement they point at:
//   kUnavailable      the connection failed or was lost (SQLSTATE class 08, server shutdown
//                     57P01-57P03, or a broken socket): retrying may help;
//   kAborted          the statement was cancelled (Cancel(), or 57014);
//   kInvalidArgument  everything the statement itself got wrong (syntax, unknown relation,
//                     permission denied, constraint violations, bad data in COPY).
// Passwords never appear in messages.
//
// Thread-safety: a Connection is used by one thread at a time, except Cancel(), which any
// thread may call while another runs a statement.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "db/query_result.h"

struct pg_conn;
struct pg_cancel;

namespace strata::pg {

struct ConnectOptions {
  std::string host = "127.0.0.1";  // a host name or address, or a Unix socket folder ("/...")
  int port = 5432;
  std::string dbname;
  std::string user;
  std::string password;  // the secret itself (from the environment); never logged
  std::string sslmode = "prefer";
  int connect_timeout_seconds = 10;
  std::string application_name = "strata";
  // Every transaction of the session is READ ONLY (the server refuses writes).
  bool read_only = false;

  // "user@host:port/dbname", for messages.
  std::string Describe() const;
};

class Connection {
 public:
  static Result<std::unique_ptr<Connection>> Open(const ConnectOptions& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one or more statements (the simple query protocol), discarding results.
  Status Execute(std::string_view sql);
  // Values are PostgreSQL's text forms, except booleans: "true" / "false", as DuckDB's.
  // Runs one or more statements (as one implicit transaction, unless they hold their own
  // BEGIN/COMMIT) and returns the last one's rows as text.
  Result<sql::QueryResult> Query(std::string_view sql);
  // With parameters $1, $2, ... (nullopt is NULL), sent separately from the SQL text.
  Result<sql::QueryResult> Query(std::string_view sql, const std::vector<std::optional<std::string>>& params);

  // COPY ... FROM STDIN. `fill` appends the next piece of data to its argument (which it
  // finds empty) and returns false once there is no more; pieces need not end on row
  // boundaries. Returns the rows copied. Any failure, `fill`'s included, ends the COPY with
  // an error, so the server keeps none of its rows.
  Result<int64_t> CopyIn(std::string_view copy_sql, const std::function<Result<bool>(std::string*)>& fill);
  // COPY ... TO STDOUT: `sink` receives the data, one row per call (text and CSV formats).
  // Returns the rows copied.
  Result<int64_t> CopyOut(std::string_view copy_sql, const std::function<Status(std::string_view)>& sink);

  // Asks the server to stop the statement running on this connection; it then fails with
  // kAborted. Safe from any thread.
  void Cancel();

  Status Begin() { return Execute("BEGIN"); }
  Status Commit() { return Execute("COMMIT"); }
  Status Rollback() { return Execute("ROLLBACK"); }
  // True inside a transaction block (also a failed one, which only ROLLBACK ends).
  bool InTransaction() const;

  int server_version() const;  // e.g. 150018
  const ConnectOptions& options() const { return options_; }

 private:
  Connection() = default;
  // The Status for the failed result `res` (or the connection's error when null), for `sql`.
  Status Error(const void* res, std::string_view sql) const;
  // Sends a COPY statement and checks the server entered `expected` (PGRES_COPY_IN/OUT).
  Status StartCopy(std::string_view copy_sql, int expected);
  // Reads the COPY's final result: the rows copied, or the first failure.
  Result<int64_t> FinishCopy(Status failed, std::string_view copy_sql);

  ConnectOptions options_;
  pg_conn* conn_ = nullptr;
  pg_cancel* cancel_ = nullptr;
};

// Quotes an identifier ("a""b") and a string literal ('it''s'; standard_conforming_strings,
// the default since PostgreSQL 9.1).
std::string QuoteIdent(std::string_view name);
std::string QuoteLiteral(std::string_view value);

}  // namespace strata::pg
