#include "warehouse/session.h"

#include <fstream>

namespace strata::warehouse {

namespace {

const std::string kDuckDb = "duckdb";
const std::string kPostgres = "postgres";

std::string CsvOptions(const std::string& csv_path, char delimiter) {
  return duck::QuoteLiteral(csv_path) + ", header = true, delim = " + duck::QuoteLiteral(std::string(1, delimiter));
}

class DuckSession : public Session {
 public:
  explicit DuckSession(std::unique_ptr<duck::Connection> c) : c_(std::move(c)) {}
  const std::string& engine() const override { return kDuckDb; }
  Status Execute(std::string_view sql) override { return c_->Execute(sql); }
  Result<sql::QueryResult> Query(std::string_view sql) override { return c_->Query(sql); }
  void Interrupt() override { c_->Interrupt(); }
  Status Begin() override { return c_->Begin(); }
  Status Commit() override { return c_->Commit(); }
  Status Rollback() override { return c_->Rollback(); }
  duck::Connection* duckdb() override { return c_.get(); }

  Result<int64_t> CreateTableFromCsv(const std::string& schema, const std::string& table, const std::string& csv_path,
                                     char delimiter, const std::map<std::string, std::string>& types) override {
    std::string typed;
    for (const auto& [k, v] : types)
      typed += (typed.empty() ? "" : ", ") + duck::QuoteLiteral(k) + ": " + duck::QuoteLiteral(v);
    STRATA_ASSIGN_OR_RETURN(auto created,
                            c_->Query("CREATE TABLE " + duck::QuoteIdent(schema) + "." + duck::QuoteIdent(table) +
                                      " AS SELECT * FROM read_csv(" + CsvOptions(csv_path, delimiter) +
                                      (typed.empty() ? "" : ", types = {" + typed + "}") + ")"));
    return created.AffectedRows();
  }

 private:
  std::unique_ptr<duck::Connection> c_;
};

class DuckEngine : public Engine {
 public:
  DuckEngine(duck::Database* db, std::string path, std::unique_ptr<duck::Database> owned = nullptr)
      : owned_(std::move(owned)), db_(db), path_(std::move(path)) {}
  const std::string& engine() const override { return kDuckDb; }
  Result<std::unique_ptr<Session>> Connect() override {
    STRATA_ASSIGN_OR_RETURN(auto c, db_->Connect());
    return std::unique_ptr<Session>(new DuckSession(std::move(c)));
  }
  std::string Describe() const override { return "duckdb " + (path_.empty() ? std::string(":memory:") : path_); }

 private:
  std::unique_ptr<duck::Database> owned_;
  duck::Database* db_;
  std::string path_;
};

// DuckDB's type name as the PostgreSQL type holding the same values.
std::string PostgresType(const std::string& duck_type) {
  const std::string t = duck_type;
  if (t == "BIGINT" || t == "INTEGER" || t == "SMALLINT" || t == "TINYINT" || t == "UINTEGER" || t == "USMALLINT" ||
      t == "UTINYINT") {
    return "BIGINT";
  }
  if (t == "HUGEINT" || t == "UBIGINT" || t == "UHUGEINT") return "NUMERIC";
  if (t == "DOUBLE" || t == "FLOAT") return "DOUBLE PRECISION";
  if (t.rfind("DECIMAL", 0) == 0) return "NUMERIC" + t.substr(7);
  if (t == "BOOLEAN" || t == "DATE" || t == "TIMESTAMP" || t == "TIME" || t == "UUID" || t == "INTERVAL") return t;
  if (t == "TIMESTAMP WITH TIME ZONE") return "TIMESTAMPTZ";
  return "TEXT";
}

class PgSession : public Session {
 public:
  explicit PgSession(std::unique_ptr<pg::Connection> c) : c_(std::move(c)) {}
  const std::string& engine() const override { return kPostgres; }
  Status Execute(std::string_view sql) override { return c_->Execute(sql); }
  Result<sql::QueryResult> Query(std::string_view sql) override { return c_->Query(sql); }
  void Interrupt() override { c_->Cancel(); }
  Status Begin() override { return c_->Begin(); }
  Status Commit() override { return c_->Commit(); }
  Status Rollback() override { return c_->Rollback(); }

  Result<int64_t> CreateTableFromCsv(const std::string& schema, const std::string& table, const std::string& csv_path,
                                     char delimiter, const std::map<std::string, std::string>& types) override {
    STRATA_ASSIGN_OR_RETURN(auto columns, SniffCsv(csv_path, delimiter));
    const std::string rel = pg::QuoteIdent(schema) + "." + pg::QuoteIdent(table);
    std::string ddl, names;
    for (const auto& [name, type] : columns) {
      auto it = types.find(name);
      ddl += (ddl.empty() ? "" : ", ") + pg::QuoteIdent(name) + " " + (it == types.end() ? type : it->second);
      names += (names.empty() ? "" : ", ") + pg::QuoteIdent(name);
    }
    STRATA_RETURN_IF_ERROR(c_->Execute("CREATE TABLE " + rel + " (" + ddl + ")"));
    std::ifstream in(csv_path, std::ios::binary);
    if (!in) return Status::IOError("cannot read " + csv_path);
    // The server parses the CSV as it streams. An empty field is NULL, quoted ("") or not, as
    // in DuckDB's reader and dbt's seeds (FORCE_NULL).
    return c_->CopyIn("COPY " + rel + " FROM STDIN WITH (FORMAT csv, HEADER true, DELIMITER " +
                          pg::QuoteLiteral(std::string(1, delimiter)) + ", FORCE_NULL (" + names + "))",
                      [&in](std::string* buf) -> Result<bool> {
                        buf->resize(1 << 20);
                        in.read(buf->data(), static_cast<std::streamsize>(buf->size()));
                        buf->resize(static_cast<size_t>(in.gcount()));
                        if (in.bad()) return Status::IOError("reading the CSV file failed");
                        return !in.eof();
                      });
  }

 private:
  std::unique_ptr<pg::Connection> c_;
};

class PgEngine : public Engine {
 public:
  explicit PgEngine(pg::ConnectOptions o) : o_(std::move(o)) {}
  const std::string& engine() const override { return kPostgres; }
  Result<std::unique_ptr<Session>> Connect() override {
    STRATA_ASSIGN_OR_RETURN(auto c, pg::Connection::Open(o_));
    return std::unique_ptr<Session>(new PgSession(std::move(c)));
  }
  std::string Describe() const override { return "postgres " + o_.Describe(); }

 private:
  pg::ConnectOptions o_;
};

}  // namespace

std::unique_ptr<Engine> DuckDbEngine(duck::Database* db, std::string path) {
  return std::make_unique<DuckEngine>(db, std::move(path));
}

Result<std::unique_ptr<Engine>> OpenDuckDb(const std::string& path, const std::map<std::string, std::string>& settings,
                                           int lock_timeout_seconds) {
  duck::LockWait wait;
  wait.timeout_seconds = lock_timeout_seconds;
  STRATA_ASSIGN_OR_RETURN(auto db, duck::Database::Open(path == ":memory:" ? "" : path, settings, wait));
  duck::Database* raw = db.get();
  return std::unique_ptr<Engine>(new DuckEngine(raw, path, std::move(db)));
}

Result<std::unique_ptr<Engine>> OpenPostgres(const pg::ConnectOptions& options) {
  auto engine = std::make_unique<PgEngine>(options);
  STRATA_RETURN_IF_ERROR(engine->Connect().status());  // fail now, with the reason, not per node
  return std::unique_ptr<Engine>(std::move(engine));
}

Result<std::vector<std::pair<std::string, std::string>>> SniffCsv(const std::string& csv_path, char delimiter) {
  STRATA_ASSIGN_OR_RETURN(auto db, duck::Database::Open("", {{"threads", "1"}}));
  STRATA_ASSIGN_OR_RETURN(auto c, db->Connect());
  STRATA_ASSIGN_OR_RETURN(auto r, c->Query("DESCRIBE SELECT * FROM read_csv(" + CsvOptions(csv_path, delimiter) + ")"));
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& row : r.rows) out.emplace_back(row[0].value_or(""), PostgresType(row[1].value_or("")));
  return out;
}

}  // namespace strata::warehouse
