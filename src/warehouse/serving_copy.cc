#include "warehouse/serving_copy.h"

#include <cstdio>
#include <filesystem>
#include <string_view>
#include <vector>

#include "core/fault.h"
#include "core/file.h"
#include "db/duckdb.h"

namespace strata::warehouse {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kPrefix = "published-";
constexpr std::string_view kSuffix = ".duckdb";
constexpr const char* kAlias = "strata_serving_copy";

std::string FileName(int64_t version) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%06lld", static_cast<long long>(version));
  return std::string(kPrefix) + buf + std::string(kSuffix);
}

// The version in a copy's file name; 0 when the name is not a copy's.
int64_t VersionOf(std::string_view name) {
  if (name.size() <= kPrefix.size() + kSuffix.size() || name.substr(0, kPrefix.size()) != kPrefix ||
      name.substr(name.size() - kSuffix.size()) != kSuffix) {
    return 0;
  }
  std::string_view digits = name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size());
  int64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9' || v > (int64_t{1} << 50)) return 0;
    v = v * 10 + (c - '0');
  }
  return v;
}

void RemoveWithWal(const std::string& path) {
  std::error_code ec;
  fs::remove(path, ec);
  fs::remove(path + ".wal", ec);
}

// Writes the copy at `tmp` through the connection; the caller removes `tmp` on failure.
Status CopySchema(duck::Connection* conn, const std::string& schema, const std::string& tmp) {
  STRATA_ASSIGN_OR_RETURN(auto db_name, conn->Query("SELECT current_database()"));
  const std::string from_catalog = duck::QuoteIdent(db_name.Scalar().value_or(""));
  STRATA_ASSIGN_OR_RETURN(
      auto tables, conn->Query("SELECT table_name FROM information_schema.tables WHERE table_catalog = " +
                               duck::QuoteLiteral(db_name.Scalar().value_or("")) + " AND table_schema = " +
                               duck::QuoteLiteral(schema) + " AND table_type = 'BASE TABLE' ORDER BY table_name"));
  if (tables.rows.empty()) return Status::NotFound("schema " + schema + " has no tables to serve");
  STRATA_RETURN_IF_ERROR(conn->Execute("ATTACH " + duck::QuoteLiteral(tmp) + " AS " + kAlias));
  auto copy = [&]() -> Status {
    const std::string to_schema = std::string(kAlias) + "." + duck::QuoteIdent(schema);
    STRATA_RETURN_IF_ERROR(conn->Execute("CREATE SCHEMA " + to_schema));
    std::string fingerprints;
    for (const auto& row : tables.rows) {
      const std::string table = duck::QuoteIdent(row[0].value_or(""));
      const std::string from = from_catalog + "." + duck::QuoteIdent(schema) + "." + table;
      STRATA_RETURN_IF_ERROR(conn->Execute("CREATE TABLE " + to_schema + "." + table + " AS SELECT * FROM " + from));
      // hash(t) hashes the whole row; the sum does not depend on the rows' order.
      STRATA_ASSIGN_OR_RETURN(auto fp, conn->Query("SELECT count(*), CAST(coalesce(sum(hash(t)), 0) AS VARCHAR) FROM " +
                                                   to_schema + "." + table + " AS t"));
      fingerprints += std::string(fingerprints.empty() ? "" : ", ") + "(" + duck::QuoteLiteral(*row[0]) + ", " +
                      fp.rows[0][0].value_or("0") + ", " + duck::QuoteLiteral(fp.rows[0][1].value_or("0")) + ")";
    }
    STRATA_RETURN_IF_ERROR(conn->Execute("CREATE TABLE " + to_schema +
                                         "._strata_serving (relation VARCHAR, row_count BIGINT, fingerprint VARCHAR); "
                                         "INSERT INTO " +
                                         to_schema + "._strata_serving VALUES " + fingerprints));
    return Status::OK();
  };
  Status s = copy();
  Status detached = conn->Execute(std::string("DETACH ") + kAlias);  // closes and checkpoints the file
  STRATA_RETURN_IF_ERROR(s);
  STRATA_RETURN_IF_ERROR(detached);
  if (fs::exists(tmp + ".wal")) return Status::IOError("the serving copy " + tmp + " kept a WAL after closing");
  return SyncFile(tmp);
}

}  // namespace

Result<ServingCopy> WriteServingCopy(duck::Connection* conn, const std::string& schema, const std::string& dir) {
  STRATA_RETURN_IF_ERROR(MakeDirs(dir));
  STRATA_ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(JoinPath(dir, "LOCK")));
  // The next version is above every copy in the folder, stray ones included.
  int64_t newest = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    newest = std::max(newest, VersionOf(entry.path().filename().string()));
  }
  if (ec) return Status::IOError("cannot list " + dir + ": " + ec.message());
  STRATA_ASSIGN_OR_RETURN(auto current, CurrentServingCopy(dir));
  ServingCopy out;
  out.version = newest + 1;
  out.file = JoinPath(dir, FileName(out.version));
  const std::string tmp = out.file + ".tmp";
  RemoveWithWal(tmp);
  Status s = CopySchema(conn, schema, tmp);
  if (!s.ok()) {
    RemoveWithWal(tmp);
    return s.WithContext("writing the serving copy of " + schema + " (" + out.file + ")");
  }
  if (std::rename(tmp.c_str(), out.file.c_str()) != 0) {
    RemoveWithWal(tmp);
    return Status::IOError("cannot rename " + tmp + " to " + out.file);
  }
  STRATA_RETURN_IF_ERROR(SyncDir(dir));
  CrashPoint("serving_copy_before_current");
  STRATA_RETURN_IF_ERROR(WriteFileAtomic(JoinPath(dir, "CURRENT"), FileName(out.version) + "\n"));
  // Keep the new copy and the one before it (a reader may be about to switch from it).
  const int64_t keep_from = current ? current->version : out.version;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    int64_t v = VersionOf(name);
    if (v == 0 && name.size() > 4 && name.substr(name.size() - 4) == ".tmp")
      v = VersionOf(name.substr(0, name.size() - 4));
    if (v > 0 && v < keep_from) RemoveWithWal(entry.path().string());
  }
  return out;
}

Result<std::optional<ServingCopy>> CurrentServingCopy(const std::string& dir) {
  const std::string current = JoinPath(dir, "CURRENT");
  std::error_code ec;
  if (!fs::exists(current, ec)) return std::optional<ServingCopy>();
  STRATA_ASSIGN_OR_RETURN(std::string text, ReadFile(current));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  ServingCopy copy;
  copy.version = VersionOf(text);
  if (copy.version == 0) return Status::Corruption(current + " does not name a serving copy: '" + text + "'");
  copy.file = JoinPath(dir, text);
  if (!fs::exists(copy.file, ec)) return Status::Corruption(current + " names " + copy.file + ", which is missing");
  return std::optional<ServingCopy>(copy);
}

}  // namespace strata::warehouse
