#include "db/postgres.h"

#include <libpq-fe.h>

#include <algorithm>
#include <climits>
#include <cstdlib>

namespace strata::pg {

namespace {

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string Field(const PGresult* r, int field) {
  const char* v = PQresultErrorField(r, field);
  return v == nullptr ? std::string() : std::string(v);
}

// PostgreSQL's error position counts characters from 1; the line and column (also in
// characters) of that position in `sql`.
std::string LineColumn(std::string_view sql, long position) {
  int line = 1, column = 1;
  long chars = 0;
  for (size_t i = 0; i < sql.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(sql[i]);
    if ((c & 0xC0) == 0x80) continue;  // a UTF-8 continuation byte
    if (++chars == position) return "line " + std::to_string(line) + ", column " + std::to_string(column);
    if (c == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "";
}

// Type names for the OIDs of the built-in types (pg_type.h); others are named by OID.
std::string TypeName(Oid oid) {
  switch (oid) {
    case 16:
      return "BOOLEAN";
    case 17:
      return "BYTEA";
    case 18:
      return "CHAR";
    case 19:
      return "NAME";
    case 20:
      return "BIGINT";
    case 21:
      return "SMALLINT";
    case 23:
      return "INTEGER";
    case 25:
      return "TEXT";
    case 26:
      return "OID";
    case 114:
      return "JSON";
    case 700:
      return "REAL";
    case 701:
      return "DOUBLE PRECISION";
    case 1042:
      return "BPCHAR";
    case 1043:
      return "VARCHAR";
    case 1082:
      return "DATE";
    case 1083:
      return "TIME";
    case 1114:
      return "TIMESTAMP";
    case 1184:
      return "TIMESTAMPTZ";
    case 1186:
      return "INTERVAL";
    case 1700:
      return "NUMERIC";
    case 2950:
      return "UUID";
    case 3802:
      return "JSONB";
    default:
      return "OID " + std::to_string(oid);
  }
}

sql::QueryResult ToQueryResult(const PGresult* r) {
  sql::QueryResult out;
  const int cols = PQnfields(r);
  const int rows = PQntuples(r);
  for (int c = 0; c < cols; ++c) {
    out.columns.emplace_back(PQfname(r, c));
    out.column_types.push_back(TypeName(PQftype(r, c)));
  }
  out.rows.reserve(rows);
  for (int i = 0; i < rows; ++i) {
    sql::Row row;
    row.reserve(cols);
    for (int c = 0; c < cols; ++c) {
      if (PQgetisnull(r, i, c)) {
        row.emplace_back(std::nullopt);
      } else if (PQftype(r, c) == 16) {  // booleans read as DuckDB writes them: true / false
        row.emplace_back(std::string(PQgetvalue(r, i, c)[0] == 't' ? "true" : "false"));
      } else {
        row.emplace_back(std::string(PQgetvalue(r, i, c), PQgetlength(r, i, c)));
      }
    }
    out.rows.push_back(std::move(row));
  }
  const char* tuples = PQcmdTuples(const_cast<PGresult*>(r));
  if (tuples != nullptr && *tuples != '\0') out.rows_changed = std::strtoll(tuples, nullptr, 10);
  return out;
}

int64_t CommandRows(PGresult* r) {
  const char* tuples = PQcmdTuples(r);
  return tuples != nullptr && *tuples != '\0' ? std::strtoll(tuples, nullptr, 10) : 0;
}

void IgnoreNotice(void*, const char*) {}  // NOTICEs ("... does not exist, skipping") are not errors

}  // namespace

std::string ConnectOptions::Describe() const {
  return (user.empty() ? std::string() : user + "@") + host + ":" + std::to_string(port) + "/" + dbname;
}

Result<std::unique_ptr<Connection>> Connection::Open(const ConnectOptions& options) {
  const std::string port = std::to_string(options.port);
  const std::string timeout = std::to_string(options.connect_timeout_seconds);
  std::vector<const char*> keys, values;
  // libpq reads the values during PQconnectdbParams: each must outlive the call, so a
  // temporary std::string (add("x", "literal")) must not be passed here.
  auto add = [&](const char* k, const std::string& v) {
    if (v.empty()) return;
    keys.push_back(k);
    values.push_back(v.c_str());
  };
  static const std::string kUtf8 = "UTF8";
  add("host", options.host);
  add("port", port);
  add("dbname", options.dbname);
  add("user", options.user);
  add("password", options.password);
  add("sslmode", options.sslmode);
  add("connect_timeout", timeout);
  add("application_name", options.application_name);
  add("client_encoding", kUtf8);
  // Timestamps with time zone render in UTC, dates in ISO form, whatever the server's defaults.
  static const std::string kSessionOptions = "-c TimeZone=UTC -c DateStyle=ISO,YMD -c IntervalStyle=iso_8601";
  static const std::string kReadOnlyOptions = kSessionOptions + " -c default_transaction_read_only=on";
  add("options", options.read_only ? kReadOnlyOptions : kSessionOptions);
  keys.push_back(nullptr);
  values.push_back(nullptr);

  std::unique_ptr<Connection> c(new Connection());
  c->options_ = options;
  c->conn_ = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/0);
  const std::string where = "PostgreSQL " + options.Describe();
  if (c->conn_ == nullptr) return Status::Internal(where + ": libpq could not allocate a connection");
  if (PQstatus(c->conn_) != CONNECTION_OK) {
    std::string msg = Trim(PQerrorMessage(c->conn_));
    if (msg.find("password authentication failed") != std::string::npos ||
        msg.find("no password supplied") != std::string::npos) {
      return Status::InvalidArgument(where + ": cannot connect: " + msg +
                                     " (the password comes from the environment variable the profile names)");
    }
    if (msg.find("does not exist") != std::string::npos || msg.find("permission denied") != std::string::npos) {
      return Status::InvalidArgument(where + ": cannot connect: " + msg);
    }
    return Status::Unavailable(where + ": cannot connect: " + msg);
  }
  PQsetNoticeProcessor(c->conn_, IgnoreNotice, nullptr);
  c->cancel_ = PQgetCancel(c->conn_);
  return c;
}

Connection::~Connection() {
  if (cancel_ != nullptr) PQfreeCancel(cancel_);
  if (conn_ != nullptr) PQfinish(conn_);
}

int Connection::server_version() const { return PQserverVersion(conn_); }

bool Connection::InTransaction() const {
  const PGTransactionStatusType s = PQtransactionStatus(conn_);
  return s == PQTRANS_INTRANS || s == PQTRANS_INERROR || s == PQTRANS_ACTIVE;
}

void Connection::Cancel() {
  if (cancel_ == nullptr) return;
  char err[256];
  (void)PQcancel(cancel_, err, sizeof(err));  // best effort: the statement may have ended
}

Status Connection::Error(const void* result, std::string_view sql) const {
  const std::string where = "PostgreSQL " + options_.Describe();
  const auto* r = static_cast<const PGresult*>(result);
  const bool lost = PQstatus(conn_) == CONNECTION_BAD;
  if (r == nullptr || Field(r, PG_DIAG_MESSAGE_PRIMARY).empty()) {
    std::string msg = Trim(PQerrorMessage(conn_));
    if (msg.empty() && r != nullptr) msg = PQresStatus(PQresultStatus(r));
    return lost ? Status::Unavailable(where + ": lost the connection: " + msg) : Status::IOError(where + ": " + msg);
  }
  const std::string state = Field(r, PG_DIAG_SQLSTATE);
  std::string msg = where + ": " + Field(r, PG_DIAG_SEVERITY_NONLOCALIZED) + ": " + Field(r, PG_DIAG_MESSAGE_PRIMARY) +
                    " (SQLSTATE " + state + ")";
  const std::string position = Field(r, PG_DIAG_STATEMENT_POSITION);
  if (!position.empty()) {
    std::string at = LineColumn(sql, std::strtol(position.c_str(), nullptr, 10));
    if (!at.empty()) msg += " at " + at + " of the statement";
  }
  if (std::string d = Field(r, PG_DIAG_MESSAGE_DETAIL); !d.empty()) msg += "\nDETAIL: " + d;
  if (std::string h = Field(r, PG_DIAG_MESSAGE_HINT); !h.empty()) msg += "\nHINT: " + h;
  if (std::string c = Field(r, PG_DIAG_CONTEXT); !c.empty()) msg += "\nCONTEXT: " + c;
  if (lost || state.rfind("08", 0) == 0 || state == "57P01" || state == "57P02" || state == "57P03") {
    return Status::Unavailable(msg);
  }
  if (state == "57014") return Status::Aborted(msg);
  return Status::InvalidArgument(msg);
}

Status Connection::Execute(std::string_view sql) {
  const std::string text(sql);
  ResultPtr r(PQexec(conn_, text.c_str()));
  if (r == nullptr) return Error(nullptr, sql);
  const ExecStatusType st = PQresultStatus(r.get());
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) return Status::OK();
  if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT) {
    // Leave the connection usable: end the COPY the statement started.
    if (st == PGRES_COPY_IN) PQputCopyEnd(conn_, "COPY is not supported by Execute()");
    while (ResultPtr rest{PQgetResult(conn_)}) {
    }
    return Status::Internal("PostgreSQL " + options_.Describe() + ": Execute() got a COPY; use CopyIn/CopyOut");
  }
  return Error(r.get(), sql);
}

Result<sql::QueryResult> Connection::Query(std::string_view sql) {
  // The simple query protocol: several statements may be sent at once (they run as one
  // implicit transaction); the last one's rows are returned.
  const std::string text(sql);
  ResultPtr r(PQexec(conn_, text.c_str()));
  if (r == nullptr) return Error(nullptr, sql);
  const ExecStatusType st = PQresultStatus(r.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) return Error(r.get(), sql);
  return ToQueryResult(r.get());
}

Result<sql::QueryResult> Connection::Query(std::string_view sql,
                                           const std::vector<std::optional<std::string>>& params) {
  const std::string text(sql);
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  ResultPtr r(PQexecParams(conn_, text.c_str(), static_cast<int>(params.size()), nullptr,
                           values.empty() ? nullptr : values.data(), nullptr, nullptr, /*resultFormat=*/0));
  if (r == nullptr) return Error(nullptr, sql);
  const ExecStatusType st = PQresultStatus(r.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return Error(r.get(), sql);
  return ToQueryResult(r.get());
}

Status Connection::StartCopy(std::string_view copy_sql, int expected) {
  const std::string text(copy_sql);
  ResultPtr r(PQexec(conn_, text.c_str()));
  if (r == nullptr) return Error(nullptr, copy_sql);
  if (PQresultStatus(r.get()) != expected) return Error(r.get(), copy_sql);
  return Status::OK();
}

Result<int64_t> Connection::FinishCopy(Status failed, std::string_view copy_sql) {
  int64_t rows = 0;
  while (ResultPtr r{PQgetResult(conn_)}) {
    if (PQresultStatus(r.get()) == PGRES_COMMAND_OK) {
      rows = CommandRows(r.get());
    } else if (failed.ok()) {
      failed = Error(r.get(), copy_sql);
    }
  }
  if (!failed.ok()) return failed;
  return rows;
}

Result<int64_t> Connection::CopyIn(std::string_view copy_sql, const std::function<Result<bool>(std::string*)>& fill) {
  STRATA_RETURN_IF_ERROR(StartCopy(copy_sql, PGRES_COPY_IN));
  std::string buffer;
  Status failed;
  for (;;) {
    buffer.clear();
    Result<bool> more = fill(&buffer);
    if (!more.ok()) {
      failed = more.status();
      break;
    }
    for (size_t off = 0; off < buffer.size();) {
      const int n = static_cast<int>(std::min<size_t>(buffer.size() - off, INT_MAX / 2));
      if (PQputCopyData(conn_, buffer.data() + off, n) != 1) {
        failed = Error(nullptr, copy_sql);
        break;
      }
      off += n;
    }
    if (!failed.ok() || !*more) break;
  }
  // Ending with an error message makes the server abort the COPY: none of its rows stay.
  const std::string reason = failed.ok() ? std::string() : "strata: " + failed.message().substr(0, 200);
  if (PQputCopyEnd(conn_, failed.ok() ? nullptr : reason.c_str()) != 1 && failed.ok())
    failed = Error(nullptr, copy_sql);
  return FinishCopy(std::move(failed), copy_sql);
}

Result<int64_t> Connection::CopyOut(std::string_view copy_sql, const std::function<Status(std::string_view)>& sink) {
  STRATA_RETURN_IF_ERROR(StartCopy(copy_sql, PGRES_COPY_OUT));
  Status failed;
  for (;;) {
    char* data = nullptr;
    const int n = PQgetCopyData(conn_, &data, /*async=*/0);
    if (n > 0) {
      if (failed.ok()) failed = sink(std::string_view(data, n));
      PQfreemem(data);
      if (!failed.ok()) Cancel();  // stop the server sending the rest; drain what is in flight
      continue;
    }
    if (n == -2 && failed.ok()) failed = Error(nullptr, copy_sql);
    break;  // -1: done (the result follows), -2: error
  }
  return FinishCopy(std::move(failed), copy_sql);
}

std::string QuoteIdent(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string QuoteLiteral(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

}  // namespace strata::pg
