// sql connector: tables of an operational database, SQLite driver (PostgreSQL: pg_source.cc).
//
// Incremental extraction by a cursor column (updated_at) with a tie-breaking key: a row is
// new when (cursor, key) > the committed watermark. With a logical date the extraction stops
// at the end of that day, so the batch for a date holds what changed up to then and a
// backfill of an earlier date after a later one extracts nothing twice.
// Rows go through an in-memory DuckDB table (typed from the declared column types) and land
// as one Parquet file per batch part. Values that do not fit their declared type are
// quarantined with the row's key.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <regex>

#include "core/date.h"
#include "core/file.h"
#include "db/duckdb.h"
#include "db/sqlite.h"
#include "ingest/internal/connectors.h"

namespace strata::ingest::internal {
namespace {

constexpr int64_t kPartRows = 5'000'000;

using TableSettings = SqlTableSpec;

struct SqlSettings {
  std::string source;
  std::string path;
  std::vector<TableSettings> tables;
};

enum class ColType { kBigint, kDouble, kDecimal, kVarchar, kTimestamp, kDate, kBoolean, kBlob };

struct Column {
  std::string name;
  ColType type;
  std::string duck_type;
};

Column MapColumn(const std::string& name, const std::string& declared) {
  std::string d;
  for (char c : declared) d.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  static const std::regex kDecimal(R"((NUMERIC|DECIMAL)\s*\(\s*(\d+)\s*,\s*(\d+)\s*\))");
  std::smatch m;
  if (std::regex_search(d, m, kDecimal)) {
    int p = std::min(38, std::atoi(m[2].str().c_str()));
    int s = std::min(p, std::atoi(m[3].str().c_str()));
    return {name, ColType::kDecimal, "DECIMAL(" + std::to_string(p) + "," + std::to_string(s) + ")"};
  }
  if (d.find("TIMESTAMP") != std::string::npos || d.find("DATETIME") != std::string::npos) {
    return {name, ColType::kTimestamp, "TIMESTAMP"};
  }
  if (d == "DATE") return {name, ColType::kDate, "DATE"};
  if (d.find("BOOL") != std::string::npos) return {name, ColType::kBoolean, "BOOLEAN"};
  if (d.find("INT") != std::string::npos) return {name, ColType::kBigint, "BIGINT"};
  if (d.find("CHAR") != std::string::npos || d.find("CLOB") != std::string::npos ||
      d.find("TEXT") != std::string::npos || d.empty()) {
    return {name, ColType::kVarchar, "VARCHAR"};
  }
  if (d.find("BLOB") != std::string::npos) return {name, ColType::kBlob, "BLOB"};
  if (d.find("REAL") != std::string::npos || d.find("FLOA") != std::string::npos ||
      d.find("DOUB") != std::string::npos || d.find("NUMERIC") != std::string::npos ||
      d.find("DECIMAL") != std::string::npos) {
    return {name, ColType::kDouble, "DOUBLE"};
  }
  return {name, ColType::kVarchar, "VARCHAR"};
}

std::string SqliteQuote(const std::string& ident) {
  std::string out = "\"";
  for (char c : ident) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  return out + "\"";
}

bool IsNumber(std::string_view s, bool integer) {
  if (s.empty()) return false;
  std::string tmp(s);
  char* end = nullptr;
  if (integer) {
    errno = 0;
    std::strtoll(tmp.c_str(), &end, 10);
    return *end == '\0' && errno == 0;
  }
  std::strtod(tmp.c_str(), &end);
  return *end == '\0';
}

using db::SqliteDb;
using db::SqliteStmt;

class SqlConnector : public Connector {
 public:
  explicit SqlConnector(SqlSettings s) : s_(std::move(s)) {}

  std::vector<std::string> Tables() const override {
    std::vector<std::string> out;
    for (const auto& t : s_.tables) out.push_back(t.name);
    return out;
  }

  Status Ingest(lake::Lake* lake, const IngestOptions& options, std::vector<TableResult>* results) override {
    if (::access(s_.path.c_str(), R_OK) != 0) {
      return Status::Unavailable("cannot open SQLite database '" + s_.path + "': no such readable file");
    }
    auto db = SqliteDb::Open(s_.path, /*read_only=*/true, /*create=*/false);
    if (!db.ok()) return Status::Unavailable(db.status().message());
    for (const auto& t : s_.tables) {
      if (!options.Wants(t.name)) continue;
      // One read transaction per table: a consistent snapshot of it.
      STRATA_RETURN_IF_ERROR(db->Exec("BEGIN"));
      Status s = IngestTable(&*db, lake, t, options, results);
      (void)db->Exec("COMMIT");
      STRATA_RETURN_IF_ERROR(s.WithContext("table '" + t.name + "'"));
    }
    return Status::OK();
  }

 private:
  Result<std::vector<Column>> Describe(SqliteDb* db, const std::string& table) {
    STRATA_ASSIGN_OR_RETURN(SqliteStmt st, db->Prepare("PRAGMA table_info(" + SqliteQuote(table) + ")"));
    std::vector<Column> cols;
    for (;;) {
      STRATA_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      cols.push_back(MapColumn(std::string(st.ColumnText(1)), std::string(st.ColumnText(2))));
    }
    if (cols.empty()) return Status::NotFound("no table '" + table + "' in '" + s_.path + "'");
    return cols;
  }

  Status IngestTable(SqliteDb* db, lake::Lake* lake, const TableSettings& t, const IngestOptions& options,
                     std::vector<TableResult>* results) {
    auto start = std::chrono::steady_clock::now();
    TableResult result;
    result.source = s_.source;
    result.table = t.name;
    STRATA_ASSIGN_OR_RETURN(std::vector<Column> cols, Describe(db, t.name));
    auto find_col = [&](const std::string& name) -> const Column* {
      for (const auto& c : cols) {
        if (c.name == name) return &c;
      }
      return nullptr;
    };
    if (find_col(t.key) == nullptr) return Status::InvalidArgument("key column '" + t.key + "' does not exist");
    if (!t.cursor.empty() && find_col(t.cursor) == nullptr) {
      return Status::InvalidArgument("cursor column '" + t.cursor + "' does not exist");
    }
    const bool full = t.full_refresh || options.full_refresh || t.cursor.empty();

    STRATA_ASSIGN_OR_RETURN(auto latest, lake->Latest(s_.source, t.name));
    nlohmann::json watermark = latest ? latest->state.value("watermark", nlohmann::json()) : nlohmann::json();
    // Rows already quarantined for an invalid cursor: key -> cursor value.
    nlohmann::json invalid_cursors =
        latest ? latest->state.value("invalid_cursors", nlohmann::json::object()) : nlohmann::json::object();

    std::string sql = "SELECT ";
    for (size_t i = 0; i < cols.size(); ++i) sql += (i ? ", " : "") + SqliteQuote(cols[i].name);
    sql += " FROM " + SqliteQuote(t.name);
    std::vector<std::string> where;
    std::vector<std::string> params;
    const std::string qc = t.cursor.empty() ? "" : SqliteQuote(t.cursor);
    const std::string qk = SqliteQuote(t.key);
    bool has_watermark = !full && watermark.is_object() && watermark.contains("cursor");
    if (has_watermark) {
      where.push_back("(" + qc + " > ?1 OR (" + qc + " = ?1 AND " + qk + " > ?2))");
    }
    std::string upper;
    if (!t.cursor.empty() && !options.date.empty()) {
      STRATA_ASSIGN_OR_RETURN(Date d, Date::Parse(options.date));
      upper = FormatTimestamp(options.until != 0 ? options.until : (d + 1).StartEpochSeconds());
      where.push_back(qc + " < ?3");
    }
    std::string bounded;
    for (size_t i = 0; i < where.size(); ++i) bounded += (i ? " AND " : "") + where[i];
    if (!t.cursor.empty()) {
      // Rows whose cursor is not a timestamp would sort outside every window and never be
      // seen: they are always selected, and quarantined (once per value, see below).
      std::string invalid = qc + " IS NULL OR " + qc + " NOT GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*'";
      sql += " WHERE " + (bounded.empty() ? invalid : "(" + bounded + ") OR " + invalid);
    } else if (!bounded.empty()) {
      sql += " WHERE " + bounded;
    }
    sql += " ORDER BY " + (t.cursor.empty() ? qk : qc + ", " + qk);

    STRATA_ASSIGN_OR_RETURN(SqliteStmt st, db->Prepare(sql));
    if (has_watermark) {
      st.BindText(1, watermark["cursor"].get<std::string>());
      const nlohmann::json& k = watermark["key"];
      if (k.is_number_integer()) {
        st.BindInt(2, k.get<int64_t>());
      } else {
        st.BindText(2, k.is_string() ? k.get<std::string>() : k.dump());
      }
    }
    if (!upper.empty()) st.BindText(3, upper);

    // Stage the rows in DuckDB, typed.
    STRATA_ASSIGN_OR_RETURN(auto duck, duck::Database::Open("", {{"threads", "1"}}));
    STRATA_ASSIGN_OR_RETURN(auto conn, duck->Connect());
    std::string create = "CREATE TABLE stage (";
    for (size_t i = 0; i < cols.size(); ++i) {
      create += (i ? ", " : "") + duck::QuoteIdent(cols[i].name) + " " + cols[i].duck_type;
    }
    STRATA_RETURN_IF_ERROR(conn->Execute(create + ")"));

    std::unique_ptr<lake::BatchWriter> batch;
    std::unique_ptr<duck::Appender> app;
    STRATA_ASSIGN_OR_RETURN(app, conn->CreateAppender("main", "stage"));
    int64_t staged = 0;
    nlohmann::json new_watermark = watermark;
    std::string last_cursor;
    nlohmann::json last_key;

    auto flush_part = [&]() -> Status {
      if (staged == 0) return Status::OK();
      STRATA_RETURN_IF_ERROR(app->Close());
      std::string key;
      STRATA_ASSIGN_OR_RETURN(auto writer, batch->NewPart("parquet", &key));
      STRATA_RETURN_IF_ERROR(conn->Execute("COPY stage TO " + duck::QuoteLiteral(writer->staging_path()) +
                                           " (FORMAT parquet, COMPRESSION zstd, USE_TMP_FILE false)"));
      STRATA_ASSIGN_OR_RETURN(lake::ObjectInfo info, writer->Commit());
      batch->AddFile({key, "parquet", staged, info.size, info.sha256});
      result.bytes += info.size;
      ++result.files;
      CrashPoint("sql_part_done");
      STRATA_RETURN_IF_ERROR(CheckCancelled(options, "after a part of " + result.table));
      STRATA_RETURN_IF_ERROR(conn->Execute("DELETE FROM stage"));
      STRATA_ASSIGN_OR_RETURN(app, conn->CreateAppender("main", "stage"));
      staged = 0;
      return Status::OK();
    };

    const int ncols = static_cast<int>(cols.size());
    const int key_index = static_cast<int>(find_col(t.key) - cols.data());
    const int cursor_index = t.cursor.empty() ? -1 : static_cast<int>(find_col(t.cursor) - cols.data());
    std::string reason;
    auto begin_batch = [&]() -> Status {
      if (batch) return Status::OK();
      STRATA_ASSIGN_OR_RETURN(batch, lake->BeginBatch(s_.source, t.name, options.date));
      return Status::OK();
    };
    for (;;) {
      STRATA_ASSIGN_OR_RETURN(bool has_row, st.Step());
      if (!has_row) break;
      nlohmann::json row_key;
      if (st.ColumnType(key_index) == SQLITE_INTEGER) {
        row_key = st.ColumnInt(key_index);
      } else {
        row_key = std::string(st.ColumnText(key_index));
      }
      if (cursor_index >= 0) {
        std::string cursor(st.ColumnText(cursor_index));
        if (!ParseTimestamp(cursor).ok()) {
          std::string k = row_key.is_string() ? row_key.get<std::string>() : row_key.dump();
          nlohmann::json seen = invalid_cursors.value(k, nlohmann::json());
          if (seen.is_string() && seen.get<std::string>() == cursor && !full) continue;  // reported before
          STRATA_RETURN_IF_ERROR(begin_batch());
          ++result.received;
          invalid_cursors[k] = cursor;
          batch->Quarantine({{"table", t.name}, {t.key, row_key}},
                            "column '" + t.cursor + "': value '" + cursor +
                                "' is not a valid timestamp, so the row cannot be placed after the watermark",
                            RowAsJson(st, cols));
          continue;
        }
        last_cursor = cursor;
        last_key = row_key;
      }
      STRATA_RETURN_IF_ERROR(begin_batch());
      ++result.received;
      reason = CheckRow(st, cols);
      if (!reason.empty()) {
        batch->Quarantine({{"table", t.name}, {t.key, row_key}}, reason, RowAsJson(st, cols));
        continue;
      }
      for (int i = 0; i < ncols; ++i) {
        switch (st.ColumnType(i)) {
          case SQLITE_NULL:
            STRATA_RETURN_IF_ERROR(app->AppendNull());
            break;
          case SQLITE_INTEGER:
            if (cols[i].type == ColType::kVarchar) {
              STRATA_RETURN_IF_ERROR(app->Append(st.ColumnText(i)));
            } else {
              STRATA_RETURN_IF_ERROR(app->Append(st.ColumnInt(i)));
            }
            break;
          case SQLITE_FLOAT:
            if (cols[i].type == ColType::kVarchar) {
              STRATA_RETURN_IF_ERROR(app->Append(st.ColumnText(i)));
            } else {
              STRATA_RETURN_IF_ERROR(app->Append(st.ColumnDouble(i)));
            }
            break;
          default:
            STRATA_RETURN_IF_ERROR(app->Append(st.ColumnBlob(i)));
        }
      }
      STRATA_RETURN_IF_ERROR(app->EndRow());
      ++staged;
      ++result.landed;
      if (staged >= kPartRows) STRATA_RETURN_IF_ERROR(flush_part());
      if (options.on_progress && (result.received & 0xFFFF) == 0) options.on_progress(t.name, result.received);
    }
    if (!batch) {  // nothing new
      result.seconds = SecondsSince(start);
      results->push_back(std::move(result));
      return Status::OK();
    }
    STRATA_RETURN_IF_ERROR(flush_part());
    (void)app->Close();
    if (cursor_index >= 0 && !last_cursor.empty()) new_watermark = {{"cursor", last_cursor}, {"key", last_key}};
    std::vector<lake::ColumnSchema> schema;
    for (const auto& c : cols) schema.push_back({c.name, c.duck_type});
    STRATA_RETURN_IF_ERROR(CommitSqlBatch(batch.get(), std::move(schema), "sqlite", full, watermark, new_watermark,
                                          invalid_cursors, upper, start, &result));
    results->push_back(std::move(result));
    return Status::OK();
  }

  // "" if every value fits its column's declared type, else why not.
  static std::string CheckRow(const SqliteStmt& st, const std::vector<Column>& cols) {
    for (int i = 0; i < static_cast<int>(cols.size()); ++i) {
      int type = st.ColumnType(i);
      if (type == SQLITE_NULL) continue;
      const Column& c = cols[i];
      auto text = [&] { return std::string(st.ColumnText(i)); };
      auto bad = [&](const char* what) {
        return "column '" + c.name + "': value '" + text() + "' is not a valid " + what;
      };
      switch (c.type) {
        case ColType::kBigint:
          if (type == SQLITE_FLOAT || (type == SQLITE_TEXT && !IsNumber(text(), true)) || type == SQLITE_BLOB) {
            return bad("integer");
          }
          break;
        case ColType::kDouble:
        case ColType::kDecimal:
          if ((type == SQLITE_TEXT && !IsNumber(text(), false)) || type == SQLITE_BLOB) return bad("number");
          break;
        case ColType::kTimestamp:
          if (type != SQLITE_TEXT || !ParseTimestamp(text()).ok()) return bad("timestamp");
          break;
        case ColType::kDate:
          if (type != SQLITE_TEXT || !Date::Parse(text()).ok()) return bad("date");
          break;
        case ColType::kBoolean:
          if (type != SQLITE_INTEGER) return bad("boolean");
          break;
        case ColType::kVarchar:
        case ColType::kBlob:
          break;
      }
    }
    return "";
  }

  static std::string RowAsJson(const SqliteStmt& st, const std::vector<Column>& cols) {
    nlohmann::json j = nlohmann::json::object();
    for (int i = 0; i < static_cast<int>(cols.size()); ++i) {
      switch (st.ColumnType(i)) {
        case SQLITE_NULL:
          j[cols[i].name] = nullptr;
          break;
        case SQLITE_INTEGER:
          j[cols[i].name] = st.ColumnInt(i);
          break;
        case SQLITE_FLOAT:
          j[cols[i].name] = st.ColumnDouble(i);
          break;
        default:
          j[cols[i].name] = std::string(st.ColumnText(i));
      }
    }
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }

  SqlSettings s_;
};

}  // namespace

Status CommitSqlBatch(lake::BatchWriter* batch, std::vector<lake::ColumnSchema> schema, const std::string& driver,
                      bool full, const nlohmann::json& from, const nlohmann::json& watermark,
                      const nlohmann::json& invalid_cursors, const std::string& until,
                      std::chrono::steady_clock::time_point start, TableResult* result) {
  result->quarantined = batch->quarantined();
  lake::Manifest m;
  m.schema = std::move(schema);
  m.records_received = result->received;
  m.records_landed = result->landed;
  m.state = {{"watermark", watermark}, {"invalid_cursors", invalid_cursors}};
  m.details = {{"connector", "sql"},
               {"driver", driver},
               {"mode", full ? "full" : "incremental"},
               {"from", from},
               {"until", until.empty() ? nlohmann::json() : nlohmann::json(until)}};
  STRATA_RETURN_IF_ERROR(batch->Commit(std::move(m)).status());
  result->batch_id = batch->batch_id();
  result->seconds = SecondsSince(start);
  return Status::OK();
}

Result<std::vector<SqlTableSpec>> ParseSqlTables(const ConfigNode& n) {
  STRATA_ASSIGN_OR_RETURN(auto tables, n["tables"].Entries());
  if (tables.empty()) return n.Error("a sql source needs at least one entry under 'tables'");
  std::vector<SqlTableSpec> out;
  for (auto& [name, t] : tables) {
    SqlTableSpec ts;
    ts.name = name;
    if (!t.IsNull()) STRATA_RETURN_IF_ERROR(t.CheckKeys({"key", "cursor", "mode"}));
    STRATA_ASSIGN_OR_RETURN(ts.key, t.RequiredString("key"));
    STRATA_ASSIGN_OR_RETURN(ts.cursor, t.String("cursor", ""));
    STRATA_ASSIGN_OR_RETURN(std::string mode, t.String("mode", ts.cursor.empty() ? "full" : "incremental"));
    if (mode != "incremental" && mode != "full") {
      return t["mode"].Error("expected 'incremental' or 'full', got '" + mode + "'");
    }
    if (mode == "incremental" && ts.cursor.empty()) {
      return t.Error("incremental mode needs a 'cursor' column (e.g. updated_at)");
    }
    ts.full_refresh = mode == "full";
    out.push_back(std::move(ts));
  }
  return out;
}

Result<std::unique_ptr<Connector>> CreateSqlConnector(const Project& project, const SourceConfig& source) {
  const ConfigNode& n = source.node;
  STRATA_ASSIGN_OR_RETURN(std::string driver, n.String("driver", "sqlite"));
  if (driver == "postgres") return CreatePostgresSqlConnector(source);
  if (driver != "sqlite") {
    return n["driver"].Error("unsupported driver '" + driver + "' (this build supports: sqlite, postgres)");
  }
  STRATA_RETURN_IF_ERROR(n.CheckKeys({"type", "driver", "path", "tables"}));
  SqlSettings s;
  s.source = source.name;
  STRATA_ASSIGN_OR_RETURN(std::string path, n.RequiredString("path"));
  s.path = project.Resolve(path);
  STRATA_ASSIGN_OR_RETURN(s.tables, ParseSqlTables(n));
  return std::unique_ptr<Connector>(new SqlConnector(std::move(s)));
}

}  // namespace strata::ingest::internal
