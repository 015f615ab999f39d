#include "db/sqlite.h"

#include <cmath>

namespace strata::db {

SqliteDb::~SqliteDb() {
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

SqliteDb& SqliteDb::operator=(SqliteDb&& other) noexcept {
  if (this != &other) {
    if (db_ != nullptr) sqlite3_close_v2(db_);
    db_ = other.db_;
    other.db_ = nullptr;
  }
  return *this;
}

Result<SqliteDb> SqliteDb::Open(const std::string& path, bool read_only, bool create) {
  int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  if (!read_only && create) flags |= SQLITE_OPEN_CREATE;
  flags |= SQLITE_OPEN_NOMUTEX;
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  SqliteDb db;
  db.db_ = raw;
  if (rc != SQLITE_OK) {
    if (rc == SQLITE_CANTOPEN) return Status::NotFound("cannot open database '" + path + "'");
    return db.Error("cannot open database '" + path + "'");
  }
  sqlite3_busy_timeout(raw, 10000);
  sqlite3_extended_result_codes(raw, 1);
  return db;
}

Status SqliteDb::Error(std::string_view what) const {
  return Status::IOError(std::string(what) + ": " +
                         (db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory"));
}

Status SqliteDb::Exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err != nullptr ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    return Status::IOError("sqlite: " + msg + " (in: " + sql.substr(0, 80) + ")");
  }
  return Status::OK();
}

Result<SqliteStmt> SqliteDb::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &stmt, nullptr) != SQLITE_OK) {
    return Error("cannot prepare '" + std::string(sql.substr(0, 80)) + "'");
  }
  return SqliteStmt(stmt, db_);
}

Result<int64_t> SqliteDb::QueryInt(const std::string& sql) {
  STRATA_ASSIGN_OR_RETURN(SqliteStmt stmt, Prepare(sql));
  STRATA_ASSIGN_OR_RETURN(bool row, stmt.Step());
  return row ? stmt.ColumnInt(0) : 0;
}

SqliteStmt::~SqliteStmt() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

SqliteStmt& SqliteStmt::operator=(SqliteStmt&& other) noexcept {
  if (this != &other) {
    if (stmt_ != nullptr) sqlite3_finalize(stmt_);
    stmt_ = other.stmt_;
    db_ = other.db_;
    other.stmt_ = nullptr;
  }
  return *this;
}

Result<bool> SqliteStmt::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return Status::IOError(std::string("sqlite: ") + sqlite3_errmsg(db_) +
                         " (in: " + std::string(sqlite3_sql(stmt_)).substr(0, 80) + ")");
}

Status SqliteStmt::Run() {
  Result<bool> r = Step();
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  if (!r.ok()) return r.status();
  return Status::OK();
}

int64_t SqliteStmt::ColumnCents(int i) const {
  if (sqlite3_column_type(stmt_, i) == SQLITE_INTEGER) return ColumnInt(i) * 100;
  return std::llround(ColumnDouble(i) * 100.0);
}

}  // namespace strata::db
