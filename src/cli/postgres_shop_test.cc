// The shop on PostgreSQL, end to end through the `strata` binary:
//   1. `strata sim --postgres` keeps the operational tables in PostgreSQL too, and the sql
//      source with driver: postgres lands exactly the rows the SQLite driver lands from
//      shop.db (the oracle: a different database engine and driver);
//   2. the same lake is loaded and the unchanged dbt project built on DuckDB and on
//      PostgreSQL, and every mart is compared row for row (PostgreSQL's rows read back into
//      DuckDB with the DuckDB mart's column types, EXCEPT ALL both ways).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/file.h"
#include "db/duckdb.h"
#include "db/postgres.h"
#include "pg_testing.h"

namespace strata {
namespace {

using testing::RunCommand;
using testing::StrataBinary;
namespace fs = std::filesystem;

pg::ConnectOptions Options(const testing::PgServer& s, const std::string& dbname) {
  return testing::PgOptions(s, dbname);
}

// Every lake row of source.table, as a DuckDB relation over its parquet files.
std::string LakeTable(const std::string& lake, const std::string& source, const std::string& table) {
  return "read_parquet(" + duck::QuoteLiteral(lake + "/raw/" + source + "/" + table + "/*/*.parquet") + ")";
}

int64_t Differences(duck::Connection* c, const std::string& a, const std::string& b) {
  auto r = c->Query("SELECT count(*) FROM ((SELECT * FROM " + a + " EXCEPT ALL SELECT * FROM " + b +
                    ") UNION ALL (SELECT * FROM " + b + " EXCEPT ALL SELECT * FROM " + a + "))");
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::stoll(*r->Scalar()) : -1;
}

TEST(ShopOnPostgres, PostgresSourceAndBothTargetsAgreeRowForRow) {
  const testing::PgServer* server = testing::Postgres();
  ASSERT_NE(server, nullptr);
  testing::TempDir tmp;
  const std::string schema = testing::PgTestSchema("shopsrc");
  const std::string dbname = testing::PgTestSchema("shopdb");
  {
    auto admin = pg::Connection::Open(Options(*server, server->dbname));
    ASSERT_TRUE(admin.ok()) << admin.status().ToString();
    ASSERT_TRUE((*admin)->Execute("drop schema if exists " + schema + " cascade").ok());
    ASSERT_TRUE((*admin)->Execute("drop database if exists " + dbname + " with (force)").ok());
    ASSERT_TRUE((*admin)->Execute("create database " + dbname).ok());
  }
  const std::vector<std::string> pg_env = {"PGHOST=" + server->host, "PGPORT=" + std::to_string(server->port),
                                           "PGUSER=" + server->user, "PGPASSWORD=" + server->password,
                                           "PGDATABASE=" + server->dbname};
  const std::string sim = tmp.Sub("sim");
  auto gen = RunCommand(
      {StrataBinary(), "sim", "--out", sim, "--scale", "0.5", "--days", "3", "--postgres", "--pg-schema", schema},
      pg_env);
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  EXPECT_NE(gen.out.find("mirrored 4 tables"), std::string::npos) << gen.out;
  EXPECT_EQ(gen.out.find(server->password), std::string::npos);

  // Two projects over the same sources: shopdb read from SQLite (A) or PostgreSQL (B). Each
  // gets its own copy of the dbt project (its target/ folder is per build).
  testing::SimApi api(sim);
  const std::string shop_yml = *ReadFile(testing::SourceDir() + "/examples/shop/strata.yml");
  const std::string sqlite_block = "    driver: sqlite\n    path: ${SHOP_DB:-data/sim/shop.db}\n";
  ASSERT_NE(shop_yml.find(sqlite_block), std::string::npos) << "examples/shop/strata.yml changed";
  std::string pg_yml = shop_yml;
  pg_yml.replace(pg_yml.find(sqlite_block), sqlite_block.size(),
                 "    driver: postgres\n    host: " + server->host + "\n    port: " + std::to_string(server->port) +
                     "\n    dbname: " + server->dbname + "\n    user: " + server->user +
                     "\n    password_env: STRATA_PG_PASSWORD\n    schema: " + schema + "\n");
  for (const std::string p : {"a", "b"}) {
    fs::create_directories(tmp.Sub(p));
    testing::WriteText(tmp.Sub(p + "/strata.yml"), p == "a" ? shop_yml : pg_yml);
    fs::copy(testing::SourceDir() + "/examples/shop/transform", tmp.Sub(p + "/transform"), fs::copy_options::recursive);
    fs::remove_all(tmp.Sub(p + "/transform/target"));
  }
  const std::vector<std::string> common = {"SHOP_DB=" + sim + "/shop.db", "SHOP_EVENTS=" + sim + "/events",
                                           "SHOP_API_URL=" + api.url(), "STRATA_PG_PASSWORD=" + server->password};
  for (const std::string p : {"a", "b"}) {
    auto ingest = RunCommand({StrataBinary(), "ingest", "--project", tmp.Sub(p), "--date", "2024-01-03"}, common);
    ASSERT_EQ(ingest.exit_code, 0) << p << ": " << ingest.out << ingest.err;
  }
  auto db = *duck::Database::Open("");
  auto c = *db->Connect();
  for (const char* table : {"customers", "products", "orders", "order_items"}) {
    SCOPED_TRACE(table);
    auto count = c->Query("SELECT count(*) FROM " + LakeTable(tmp.Sub("a/lake"), "shopdb", table));
    ASSERT_TRUE(count.ok()) << count.status().ToString();
    EXPECT_GT(std::stoll(*count->Scalar()), 0);
    EXPECT_EQ(Differences(c.get(), LakeTable(tmp.Sub("a/lake"), "shopdb", table),
                          LakeTable(tmp.Sub("b/lake"), "shopdb", table)),
              0);
  }

  // Build: A on DuckDB, B on PostgreSQL (SHOP_TARGET=pg: the load follows the target).
  const std::string wh = tmp.Sub("a/warehouse/shop.duckdb");
  std::vector<std::string> duck_env = common;
  duck_env.push_back("STRATA_WAREHOUSE=" + wh);
  std::vector<std::string> pg_target = common;
  for (const auto& kv : std::vector<std::string>{"SHOP_TARGET=pg", "STRATA_PG_HOST=" + server->host,
                                                 "STRATA_PG_PORT=" + std::to_string(server->port),
                                                 "STRATA_PG_USER=" + server->user, "STRATA_PG_DBNAME=" + dbname}) {
    pg_target.push_back(kv);
  }
  for (const auto& [p, env] : {std::pair{std::string("a"), duck_env}, std::pair{std::string("b"), pg_target}}) {
    auto load = RunCommand({StrataBinary(), "load", "--project", tmp.Sub(p)}, env);
    ASSERT_EQ(load.exit_code, 0) << p << ": " << load.out << load.err;
    auto build = RunCommand({StrataBinary(), "build", "--project-dir", tmp.Sub(p + "/transform")}, env);
    ASSERT_EQ(build.exit_code, 0) << p << ": " << build.out << build.err;
    EXPECT_NE(build.out.find("ERROR=0 FAIL=0"), std::string::npos) << build.out;
  }
  EXPECT_NE(RunCommand({StrataBinary(), "load", "--project", tmp.Sub("b")}, pg_target).out.find("nothing new"),
            std::string::npos);

  // Every mart, row for row.
  auto duck_wh = *duck::Database::Open(wh);
  auto dc = *duck_wh->Connect();
  auto marts = dc->Query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' ORDER BY 1");
  ASSERT_TRUE(marts.ok()) << marts.status().ToString();
  ASSERT_GE(marts->rows.size(), 6u);
  auto pgc = pg::Connection::Open(Options(*server, dbname));
  ASSERT_TRUE(pgc.ok()) << pgc.status().ToString();
  for (const auto& row : marts->rows) {
    const std::string mart = *row[0];
    SCOPED_TRACE(mart);
    auto cols = dc->Query(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = "
        "'marts' AND table_name = " +
        duck::QuoteLiteral(mart) + " ORDER BY ordinal_position");
    ASSERT_TRUE(cols.ok());
    std::string names, types;
    for (const auto& col : cols->rows) {
      names += (names.empty() ? "" : ", ") + pg::QuoteIdent(*col[0]);
      types += (types.empty() ? "" : ", ") + duck::QuoteLiteral(*col[0]) + ": " + duck::QuoteLiteral(*col[1]);
    }
    const std::string csv = tmp.Sub("pg_" + mart + ".csv");
    std::ofstream out(csv, std::ios::binary);
    auto copied =
        (*pgc)->CopyOut("copy (select " + names + " from marts." + pg::QuoteIdent(mart) + ") to stdout (format csv)",
                        [&](std::string_view line) {
                          out.write(line.data(), static_cast<std::streamsize>(line.size()));
                          return Status::OK();
                        });
    out.close();
    ASSERT_TRUE(copied.ok()) << copied.status().ToString();
    auto built = dc->Query("SELECT count(*) FROM marts." + duck::QuoteIdent(mart));
    EXPECT_EQ(std::to_string(*copied), *built->Scalar());
    EXPECT_EQ(Differences(dc.get(), "marts." + duck::QuoteIdent(mart),
                          "read_csv(" + duck::QuoteLiteral(csv) +
                              ", header = false, nullstr = '', allow_quoted_nulls = false, columns = {" + types + "})"),
              0);
  }
  auto admin = pg::Connection::Open(Options(*server, server->dbname));
  if (admin.ok()) {
    (void)(*admin)->Execute("drop schema if exists " + schema + " cascade");
    pgc->reset();
    (void)(*admin)->Execute("drop database if exists " + dbname + " with (force)");
  }
}

}  // namespace
}  // namespace strata
