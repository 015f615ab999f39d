#include "db/duckdb.h"

#include <duckdb.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "core/date.h"

namespace strata::duck {
namespace {

// Whether DuckDB failed to write the database file or its WAL (see duckdb.h).
bool IsWriteFailure(const std::string& msg) {
  for (const char* sign :
       {"Failed to commit", "Could not write file", "No space left on device", "Failed to create checkpoint",
        "database has been invalidated", "Could not fsync", "Could not truncate"}) {
    if (msg.find(sign) != std::string::npos) return true;
  }
  return false;
}

Status ErrorFrom(const char* message, duckdb_error_type type) {
  std::string msg = message ? message : "unknown DuckDB error";
  // Fatal errors come with DuckDB's stack trace: of no use to the reader of the message.
  if (size_t trace = msg.find("\n\nStack Trace:"); trace != std::string::npos) msg.resize(trace);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  switch (type) {
    case DUCKDB_ERROR_INTERRUPT:
      return Status::Aborted(msg);
    case DUCKDB_ERROR_IO:
    case DUCKDB_ERROR_CONNECTION:
    case DUCKDB_ERROR_FATAL:
    case DUCKDB_ERROR_INTERNAL:
      return Status::IOError(msg);
    default:
      return Status::InvalidArgument(msg);
  }
}

std::string TypeName(duckdb_logical_type type) {
  char* s = duckdb_logical_type_get_alias(type);
  if (s == nullptr) {
    // No alias: render via a value-less path: DuckDB's type id name.
    switch (duckdb_get_type_id(type)) {
      case DUCKDB_TYPE_BOOLEAN:
        return "BOOLEAN";
      case DUCKDB_TYPE_TINYINT:
        return "TINYINT";
      case DUCKDB_TYPE_SMALLINT:
        return "SMALLINT";
      case DUCKDB_TYPE_INTEGER:
        return "INTEGER";
      case DUCKDB_TYPE_BIGINT:
        return "BIGINT";
      case DUCKDB_TYPE_UTINYINT:
        return "UTINYINT";
      case DUCKDB_TYPE_USMALLINT:
        return "USMALLINT";
      case DUCKDB_TYPE_UINTEGER:
        return "UINTEGER";
      case DUCKDB_TYPE_UBIGINT:
        return "UBIGINT";
      case DUCKDB_TYPE_FLOAT:
        return "FLOAT";
      case DUCKDB_TYPE_DOUBLE:
        return "DOUBLE";
      case DUCKDB_TYPE_TIMESTAMP:
        return "TIMESTAMP";
      case DUCKDB_TYPE_DATE:
        return "DATE";
      case DUCKDB_TYPE_TIME:
        return "TIME";
      case DUCKDB_TYPE_INTERVAL:
        return "INTERVAL";
      case DUCKDB_TYPE_HUGEINT:
        return "HUGEINT";
      case DUCKDB_TYPE_VARCHAR:
        return "VARCHAR";
      case DUCKDB_TYPE_BLOB:
        return "BLOB";
      case DUCKDB_TYPE_DECIMAL:
        return "DECIMAL";
      case DUCKDB_TYPE_TIMESTAMP_TZ:
        return "TIMESTAMP WITH TIME ZONE";
      case DUCKDB_TYPE_LIST:
        return "LIST";
      case DUCKDB_TYPE_STRUCT:
        return "STRUCT";
      case DUCKDB_TYPE_MAP:
        return "MAP";
      default:
        return "OTHER";
    }
  }
  std::string out(s);
  duckdb_free(s);
  return out;
}

std::string U128ToString(unsigned __int128 v) {
  std::string digits;
  do {
    digits.push_back(static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  } while (v != 0);
  return std::string(digits.rbegin(), digits.rend());
}

std::string FormatDouble(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  // Prefer the shortest representation that round-trips.
  for (int prec = 1; prec <= 17; ++prec) {
    char shorter[40];
    std::snprintf(shorter, sizeof shorter, "%.*g", prec, v);
    if (std::strtod(shorter, nullptr) == v) return shorter;
  }
  return buf;
}

std::string FormatMicros(int64_t micros) {
  int64_t secs = micros >= 0 ? micros / 1000000 : (micros - 999999) / 1000000;
  int64_t frac = micros - secs * 1000000;
  std::string out = FormatTimestamp(secs);
  if (frac != 0) {
    char buf[16];
    std::snprintf(buf, sizeof buf, ".%06lld", static_cast<long long>(frac));
    out += buf;
  }
  return out;
}

std::string FormatDecimal(void* data, idx_t row, int width, int scale) {
  __int128 v = 0;
  switch (width) {
    case 2:
      v = static_cast<int16_t*>(data)[row];
      break;
    case 4:
      v = static_cast<int32_t*>(data)[row];
      break;
    case 8:
      v = static_cast<int64_t*>(data)[row];
      break;
    default: {
      const duckdb_hugeint& h = static_cast<duckdb_hugeint*>(data)[row];
      v = (static_cast<__int128>(h.upper) << 64) | h.lower;
    }
  }
  bool neg = v < 0;
  unsigned __int128 u = neg ? static_cast<unsigned __int128>(-v) : static_cast<unsigned __int128>(v);
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(u % 10)));
    u /= 10;
  } while (u != 0);
  while (static_cast<int>(digits.size()) <= scale) digits.insert(digits.begin(), '0');
  if (scale > 0) digits.insert(digits.end() - scale, '.');
  return neg ? "-" + digits : digits;
}

// Materializes a result (numbers, booleans, strings, dates, timestamps, decimals).
Result<QueryResult> Materialize(duckdb_result* res) {
  QueryResult out;
  idx_t ncols = duckdb_column_count(res);
  std::vector<duckdb_type> types(ncols);
  std::vector<std::pair<int, int>> decimals(ncols);  // internal storage width in bytes, scale
  for (idx_t c = 0; c < ncols; ++c) {
    out.columns.emplace_back(duckdb_column_name(res, c));
    duckdb_logical_type lt = duckdb_column_logical_type(res, c);
    out.column_types.push_back(TypeName(lt));
    if (duckdb_get_type_id(lt) == DUCKDB_TYPE_DECIMAL) {
      int width = 16;
      switch (duckdb_decimal_internal_type(lt)) {
        case DUCKDB_TYPE_SMALLINT:
          width = 2;
          break;
        case DUCKDB_TYPE_INTEGER:
          width = 4;
          break;
        case DUCKDB_TYPE_BIGINT:
          width = 8;
          break;
        default:
          width = 16;
          break;
      }
      decimals[c] = {width, duckdb_decimal_scale(lt)};
      out.column_types.back() =
          "DECIMAL(" + std::to_string(duckdb_decimal_width(lt)) + "," + std::to_string(duckdb_decimal_scale(lt)) + ")";
    }
    duckdb_destroy_logical_type(&lt);
    types[c] = duckdb_column_type(res, c);
  }
  out.rows_changed = static_cast<int64_t>(duckdb_rows_changed(res));
  for (;;) {
    duckdb_data_chunk chunk = duckdb_fetch_chunk(*res);
    if (chunk == nullptr) break;
    idx_t n = duckdb_data_chunk_get_size(chunk);
    size_t base = out.rows.size();
    out.rows.resize(base + n, Row(ncols));
    for (idx_t c = 0; c < ncols; ++c) {
      duckdb_vector vec = duckdb_data_chunk_get_vector(chunk, c);
      void* data = duckdb_vector_get_data(vec);
      uint64_t* validity = duckdb_vector_get_validity(vec);
      for (idx_t r = 0; r < n; ++r) {
        if (validity != nullptr && !duckdb_validity_row_is_valid(validity, r)) continue;
        Cell& cell = out.rows[base + r][c];
        switch (types[c]) {
          case DUCKDB_TYPE_BOOLEAN:
            cell = static_cast<bool*>(data)[r] ? "true" : "false";
            break;
          case DUCKDB_TYPE_TINYINT:
            cell = std::to_string(static_cast<int8_t*>(data)[r]);
            break;
          case DUCKDB_TYPE_SMALLINT:
            cell = std::to_string(static_cast<int16_t*>(data)[r]);
            break;
          case DUCKDB_TYPE_INTEGER:
            cell = std::to_string(static_cast<int32_t*>(data)[r]);
            break;
          case DUCKDB_TYPE_BIGINT:
            cell = std::to_string(static_cast<int64_t*>(data)[r]);
            break;
          case DUCKDB_TYPE_UTINYINT:
            cell = std::to_string(static_cast<uint8_t*>(data)[r]);
            break;
          case DUCKDB_TYPE_USMALLINT:
            cell = std::to_string(static_cast<uint16_t*>(data)[r]);
            break;
          case DUCKDB_TYPE_UINTEGER:
            cell = std::to_string(static_cast<uint32_t*>(data)[r]);
            break;
          case DUCKDB_TYPE_UBIGINT:
            cell = std::to_string(static_cast<uint64_t*>(data)[r]);
            break;
          case DUCKDB_TYPE_HUGEINT: {  // sum() of BIGINTs, for one
            const duckdb_hugeint& h = static_cast<duckdb_hugeint*>(data)[r];
            __int128 v = static_cast<__int128>((static_cast<unsigned __int128>(h.upper) << 64) | h.lower);
            cell = v < 0 ? "-" + U128ToString(-static_cast<unsigned __int128>(v)) : U128ToString(v);
            break;
          }
          case DUCKDB_TYPE_UHUGEINT: {
            const duckdb_uhugeint& h = static_cast<duckdb_uhugeint*>(data)[r];
            cell = U128ToString((static_cast<unsigned __int128>(h.upper) << 64) | h.lower);
            break;
          }
          case DUCKDB_TYPE_VARCHAR:
          case DUCKDB_TYPE_BLOB: {
            duckdb_string_t* s = &static_cast<duckdb_string_t*>(data)[r];
            cell = std::string(duckdb_string_t_data(s), duckdb_string_t_length(*s));
            break;
          }
          case DUCKDB_TYPE_FLOAT:
            cell = FormatDouble(static_cast<float*>(data)[r]);
            break;
          case DUCKDB_TYPE_DOUBLE:
            cell = FormatDouble(static_cast<double*>(data)[r]);
            break;
          case DUCKDB_TYPE_DATE:
            cell = Date::FromDays(static_cast<int32_t*>(data)[r]).ToString();
            break;
          case DUCKDB_TYPE_TIMESTAMP:
          case DUCKDB_TYPE_TIMESTAMP_TZ:
            cell = FormatMicros(static_cast<int64_t*>(data)[r]);
            break;
          case DUCKDB_TYPE_DECIMAL:
            cell = FormatDecimal(data, r, decimals[c].first, decimals[c].second);
            break;
          default:
            return Status::InvalidArgument("column '" + out.columns[c] + "' has type " + out.column_types[c] +
                                           ", which Query() does not render: CAST it to VARCHAR");
        }
      }
    }
    duckdb_destroy_data_chunk(&chunk);
  }
  return out;
}

}  // namespace

// --- Database ------------------------------------------------------------------------------

void Database::Health::Break(const std::string& why) {
  std::lock_guard<std::mutex> lock(mu);
  if (!broken.exchange(true)) reason = why;
}

std::string Database::Health::Reason() const {
  std::lock_guard<std::mutex> lock(mu);
  return reason;
}

Status Database::Health::Check() const {
  if (!broken.load()) return Status::OK();
  return Status::IOError("the DuckDB database must be reopened after a failed write (" + Reason() +
                         "); nothing more is written through it");
}

Result<std::unique_ptr<Database>> Database::Open(const std::string& path,
                                                 const std::map<std::string, std::string>& config,
                                                 const LockWait& wait) {
  const auto start = std::chrono::steady_clock::now();
  auto next_report = start + std::chrono::seconds(5);
  for (;;) {
    duckdb_config cfg = nullptr;
    if (duckdb_create_config(&cfg) != DuckDBSuccess) return Status::Internal("duckdb_create_config failed");
    for (const auto& [k, v] : config) {
      if (duckdb_set_config(cfg, k.c_str(), v.c_str()) != DuckDBSuccess) {
        duckdb_destroy_config(&cfg);
        return Status::InvalidArgument("invalid DuckDB setting " + k + "=" + v);
      }
    }
    std::unique_ptr<Database> db(new Database());
    db->path_ = path;
    char* err = nullptr;
    duckdb_state st = duckdb_open_ext(path.empty() ? nullptr : path.c_str(), &db->db_, cfg, &err);
    duckdb_destroy_config(&cfg);
    if (st == DuckDBSuccess) return db;
    std::string msg = err ? err : "unknown error";
    if (err) duckdb_free(err);
    if (msg.find("Could not set lock on file") == std::string::npos) {
      return Status::IOError("cannot open DuckDB database '" + path + "': " + msg);
    }
    // Held by another process: who, as DuckDB says it ("... (PID 1234) by user ...").
    std::string holder = "another process";
    if (size_t pid = msg.find("(PID "); pid != std::string::npos) {
      holder = "process " + msg.substr(pid + 5, msg.find(')', pid) - pid - 5);
      if (size_t in = msg.rfind(" held in ", pid); in != std::string::npos) {
        holder += " (" + msg.substr(in + 9, pid - in - 10) + ")";
      }
    }
    auto now = std::chrono::steady_clock::now();
    int waited = static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(now - start).count());
    if (now - start >= std::chrono::seconds(wait.timeout_seconds)) {
      return Status::Unavailable("the DuckDB database '" + path + "' is in use by " + holder +
                                 (wait.timeout_seconds > 0
                                      ? "; waited " + std::to_string(waited) + " s for it (the project's lock_timeout)"
                                      : "") +
                                 "; try again when it is done");
    }
    if (wait.on_wait && now >= next_report) {
      wait.on_wait(holder, waited);
      next_report = now + std::chrono::seconds(5);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

Database::~Database() {
  if (db_ != nullptr) duckdb_close(&db_);
}

Result<std::unique_ptr<Connection>> Database::Connect() {
  std::unique_ptr<Connection> conn(new Connection());
  conn->health_ = health_;
  if (duckdb_connect(db_, &conn->conn_) != DuckDBSuccess) {
    return Status::IOError("cannot connect to DuckDB database");
  }
  return conn;
}

std::string Database::LibraryVersion() { return duckdb_library_version(); }

// --- Connection ----------------------------------------------------------------------------

Connection::~Connection() {
  if (conn_ != nullptr) duckdb_disconnect(&conn_);
}

Status Connection::Execute(std::string_view sql) {
  auto r = Query(sql);
  return r.ok() ? Status::OK() : r.status();
}

Result<QueryResult> Connection::Query(std::string_view sql) {
  STRATA_RETURN_IF_ERROR(health_->Check());
  duckdb_result res;
  std::string text(sql);
  if (duckdb_query(conn_, text.c_str(), &res) != DuckDBSuccess) {
    Status s = ErrorFrom(duckdb_result_error(&res), duckdb_result_error_type(&res));
    duckdb_destroy_result(&res);
    if (IsWriteFailure(s.message())) health_->Break(s.message());
    return s;
  }
  auto out = Materialize(&res);
  duckdb_destroy_result(&res);
  return out;
}

Result<std::unique_ptr<PreparedStatement>> Connection::Prepare(std::string_view sql) {
  STRATA_RETURN_IF_ERROR(health_->Check());
  std::unique_ptr<PreparedStatement> ps(new PreparedStatement());
  ps->health_ = health_;
  std::string text(sql);
  if (duckdb_prepare(conn_, text.c_str(), &ps->stmt_) != DuckDBSuccess) {
    const char* e = duckdb_prepare_error(ps->stmt_);
    return Status::InvalidArgument(e ? e : "cannot prepare statement");
  }
  return ps;
}

Result<std::unique_ptr<Appender>> Connection::CreateAppender(const std::string& schema, const std::string& table) {
  std::unique_ptr<Appender> app(new Appender());
  if (duckdb_appender_create(conn_, schema.c_str(), table.c_str(), &app->app_) != DuckDBSuccess) {
    const char* e = duckdb_appender_error(app->app_);
    return Status::InvalidArgument("cannot append to " + schema + "." + table + ": " + (e ? e : "unknown error"));
  }
  return app;
}

void Connection::Interrupt() { duckdb_interrupt(conn_); }

// --- PreparedStatement ---------------------------------------------------------------------

PreparedStatement::~PreparedStatement() {
  if (stmt_ != nullptr) duckdb_destroy_prepare(&stmt_);
}

namespace {
Status BindCheck(duckdb_state st, int index) {
  if (st == DuckDBSuccess) return Status::OK();
  return Status::InvalidArgument("cannot bind parameter " + std::to_string(index));
}
}  // namespace

Status PreparedStatement::Bind(int index, std::string_view value) {
  return BindCheck(duckdb_bind_varchar_length(stmt_, index, value.data(), value.size()), index);
}
Status PreparedStatement::Bind(int index, int64_t value) {
  return BindCheck(duckdb_bind_int64(stmt_, index, value), index);
}
Status PreparedStatement::Bind(int index, double value) {
  return BindCheck(duckdb_bind_double(stmt_, index, value), index);
}
Status PreparedStatement::BindBool(int index, bool value) {
  return BindCheck(duckdb_bind_boolean(stmt_, index, value), index);
}
Status PreparedStatement::BindNull(int index) { return BindCheck(duckdb_bind_null(stmt_, index), index); }

Result<QueryResult> PreparedStatement::Execute() {
  STRATA_RETURN_IF_ERROR(health_->Check());
  duckdb_result res;
  if (duckdb_execute_prepared(stmt_, &res) != DuckDBSuccess) {
    Status s = ErrorFrom(duckdb_result_error(&res), duckdb_result_error_type(&res));
    duckdb_destroy_result(&res);
    if (IsWriteFailure(s.message())) health_->Break(s.message());
    return s;
  }
  auto out = Materialize(&res);
  duckdb_destroy_result(&res);
  return out;
}

// --- Appender ------------------------------------------------------------------------------

Appender::~Appender() {
  if (app_ != nullptr) duckdb_appender_destroy(&app_);
}

Status Appender::Check(int state) {
  if (state == DuckDBSuccess) return Status::OK();
  const char* e = duckdb_appender_error(app_);
  return Status::InvalidArgument(std::string("append failed: ") + (e ? e : "unknown error"));
}

Status Appender::Append(std::string_view v) { return Check(duckdb_append_varchar_length(app_, v.data(), v.size())); }
Status Appender::Append(int64_t v) { return Check(duckdb_append_int64(app_, v)); }
Status Appender::Append(double v) { return Check(duckdb_append_double(app_, v)); }
Status Appender::AppendBool(bool v) { return Check(duckdb_append_bool(app_, v)); }
Status Appender::AppendNull() { return Check(duckdb_append_null(app_)); }
Status Appender::EndRow() { return Check(duckdb_appender_end_row(app_)); }
Status Appender::Close() { return Check(duckdb_appender_close(app_)); }

// --- Quoting -------------------------------------------------------------------------------

std::string QuoteIdent(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string QuoteLiteral(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') out.push_back('\'');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

}  // namespace strata::duck
