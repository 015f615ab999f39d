#include <gtest/gtest.h>
#include <sqlite3.h>

#include "db/duckdb.h"
#include "db/postgres.h"
#include "ingest/connector.h"
#include "pg_testing.h"

namespace strata::ingest {
namespace {

// Ingests the project's first source, whose one table is the test's; returns its result.
Result<TableResult> IngestOnlyTable(const Project& project, lake::Lake* lake, const std::string& date, bool full) {
  std::vector<TableResult> results;
  IngestOptions opts;
  opts.date = date;
  opts.full_refresh = full;
  Status s = IngestSource(project, lake, project.sources[0], opts, &results);
  if (!s.ok()) return s;
  return results.at(0);
}

class SqlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::WriteText(dir_.Sub("strata.yml"),
                       "name: t\nlake: lake\nsources:\n  db:\n    type: sql\n    path: src.db\n"
                       "    tables:\n      items: {key: id, cursor: updated_at}\n");
    Exec(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, price NUMERIC(10,2), qty INTEGER, "
        "updated_at TIMESTAMP NOT NULL)");
    project_ = *Project::Load(dir_.path());
    lake_ = std::make_unique<lake::Lake>(*lake::OpenObjectStore(project_.lake_location));
  }

  void Exec(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(dir_.Sub("src.db").c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_close(db);
  }

  Result<TableResult> Ingest(const std::string& date, bool full = false) {
    return IngestOnlyTable(project_, lake_.get(), date, full);
  }

  // Rows of a landed parquet file, read by DuckDB, as "id:name:price" sorted.
  std::vector<std::string> Rows(const lake::Manifest& m) {
    auto db = *duck::Database::Open("");
    auto c = *db->Connect();
    std::vector<std::string> out;
    for (const auto& f : m.files) {
      auto r = c->Query(
          "SELECT id || ':' || coalesce(name, 'NULL') || ':' || coalesce(CAST(price AS VARCHAR), 'NULL') "
          "FROM read_parquet(" +
          duck::QuoteLiteral(project_.lake_location + "/" + f.key) + ") ORDER BY id");
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      for (const auto& row : r->rows) out.push_back(*row[0]);
    }
    return out;
  }

  testing::TempDir dir_;
  Project project_;
  std::unique_ptr<lake::Lake> lake_;
};

TEST_F(SqlTest, IncrementalByWatermarkWithTieBreakAndDateBound) {
  Exec(
      "INSERT INTO items VALUES (1,'a',1.50,1,'2024-01-01 10:00:00'), (2,'b',2.00,1,'2024-01-01 10:00:00'),"
      "(3,'c',3.25,1,'2024-01-01 23:59:59'), (4,'d',4.00,1,'2024-01-02 08:00:00')");
  auto day1 = Ingest("2024-01-01");
  ASSERT_TRUE(day1.ok()) << day1.status().ToString();
  EXPECT_EQ(day1->received, 3);  // row 4 belongs to day 2
  auto m1 = **lake_->Latest("db", "items");
  EXPECT_EQ(Rows(m1), (std::vector<std::string>{"1:a:1.50", "2:b:2.00", "3:c:3.25"}));
  EXPECT_EQ(m1.state["watermark"]["cursor"], "2024-01-01 23:59:59");
  EXPECT_EQ(m1.state["watermark"]["key"], 3);

  // Rerun of the same date: a no-op.
  auto again = Ingest("2024-01-01");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->batch_id.empty());

  // Day 2: a new row, a changed row, and a row sharing the watermark's timestamp with a
  // larger key (the tie-breaker must pick it up).
  Exec("UPDATE items SET name = 'a2', updated_at = '2024-01-02 09:00:00' WHERE id = 1");
  Exec("INSERT INTO items VALUES (5,'e',5.00,1,'2024-01-01 23:59:59')");
  auto day2 = Ingest("2024-01-02");
  ASSERT_TRUE(day2.ok());
  EXPECT_EQ(day2->received, 3);
  EXPECT_EQ(Rows(**lake_->Latest("db", "items")), (std::vector<std::string>{"1:a2:1.50", "4:d:4.00", "5:e:5.00"}));
}

TEST_F(SqlTest, ValuesThatDoNotFitTheirTypeAreQuarantined) {
  Exec(
      "INSERT INTO items VALUES (1,'a',1.5,1,'2024-01-01 10:00:00'), (2,'b','cheap',1,'2024-01-01 10:00:01'),"
      "(3,'c',1,'many','2024-01-01 10:00:02'), (4,'d',1,1,'not a time')");
  auto r = Ingest("2024-01-05");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->received, 4);
  EXPECT_EQ(r->landed, 1);
  EXPECT_EQ(r->quarantined, 3);
  auto m = **lake_->Latest("db", "items");
  std::string q = *lake_->store()->Get(m.quarantine->key);
  EXPECT_NE(q.find("column 'price': value 'cheap' is not a valid number"), std::string::npos) << q;
  EXPECT_NE(q.find("column 'qty': value 'many' is not a valid integer"), std::string::npos) << q;
  EXPECT_NE(q.find("\"position\":{\"id\":2,\"table\":\"items\"}"), std::string::npos) << q;
  EXPECT_NE(q.find("column 'updated_at': value 'not a time' is not a valid timestamp"), std::string::npos) << q;
  // The bad cursor does not move the watermark, and is not reported twice.
  EXPECT_EQ(m.state["watermark"]["cursor"], "2024-01-01 10:00:02");
  auto again = Ingest("2024-01-05");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->batch_id.empty());
  EXPECT_EQ(again->received, 0);
}

TEST_F(SqlTest, FullRefreshExtractsEverything) {
  Exec("INSERT INTO items VALUES (1,'a',1,1,'2024-01-01 10:00:00'), (2,'b',2,1,'2024-01-01 11:00:00')");
  ASSERT_TRUE(Ingest("2024-01-01").ok());
  auto full = Ingest("2024-01-01", /*full=*/true);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->received, 2);
  EXPECT_EQ(full->batch_id, "b00000002");
}

TEST_F(SqlTest, MissingDatabaseAndTableAreClearErrors) {
  std::remove(dir_.Sub("src.db").c_str());
  auto r = Ingest("2024-01-01");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("cannot open SQLite database"), std::string::npos) << r.status().message();
  Exec("CREATE TABLE other (id INTEGER)");
  r = Ingest("2024-01-01");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("table 'items': no table 'items'"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace strata::ingest

namespace strata::ingest {
namespace {

// The PostgreSQL driver against the test cluster: a schema of the test's own holds the
// operational table.
class SqlPostgresDriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = testing::Postgres();
    ASSERT_NE(server_, nullptr);
    schema_ = testing::PgTestSchema("src");
    setenv("STRATA_TEST_SOURCE_PASSWORD", server_->password.c_str(), 1);
    Exec("drop schema if exists " + schema_ + " cascade; create schema " + schema_ + "; create table " + schema_ +
         ".items (id bigint primary key, name text, price numeric(10,2), ok boolean, updated_at timestamp)");
    testing::WriteText(
        dir_.Sub("strata.yml"),
        "name: t\nlake: lake\nsources:\n  db:\n    type: sql\n    driver: postgres\n    host: " + server_->host +
            "\n    port: " + std::to_string(server_->port) + "\n    dbname: " + server_->dbname +
            "\n    user: " + server_->user + "\n    password_env: STRATA_TEST_SOURCE_PASSWORD\n    schema: " + schema_ +
            "\n    tables:\n      items: {key: id, cursor: updated_at}\n");
    auto p = Project::Load(dir_.path());
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    project_ = *p;
    lake_ = std::make_unique<lake::Lake>(*lake::OpenObjectStore(project_.lake_location));
  }
  void TearDown() override {
    if (server_ != nullptr) Exec("drop schema if exists " + schema_ + " cascade");
  }
  void Exec(const std::string& sql) {
    auto c = pg::Connection::Open(testing::PgOptions(*server_));
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    Status s = (*c)->Execute(sql);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  Result<TableResult> Ingest(const std::string& date, bool full = false) {
    return IngestOnlyTable(project_, lake_.get(), date, full);
  }
  // The latest batch's rows as "id|name|price|ok|updated_at" (NULL spelled out), by id.
  std::vector<std::string> Rows() {
    auto m = **lake_->Latest("db", "items");
    auto db = *duck::Database::Open("");
    auto c = *db->Connect();
    std::vector<std::string> out;
    for (const auto& f : m.files) {
      auto r = c->Query(
          "SELECT concat_ws('|', id, coalesce(name, 'NULL'), coalesce(CAST(price AS VARCHAR), 'NULL'), "
          "coalesce(CAST(ok AS VARCHAR), 'NULL'), updated_at) FROM read_parquet(" +
          duck::QuoteLiteral(project_.lake_location + "/" + f.key) + ") ORDER BY id");
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      for (const auto& row : r->rows) out.push_back(*row[0]);
    }
    return out;
  }
  const testing::PgServer* server_ = nullptr;
  std::string schema_;
  testing::TempDir dir_;
  Project project_;
  std::unique_ptr<lake::Lake> lake_;
};

TEST_F(SqlPostgresDriverTest, IncrementalByWatermarkTypedValuesAndNullCursorsQuarantined) {
  Exec("insert into " + schema_ +
       ".items values "
       "(1, 'a, \"quoted\"', 1.50, true, '2024-01-01 10:00:00'), (2, '', 2.00, false, '2024-01-01 10:00:00'),"
       "(3, NULL, NULL, NULL, '2024-01-01 23:59:59.5'), (4, 'd', 4.00, true, '2024-01-02 08:00:00'),"
       "(5, 'line1\nline2', 5.00, true, NULL)");
  auto day1 = Ingest("2024-01-01");
  ASSERT_TRUE(day1.ok()) << day1.status().ToString();
  EXPECT_EQ(day1->landed, 3);  // row 4 is day 2's; row 5 has no cursor
  EXPECT_EQ(day1->quarantined, 1);
  EXPECT_EQ(Rows(),
            (std::vector<std::string>{"1|a, \"quoted\"|1.50|true|2024-01-01 10:00:00",
                                      "2||2.00|false|2024-01-01 10:00:00", "3|NULL|NULL|NULL|2024-01-01 23:59:59.5"}));
  auto m1 = **lake_->Latest("db", "items");
  EXPECT_EQ(m1.state["watermark"]["cursor"], "2024-01-01 23:59:59.5");
  EXPECT_EQ(m1.state["watermark"]["key"], 3);
  std::vector<std::string> types;
  for (const auto& c : m1.schema) types.push_back(c.type);
  EXPECT_EQ(types, (std::vector<std::string>{"BIGINT", "VARCHAR", "DECIMAL(10,2)", "BOOLEAN", "TIMESTAMP"}));
  EXPECT_EQ(m1.details["driver"], "postgres");

  // Day 2: row 4, and an update of row 1; the NULL-cursor row is not reported again.
  Exec("update " + schema_ + ".items set name = 'a2', updated_at = '2024-01-02 09:00:00' where id = 1");
  auto day2 = Ingest("2024-01-02");
  ASSERT_TRUE(day2.ok()) << day2.status().ToString();
  EXPECT_EQ(day2->landed, 2);
  EXPECT_EQ(day2->quarantined, 0);
  EXPECT_EQ(Rows(),
            (std::vector<std::string>{"1|a2|1.50|true|2024-01-02 09:00:00", "4|d|4.00|true|2024-01-02 08:00:00"}));
  // Nothing new: no batch.
  auto again = Ingest("2024-01-02");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->received, 0);
  EXPECT_TRUE(again->batch_id.empty());
}

TEST_F(SqlPostgresDriverTest, ConnectionAndTableErrorsNameTheSourceAndServer) {
  Exec("drop table " + schema_ + ".items");
  auto r = Ingest("2024-01-01");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no table"), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find("table 'items' of postgres"), std::string::npos) << r.status().ToString();
  EXPECT_EQ(r.status().message().find(server_->password), std::string::npos);
}

}  // namespace
}  // namespace strata::ingest
