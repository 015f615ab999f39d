// A small RAII layer over SQLite's C API: the one place Strata opens SQLite databases (the
// simulator's shop.db, the sql connector's sources, the run history).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace strata::db {

class SqliteStmt;

struct SqliteOptions {
  bool read_only = false;
  bool create = true;           // with !read_only: create the file if missing
  int busy_timeout_ms = 10000;  // how long a statement waits for another process's lock
  bool serialized = false;      // usable from several threads (SQLite's serialized mode)
};

// What an SQLite failure means (used by every error below): another process holding the
// database past the busy timeout is kUnavailable (retry later); a full disk, an I/O error or
// a file that cannot be opened is kIOError, with the free space left; a damaged file is
// kCorruption; anything else kIOError. Messages name the file.
Status SqliteError(sqlite3* db, int rc, const std::string& path, std::string_view what);

// An open database connection; closed on destruction.
class SqliteDb {
 public:
  SqliteDb() = default;
  ~SqliteDb();
  SqliteDb(SqliteDb&& other) noexcept : db_(other.db_), path_(std::move(other.path_)) { other.db_ = nullptr; }
  SqliteDb& operator=(SqliteDb&& other) noexcept;
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  static Result<SqliteDb> Open(const std::string& path, const SqliteOptions& options);
  // Opens `path`: read-write (creating it if `create`), or read-only.
  static Result<SqliteDb> Open(const std::string& path, bool read_only, bool create);

  // Runs one or more statements without results.
  Status Exec(const std::string& sql);
  Result<SqliteStmt> Prepare(std::string_view sql);
  // The first column of the first row of `sql` as an integer (0 if no row).
  Result<int64_t> QueryInt(const std::string& sql);

  sqlite3* get() const { return db_; }
  const std::string& path() const { return path_; }
  // The last failure on this connection (SqliteError), "<what>: <sqlite message>".
  Status Error(std::string_view what) const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

// A prepared statement; finalized on destruction. Bind indexes start at 1, columns at 0.
class SqliteStmt {
 public:
  SqliteStmt() = default;
  ~SqliteStmt();
  SqliteStmt(SqliteStmt&& other) noexcept : stmt_(other.stmt_), db_(other.db_) { other.stmt_ = nullptr; }
  SqliteStmt& operator=(SqliteStmt&& other) noexcept;
  SqliteStmt(const SqliteStmt&) = delete;
  SqliteStmt& operator=(const SqliteStmt&) = delete;

  void BindInt(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void BindDouble(int i, double v) { sqlite3_bind_double(stmt_, i, v); }
  void BindNull(int i) { sqlite3_bind_null(stmt_, i); }
  // The text is copied (SQLITE_TRANSIENT).
  void BindText(int i, std::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  // Binds NULL when `v` is empty.
  void BindTextOrNull(int i, std::string_view v) {
    if (v.empty())
      BindNull(i);
    else
      BindText(i, v);
  }
  // Money: cents as a NUMERIC(12,2) value.
  void BindCents(int i, int64_t cents) { BindDouble(i, static_cast<double>(cents) / 100.0); }

  // Steps once: true if a row is available, false when done.
  Result<bool> Step();
  // Steps a statement without results to completion and resets it for reuse.
  Status Run();
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  int64_t ColumnInt(int i) const { return sqlite3_column_int64(stmt_, i); }
  double ColumnDouble(int i) const { return sqlite3_column_double(stmt_, i); }
  bool ColumnIsNull(int i) const { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }
  int ColumnType(int i) const { return sqlite3_column_type(stmt_, i); }  // SQLITE_INTEGER, ...
  int ColumnCount() const { return sqlite3_column_count(stmt_); }
  std::string_view ColumnText(int i) const {
    const unsigned char* p = sqlite3_column_text(stmt_, i);
    if (p == nullptr) return {};
    return {reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt_, i))};
  }
  // A BLOB (or any value) as its bytes.
  std::string_view ColumnBlob(int i) const {
    const void* p = sqlite3_column_blob(stmt_, i);
    if (p == nullptr) return {};
    return {static_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt_, i))};
  }
  // A money column as cents (rounded).
  int64_t ColumnCents(int i) const;

 private:
  friend class SqliteDb;
  SqliteStmt(sqlite3_stmt* stmt, sqlite3* db) : stmt_(stmt), db_(db) {}
  sqlite3_stmt* stmt_ = nullptr;
  sqlite3* db_ = nullptr;
};

}  // namespace strata::db
