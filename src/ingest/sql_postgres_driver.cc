// sql connector, PostgreSQL driver: tables of an operational PostgreSQL database.
//
// The same incremental contract as the SQLite driver (sql_connector.cc): a row is new when
// (cursor, key) > the committed watermark, and with a logical date the extract stops at the
// end of its interval. Each table is read in one REPEATABLE READ, READ ONLY transaction, so
// the rows, the new watermark and the quarantined rows all come from one snapshot. Rows
// stream out with `COPY (SELECT ...) TO STDOUT (FORMAT csv)` into a part file that DuckDB
// reads, typed from the table's column types, and writes as Parquet. PostgreSQL enforces the
// column types itself; rows whose cursor is NULL cannot be placed after a watermark and are
// quarantined (once per key and value), as the SQLite driver does.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>

#include "core/date.h"
#include "core/file.h"
#include "db/duckdb.h"
#include "db/postgres.h"
#include "ingest/internal/connectors.h"

namespace strata::ingest::internal {
namespace {

constexpr int64_t kPartRows = 5'000'000;

using TableSettings = SqlTableSpec;

struct PostgresDriverSettings {
  std::string source;
  pg::ConnectOptions connect;
  std::string schema = "public";
  std::vector<TableSettings> tables;
};

// The DuckDB type that holds a PostgreSQL column's CSV text (format_type() spelling).
std::string DuckTypeFor(const std::string& pg_type) {
  static const std::regex kNumeric(R"(numeric\((\d+),(\d+)\))");
  std::smatch m;
  if (std::regex_match(pg_type, m, kNumeric) && std::stoi(m[1].str()) <= 38) {
    return "DECIMAL(" + m[1].str() + "," + m[2].str() + ")";
  }
  if (pg_type == "bigint" || pg_type == "integer" || pg_type == "smallint") return "BIGINT";
  if (pg_type == "real" || pg_type == "double precision" || pg_type.rfind("numeric", 0) == 0) return "DOUBLE";
  if (pg_type == "boolean") return "BOOLEAN";
  if (pg_type == "date") return "DATE";
  if (pg_type.rfind("timestamp", 0) == 0) {
    return pg_type.find("with time zone") != std::string::npos ? "TIMESTAMP WITH TIME ZONE" : "TIMESTAMP";
  }
  return "VARCHAR";  // text, varchar, uuid, json, arrays, ... as PostgreSQL renders them
}

// The sql connector for a source with `driver: postgres`.
class SqlPostgresDriver : public Connector {
 public:
  explicit SqlPostgresDriver(PostgresDriverSettings s) : s_(std::move(s)) {}

  std::vector<std::string> Tables() const override {
    std::vector<std::string> out;
    for (const auto& t : s_.tables) out.push_back(t.name);
    return out;
  }

  Status Ingest(lake::Lake* lake, const IngestOptions& options, std::vector<TableResult>* results) override {
    STRATA_ASSIGN_OR_RETURN(auto conn, pg::Connection::Open(s_.connect));
    // Registering a callback is not a change of the token's state.
    CancelScope stop(const_cast<CancelToken*>(options.cancel), [c = conn.get()] { c->Cancel(); });
    for (const auto& t : s_.tables) {
      if (!options.Wants(t.name)) continue;
      // One snapshot per table: rows, watermark and quarantine agree.
      STRATA_RETURN_IF_ERROR(conn->Execute("begin isolation level repeatable read read only"));
      Status s = IngestTable(conn.get(), lake, t, options, results);
      if (conn->InTransaction()) (void)conn->Rollback();  // read only: nothing to keep
      STRATA_RETURN_IF_ERROR(s.WithContext("table '" + t.name + "' of postgres " + s_.connect.Describe()));
    }
    return Status::OK();
  }

 private:
  Status IngestTable(pg::Connection* conn, lake::Lake* lake, const TableSettings& t, const IngestOptions& options,
                     std::vector<TableResult>* results) {
    auto start = std::chrono::steady_clock::now();
    TableResult result;
    result.source = s_.source;
    result.table = t.name;
    const std::string rel = pg::QuoteIdent(s_.schema) + "." + pg::QuoteIdent(t.name);
    STRATA_ASSIGN_OR_RETURN(auto described,
                            conn->Query("select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a "
                                        "where a.attrelid = to_regclass($1) and a.attnum > 0 and not a.attisdropped "
                                        "order by a.attnum",
                                        {rel}));
    if (described.rows.empty()) return Status::NotFound("no table " + rel);
    std::vector<lake::ColumnSchema> cols;
    std::string key_type, cursor_type;
    for (const auto& row : described.rows) {
      cols.push_back({*row[0], DuckTypeFor(*row[1])});
      if (*row[0] == t.key) key_type = *row[1];
      if (*row[0] == t.cursor) cursor_type = *row[1];
    }
    if (key_type.empty()) return Status::InvalidArgument("key column '" + t.key + "' does not exist");
    if (!t.cursor.empty() && cursor_type.empty()) {
      return Status::InvalidArgument("cursor column '" + t.cursor + "' does not exist");
    }
    const bool full = t.full_refresh || options.full_refresh || t.cursor.empty();

    STRATA_ASSIGN_OR_RETURN(auto latest, lake->Latest(s_.source, t.name));
    nlohmann::json watermark = latest ? latest->state.value("watermark", nlohmann::json()) : nlohmann::json();
    nlohmann::json invalid_cursors =
        latest ? latest->state.value("invalid_cursors", nlohmann::json::object()) : nlohmann::json::object();

    const std::string qc = t.cursor.empty() ? "" : pg::QuoteIdent(t.cursor);
    const std::string qk = pg::QuoteIdent(t.key);
    auto literal = [](const nlohmann::json& v) {
      return pg::QuoteLiteral(v.is_string() ? v.get<std::string>() : v.dump());
    };
    std::vector<std::string> where;
    if (!full && watermark.is_object() && watermark.contains("cursor")) {
      const std::string wc = literal(watermark["cursor"]) + "::" + cursor_type;
      const std::string wk = literal(watermark["key"]) + "::" + key_type;
      where.push_back("(" + qc + " > " + wc + " or (" + qc + " = " + wc + " and " + qk + " > " + wk + "))");
    }
    std::string upper;
    if (!t.cursor.empty() && !options.date.empty()) {
      STRATA_ASSIGN_OR_RETURN(Date d, Date::Parse(options.date));
      upper = FormatTimestamp(options.until != 0 ? options.until : (d + 1).StartEpochSeconds());
      where.push_back(qc + " < " + pg::QuoteLiteral(upper) + "::" + cursor_type);
    }
    if (!t.cursor.empty()) where.push_back(qc + " is not null");
    std::string filter;
    for (size_t i = 0; i < where.size(); ++i) filter += (i ? " and " : " where ") + where[i];

    std::unique_ptr<lake::BatchWriter> batch;
    auto begin_batch = [&]() -> Status {
      if (batch) return Status::OK();
      STRATA_ASSIGN_OR_RETURN(batch, lake->BeginBatch(s_.source, t.name, options.date));
      return Status::OK();
    };

    // Rows with no cursor: quarantined once per key (a full extract reports them again).
    if (!t.cursor.empty()) {
      STRATA_ASSIGN_OR_RETURN(auto nulls, conn->Query("select " + qk + "::text, row_to_json(r)::text from " + rel +
                                                      " r where " + qc + " is null order by " + qk));
      for (const auto& row : nulls.rows) {
        const std::string k = row[0].value_or("");
        if (invalid_cursors.contains(k) && !full) continue;
        STRATA_RETURN_IF_ERROR(begin_batch());
        ++result.received;
        invalid_cursors[k] = nullptr;
        batch->Quarantine({{"table", t.name}, {t.key, k}},
                          "column '" + t.cursor + "' is NULL, so the row cannot be placed after the watermark",
                          row[1].value_or(""));
      }
    }

    // The rows, streamed to CSV part files and converted by DuckDB.
    std::string select = "select ";
    for (size_t i = 0; i < cols.size(); ++i) select += (i ? ", " : "") + pg::QuoteIdent(cols[i].name);
    select += " from " + rel + filter + " order by " + (t.cursor.empty() ? qk : qc + ", " + qk);
    STRATA_ASSIGN_OR_RETURN(auto duck, duck::Database::Open("", {{"threads", "1"}}));
    STRATA_ASSIGN_OR_RETURN(auto dconn, duck->Connect());
    std::string types;
    for (size_t i = 0; i < cols.size(); ++i) {
      types += (i ? ", " : "") + duck::QuoteLiteral(cols[i].name) + ": " + duck::QuoteLiteral(cols[i].type);
    }
    const std::string csv_path = TempPath("pg_extract_" + s_.source + "_" + t.name + ".csv");
    std::ofstream csv;
    int64_t part_rows = 0;
    auto flush_part = [&]() -> Status {
      if (part_rows == 0) return Status::OK();
      csv.close();
      if (!csv) return Status::IOError("writing " + csv_path);
      STRATA_RETURN_IF_ERROR(begin_batch());
      std::string key;
      STRATA_ASSIGN_OR_RETURN(auto writer, batch->NewPart("parquet", &key));
      STRATA_RETURN_IF_ERROR(dconn->Execute(
          "COPY (SELECT * FROM read_csv(" + duck::QuoteLiteral(csv_path) +
          ", header = false, quote = '\"', escape = '\"', nullstr = '', allow_quoted_nulls = false, columns = {" +
          types + "})) TO " + duck::QuoteLiteral(writer->staging_path()) +
          " (FORMAT parquet, COMPRESSION zstd, USE_TMP_FILE false)"));
      STRATA_ASSIGN_OR_RETURN(lake::ObjectInfo info, writer->Commit());
      batch->AddFile({key, "parquet", part_rows, info.size, info.sha256});
      result.bytes += info.size;
      ++result.files;
      result.landed += part_rows;
      part_rows = 0;
      CrashPoint("sql_part_done");
      return CheckCancelled(options, "after a part of " + result.table);
    };
    Status sink_error;
    auto copied = conn->CopyOut("copy (" + select + ") to stdout (format csv)", [&](std::string_view row) -> Status {
      if (part_rows == 0) {
        csv.open(csv_path, std::ios::binary | std::ios::trunc);
        if (!csv) return Status::IOError("cannot write " + csv_path);
      }
      csv.write(row.data(), static_cast<std::streamsize>(row.size()));
      ++result.received;
      if (++part_rows >= kPartRows) return flush_part();
      if (options.on_progress && (result.received & 0xFFFF) == 0) options.on_progress(t.name, result.received);
      return Status::OK();
    });
    Status flushed = copied.ok() ? flush_part() : Status::OK();
    std::remove(csv_path.c_str());
    STRATA_RETURN_IF_ERROR(copied.status());
    STRATA_RETURN_IF_ERROR(flushed);

    if (!batch) {  // nothing new
      result.seconds = SecondsSince(start);
      results->push_back(std::move(result));
      return Status::OK();
    }
    // The new watermark: the last row of the same order, in the same snapshot.
    nlohmann::json new_watermark = watermark;
    if (!t.cursor.empty() && result.landed > 0) {
      STRATA_ASSIGN_OR_RETURN(auto last, conn->Query("select " + qc + "::text, " + qk + "::text from " + rel + filter +
                                                     " order by " + qc + " desc, " + qk + " desc limit 1"));
      if (!last.rows.empty()) {
        nlohmann::json k = *last.rows[0][1];
        if (DuckTypeFor(key_type) == "BIGINT") k = std::stoll(*last.rows[0][1]);
        new_watermark = {{"cursor", *last.rows[0][0]}, {"key", k}};
      }
    }
    STRATA_RETURN_IF_ERROR(CommitSqlBatch(batch.get(), cols, "postgres", full, watermark, new_watermark,
                                          invalid_cursors, upper, start, &result));
    results->push_back(std::move(result));
    return Status::OK();
  }

  static std::string TempPath(const std::string& name) {
    return (std::filesystem::temp_directory_path() / ("strata_" + std::to_string(::getpid()) + "_" + name)).string();
  }

  PostgresDriverSettings s_;
};

}  // namespace

Result<std::unique_ptr<Connector>> CreateSqlPostgresDriver(const SourceConfig& source) {
  const ConfigNode& n = source.node;
  STRATA_RETURN_IF_ERROR(
      n.CheckKeys({"type", "driver", "host", "port", "dbname", "user", "password_env", "sslmode", "schema", "tables"}));
  PostgresDriverSettings s;
  s.source = source.name;
  STRATA_ASSIGN_OR_RETURN(s.connect.host, n.String("host", "127.0.0.1"));
  STRATA_ASSIGN_OR_RETURN(int64_t port, n.Int("port", 5432));
  s.connect.port = static_cast<int>(port);
  STRATA_ASSIGN_OR_RETURN(s.connect.dbname, n.RequiredString("dbname"));
  STRATA_ASSIGN_OR_RETURN(s.connect.user, n.RequiredString("user"));
  STRATA_ASSIGN_OR_RETURN(s.connect.sslmode, n.String("sslmode", "prefer"));
  STRATA_ASSIGN_OR_RETURN(s.schema, n.String("schema", "public"));
  STRATA_ASSIGN_OR_RETURN(std::string password_env, n.String("password_env", ""));
  if (!password_env.empty()) {
    const char* secret = std::getenv(password_env.c_str());
    if (secret == nullptr) {
      return n["password_env"].Error("the password variable " + password_env + " is not set in the environment");
    }
    s.connect.password = secret;
  }
  STRATA_ASSIGN_OR_RETURN(s.tables, ParseSqlTables(n));
  return std::unique_ptr<Connector>(new SqlPostgresDriver(std::move(s)));
}

}  // namespace strata::ingest::internal
