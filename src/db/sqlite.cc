#include "db/sqlite.h"

#include <sys/statvfs.h>

#include <cmath>
#include <filesystem>

namespace strata::db {

Status SqliteError(sqlite3* db, int rc, const std::string& path, std::string_view what) {
  const std::string msg = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
  const std::string where = std::string(what) + (path.empty() ? "" : " (" + path + ")");
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Unavailable(where + ": " + msg +
                                 ": the database is locked by another process; gave up waiting for it");
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY: {
      std::string hint;
      struct statvfs fs;
      const std::string dir = std::filesystem::path(path).parent_path().string();
      if (!dir.empty() && ::statvfs(dir.c_str(), &fs) == 0) {
        uint64_t free_bytes = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
        hint = "; " + std::to_string(free_bytes / 1024) + " KiB free on its filesystem";
        if (free_bytes < (uint64_t{16} << 20)) hint += ": the disk is full, free some space and run again";
      }
      return Status::IOError(where + ": " + msg + " (SQLite error " + std::to_string(rc) + ")" + hint);
    }
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::Corruption(where + ": " + msg);
    default:
      return Status::IOError(where + ": " + msg);
  }
}

SqliteDb::~SqliteDb() {
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

SqliteDb& SqliteDb::operator=(SqliteDb&& other) noexcept {
  if (this != &other) {
    if (db_ != nullptr) sqlite3_close_v2(db_);
    db_ = other.db_;
    path_ = std::move(other.path_);
    other.db_ = nullptr;
  }
  return *this;
}

Result<SqliteDb> SqliteDb::Open(const std::string& path, const SqliteOptions& o) {
  int flags = o.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  if (!o.read_only && o.create) flags |= SQLITE_OPEN_CREATE;
  flags |= o.serialized ? SQLITE_OPEN_FULLMUTEX : SQLITE_OPEN_NOMUTEX;
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  SqliteDb db;
  db.db_ = raw;
  db.path_ = path;
  if (rc != SQLITE_OK) {
    if (path.size() >= 512) {  // SQLite's unix VFS refuses longer paths (MAX_PATHNAME)
      return Status::InvalidArgument("cannot open " + path + ": its path is " + std::to_string(path.size()) +
                                     " characters long and SQLite opens files of at most 511");
    }
    if (rc == SQLITE_CANTOPEN && o.read_only) return Status::NotFound("cannot open database '" + path + "'");
    return SqliteError(raw, rc, path, "cannot open database");
  }
  sqlite3_busy_timeout(raw, o.busy_timeout_ms);
  sqlite3_extended_result_codes(raw, 1);
  return db;
}

Result<SqliteDb> SqliteDb::Open(const std::string& path, bool read_only, bool create) {
  SqliteOptions o;
  o.read_only = read_only;
  o.create = create;
  return Open(path, o);
}

Status SqliteDb::Error(std::string_view what) const {
  return SqliteError(db_, db_ != nullptr ? sqlite3_extended_errcode(db_) : SQLITE_NOMEM, path_, what);
}

Status SqliteDb::Exec(const std::string& sql) {
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, path_, "sqlite (in: " + sql.substr(0, 80) + ")");
  return Status::OK();
}

Result<SqliteStmt> SqliteDb::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) !=
      SQLITE_OK) {
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
  const char* file = sqlite3_db_filename(db_, "main");
  return SqliteError(db_, rc, file != nullptr ? file : "",
                     "sqlite (in: " + std::string(sqlite3_sql(stmt_)).substr(0, 80) + ")");
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
