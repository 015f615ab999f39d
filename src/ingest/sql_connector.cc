// sql connector: tables of an operational database, SQLite driver (PostgreSQL: sql_postgres_driver.cc).
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

// The index of the column named `name` in `cols`, -1 if there is none.
int ColumnIndex(const std::vector<Column>& cols, const std::string& name) {
  for (size_t i = 0; i < cols.size(); ++i) {
    if (cols[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

// "" if every value fits its column's declared type, else why not.
std::string CheckRow(const SqliteStmt& st, const std::vector<Column>& cols) {
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

std::string RowAsJson(const SqliteStmt& st, const std::vector<Column>& cols) {
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

// Appends the current row to the staging table, each value as its SQLite storage class holds
// it (DuckDB converts to the column's type; a number in a text column is kept as its text).
Status AppendRow(const SqliteStmt& st, const std::vector<Column>& cols, duck::Appender* app) {
  for (int i = 0; i < static_cast<int>(cols.size()); ++i) {
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
  return app->EndRow();
}

// One table's extract, in the order Run takes the steps: plan the window from the committed
// state, select the rows in (cursor, key) order, stage them in DuckDB and write a Parquet part
// every kPartRows rows (quarantining the rows that cannot land), then commit the batch with
// the new watermark. The batch is begun by the first row that lands or is quarantined.
class TableExtract {
 public:
  TableExtract(const SqlSettings& s, lake::Lake* lake, const TableSettings& t, const IngestOptions& options)
      : start_(std::chrono::steady_clock::now()), s_(s), lake_(lake), t_(t), options_(options) {
    result_.source = s_.source;
    result_.table = t_.name;
  }

  Status Run(SqliteDb* db, std::vector<TableResult>* results) {
    STRATA_RETURN_IF_ERROR(Plan(db));
    STRATA_ASSIGN_OR_RETURN(SqliteStmt st, PrepareSelect(db));
    STRATA_RETURN_IF_ERROR(OpenStage());
    STRATA_RETURN_IF_ERROR(ExtractRows(&st));
    if (!batch_) {  // nothing new
      result_.seconds = SecondsSince(start_);
      results->push_back(std::move(result_));
      return Status::OK();
    }
    STRATA_RETURN_IF_ERROR(FlushPart());
    (void)app_->Close();
    STRATA_RETURN_IF_ERROR(CommitBatch());
    results->push_back(std::move(result_));
    return Status::OK();
  }

 private:
  // The columns, the committed state (watermark, rows quarantined for an invalid cursor) and
  // the window's upper bound.
  Status Plan(SqliteDb* db) {
    STRATA_ASSIGN_OR_RETURN(cols_, Describe(db));
    key_index_ = ColumnIndex(cols_, t_.key);
    if (key_index_ < 0) return Status::InvalidArgument("key column '" + t_.key + "' does not exist");
    cursor_index_ = t_.cursor.empty() ? -1 : ColumnIndex(cols_, t_.cursor);
    if (!t_.cursor.empty() && cursor_index_ < 0) {
      return Status::InvalidArgument("cursor column '" + t_.cursor + "' does not exist");
    }
    full_ = t_.full_refresh || options_.full_refresh || t_.cursor.empty();

    STRATA_ASSIGN_OR_RETURN(auto latest, lake_->Latest(s_.source, t_.name));
    watermark_ = latest ? latest->state.value("watermark", nlohmann::json()) : nlohmann::json();
    // Rows already quarantined for an invalid cursor: key -> cursor value.
    invalid_cursors_ =
        latest ? latest->state.value("invalid_cursors", nlohmann::json::object()) : nlohmann::json::object();
    has_watermark_ = !full_ && watermark_.is_object() && watermark_.contains("cursor");
    if (!t_.cursor.empty() && !options_.date.empty()) {
      STRATA_ASSIGN_OR_RETURN(Date d, Date::Parse(options_.date));
      upper_ = FormatTimestamp(options_.until != 0 ? options_.until : (d + 1).StartEpochSeconds());
    }
    return Status::OK();
  }

  Result<std::vector<Column>> Describe(SqliteDb* db) {
    STRATA_ASSIGN_OR_RETURN(SqliteStmt st, db->Prepare("PRAGMA table_info(" + SqliteQuote(t_.name) + ")"));
    std::vector<Column> cols;
    for (;;) {
      STRATA_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      cols.push_back(MapColumn(std::string(st.ColumnText(1)), std::string(st.ColumnText(2))));
    }
    if (cols.empty()) return Status::NotFound("no table '" + t_.name + "' in '" + s_.path + "'");
    return cols;
  }

  // The rows after the watermark (?1 cursor, ?2 key) and before the upper bound (?3), in
  // (cursor, key) order.
  std::string SelectSql() const {
    std::string sql = "SELECT ";
    for (size_t i = 0; i < cols_.size(); ++i) sql += (i ? ", " : "") + SqliteQuote(cols_[i].name);
    sql += " FROM " + SqliteQuote(t_.name);
    std::vector<std::string> where;
    const std::string qc = t_.cursor.empty() ? "" : SqliteQuote(t_.cursor);
    const std::string qk = SqliteQuote(t_.key);
    if (has_watermark_) where.push_back("(" + qc + " > ?1 OR (" + qc + " = ?1 AND " + qk + " > ?2))");
    if (!upper_.empty()) where.push_back(qc + " < ?3");
    std::string bounded;
    for (size_t i = 0; i < where.size(); ++i) bounded += (i ? " AND " : "") + where[i];
    if (!t_.cursor.empty()) {
      // Rows whose cursor is not a timestamp would sort outside every window and never be
      // seen: they are always selected, and quarantined (once per value, see ExtractRows).
      std::string invalid = qc + " IS NULL OR " + qc + " NOT GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*'";
      sql += " WHERE " + (bounded.empty() ? invalid : "(" + bounded + ") OR " + invalid);
    } else if (!bounded.empty()) {
      sql += " WHERE " + bounded;
    }
    return sql + " ORDER BY " + (t_.cursor.empty() ? qk : qc + ", " + qk);
  }

  // The select, bound to the watermark and the upper bound. Not const: a committed watermark
  // without a "key" gets a null one here (json's const operator[] must not see a missing key).
  Result<SqliteStmt> PrepareSelect(SqliteDb* db) {
    STRATA_ASSIGN_OR_RETURN(SqliteStmt st, db->Prepare(SelectSql()));
    if (has_watermark_) {
      st.BindText(1, watermark_["cursor"].get<std::string>());
      const nlohmann::json& k = watermark_["key"];
      if (k.is_number_integer()) {
        st.BindInt(2, k.get<int64_t>());
      } else {
        st.BindText(2, k.is_string() ? k.get<std::string>() : k.dump());
      }
    }
    if (!upper_.empty()) st.BindText(3, upper_);
    return st;
  }

  // Stage the rows in DuckDB, typed.
  Status OpenStage() {
    STRATA_ASSIGN_OR_RETURN(duck_, duck::Database::Open("", {{"threads", "1"}}));
    STRATA_ASSIGN_OR_RETURN(conn_, duck_->Connect());
    std::string create = "CREATE TABLE stage (";
    for (size_t i = 0; i < cols_.size(); ++i) {
      create += (i ? ", " : "") + duck::QuoteIdent(cols_[i].name) + " " + cols_[i].duck_type;
    }
    STRATA_RETURN_IF_ERROR(conn_->Execute(create + ")"));
    STRATA_ASSIGN_OR_RETURN(app_, conn_->CreateAppender("main", "stage"));
    return Status::OK();
  }

  Status ExtractRows(SqliteStmt* st) {
    for (;;) {
      STRATA_ASSIGN_OR_RETURN(bool has_row, st->Step());
      if (!has_row) break;
      nlohmann::json row_key;
      if (st->ColumnType(key_index_) == SQLITE_INTEGER) {
        row_key = st->ColumnInt(key_index_);
      } else {
        row_key = std::string(st->ColumnText(key_index_));
      }
      if (cursor_index_ >= 0) {
        std::string cursor(st->ColumnText(cursor_index_));
        if (!ParseTimestamp(cursor).ok()) {
          STRATA_RETURN_IF_ERROR(QuarantineInvalidCursor(*st, row_key, cursor));
          continue;
        }
        last_cursor_ = cursor;
        last_key_ = row_key;
      }
      STRATA_RETURN_IF_ERROR(BeginBatch());
      ++result_.received;
      std::string reason = CheckRow(*st, cols_);
      if (!reason.empty()) {
        batch_->Quarantine({{"table", t_.name}, {t_.key, row_key}}, reason, RowAsJson(*st, cols_));
        continue;
      }
      STRATA_RETURN_IF_ERROR(AppendRow(*st, cols_, app_.get()));
      ++staged_;
      ++result_.landed;
      if (staged_ >= kPartRows) STRATA_RETURN_IF_ERROR(FlushPart());
      if (options_.on_progress && (result_.received & 0xFFFF) == 0) options_.on_progress(t_.name, result_.received);
    }
    return Status::OK();
  }

  // A row whose cursor is not a timestamp: quarantined once per key and cursor value (a full
  // extract reports it again).
  Status QuarantineInvalidCursor(const SqliteStmt& st, const nlohmann::json& row_key, const std::string& cursor) {
    std::string k = row_key.is_string() ? row_key.get<std::string>() : row_key.dump();
    nlohmann::json seen = invalid_cursors_.value(k, nlohmann::json());
    if (seen.is_string() && seen.get<std::string>() == cursor && !full_) return Status::OK();  // reported before
    STRATA_RETURN_IF_ERROR(BeginBatch());
    ++result_.received;
    invalid_cursors_[k] = cursor;
    batch_->Quarantine({{"table", t_.name}, {t_.key, row_key}},
                       "column '" + t_.cursor + "': value '" + cursor +
                           "' is not a valid timestamp, so the row cannot be placed after the watermark",
                       RowAsJson(st, cols_));
    return Status::OK();
  }

  Status BeginBatch() {
    if (batch_) return Status::OK();
    STRATA_ASSIGN_OR_RETURN(batch_, lake_->BeginBatch(s_.source, t_.name, options_.date));
    return Status::OK();
  }

  // The staged rows become one Parquet part of the batch; the stage starts again empty.
  Status FlushPart() {
    if (staged_ == 0) return Status::OK();
    STRATA_RETURN_IF_ERROR(app_->Close());
    std::string key;
    STRATA_ASSIGN_OR_RETURN(auto writer, batch_->NewPart("parquet", &key));
    STRATA_RETURN_IF_ERROR(conn_->Execute("COPY stage TO " + duck::QuoteLiteral(writer->staging_path()) +
                                          " (FORMAT parquet, COMPRESSION zstd, USE_TMP_FILE false)"));
    STRATA_ASSIGN_OR_RETURN(lake::ObjectInfo info, writer->Commit());
    batch_->AddFile({key, "parquet", staged_, info.size, info.sha256});
    result_.bytes += info.size;
    ++result_.files;
    CrashPoint("sql_part_done");
    STRATA_RETURN_IF_ERROR(CheckCancelled(options_, "after a part of " + result_.table));
    STRATA_RETURN_IF_ERROR(conn_->Execute("DELETE FROM stage"));
    STRATA_ASSIGN_OR_RETURN(app_, conn_->CreateAppender("main", "stage"));
    staged_ = 0;
    return Status::OK();
  }

  // The manifest and, with it, the new watermark: the last row with a valid cursor.
  Status CommitBatch() {
    nlohmann::json new_watermark = watermark_;
    if (cursor_index_ >= 0 && !last_cursor_.empty()) new_watermark = {{"cursor", last_cursor_}, {"key", last_key_}};
    std::vector<lake::ColumnSchema> schema;
    for (const auto& c : cols_) schema.push_back({c.name, c.duck_type});
    return CommitSqlBatch(batch_.get(), std::move(schema), "sqlite", full_, watermark_, new_watermark, invalid_cursors_,
                          upper_, start_, &result_);
  }

  const std::chrono::steady_clock::time_point start_;
  const SqlSettings& s_;
  lake::Lake* const lake_;
  const TableSettings& t_;
  const IngestOptions& options_;
  TableResult result_;

  // The plan.
  std::vector<Column> cols_;
  int key_index_ = -1;
  int cursor_index_ = -1;  // -1: no cursor
  bool full_ = false;
  nlohmann::json watermark_;        // the committed one: the window starts after it
  nlohmann::json invalid_cursors_;  // key -> cursor value, updated by this extract
  bool has_watermark_ = false;      // an incremental extract after a committed watermark
  std::string upper_;               // the cursor's exclusive upper bound, "" = none

  // The extract. Declared in the order that destroys the appender first.
  std::unique_ptr<duck::Database> duck_;
  std::unique_ptr<duck::Connection> conn_;
  std::unique_ptr<lake::BatchWriter> batch_;
  std::unique_ptr<duck::Appender> app_;
  int64_t staged_ = 0;  // rows in the stage, not yet in a part
  std::string last_cursor_;
  nlohmann::json last_key_;
};

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
      Status s = TableExtract(s_, lake, t, options).Run(&*db, results);
      (void)db->Exec("COMMIT");
      STRATA_RETURN_IF_ERROR(s.WithContext("table '" + t.name + "'"));
    }
    return Status::OK();
  }

 private:
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
  if (driver == "postgres") return CreateSqlPostgresDriver(source);
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
