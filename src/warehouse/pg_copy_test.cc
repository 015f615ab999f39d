// DuckDB → PostgreSQL binary COPY against the real test cluster. The oracle is PostgreSQL
// itself: the same literals are parsed by PostgreSQL into an `expected` table, and the
// copied table must equal it (EXCEPT both ways), so every type's encoding is checked
// against the server's own parser, not against our rendering.
#include "warehouse/pg_copy.h"

#include <gtest/gtest.h>

#include "pg_testing.h"

namespace strata::warehouse {
namespace {

class PgCopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const testing::PgServer* s = testing::Postgres();
    ASSERT_NE(s, nullptr);
    auto c = pg::Connection::Open(testing::PgOptions(*s));
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    pg_ = std::move(*c);
    schema_ = testing::PgTestSchema("pgcopy");
    ASSERT_TRUE(pg_->Execute("drop schema if exists " + schema_ + " cascade; create schema " + schema_).ok());
    auto db = duck::Database::Open("");
    ASSERT_TRUE(db.ok());
    db_ = std::move(*db);
    auto dc = db_->Connect();
    ASSERT_TRUE(dc.ok());
    duck_ = std::move(*dc);
  }
  void TearDown() override {
    if (pg_) (void)pg_->Execute("drop schema if exists " + schema_ + " cascade");
  }

  // Rows of `copied` not in `expected` and the other way round.
  int64_t Differences(const std::string& copied, const std::string& expected) {
    auto r = pg_->Query("select count(*) from ((table " + copied + " except all table " + expected +
                        ") union all (table " + expected + " except all table " + copied + ")) d");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::stoll(*r->Scalar()) : -1;
  }

  std::unique_ptr<pg::Connection> pg_;
  std::unique_ptr<duck::Database> db_;
  std::unique_ptr<duck::Connection> duck_;
  std::string schema_;
};

TEST_F(PgCopyTest, EveryScalarTypeArrivesAsPostgreSQLParsesItsLiteral) {
  // Column: DuckDB type, PostgreSQL type, literals valid in both dialects.
  struct Col {
    const char* name;
    const char* duck;
    const char* pg;
    std::vector<const char*> values;
  };
  const std::vector<Col> cols = {
      {"b", "BOOLEAN", "boolean", {"true", "false", "NULL", "true", "false", "true"}},
      {"i1", "TINYINT", "smallint", {"-128", "127", "0", "NULL", "1", "-1"}},
      {"i2", "SMALLINT", "smallint", {"-32768", "32767", "0", "NULL", "7", "-7"}},
      {"i4", "INTEGER", "integer", {"-2147483648", "2147483647", "0", "NULL", "12", "-12"}},
      {"i8", "BIGINT", "bigint", {"-9223372036854775808", "9223372036854775807", "0", "NULL", "5", "-5"}},
      {"u8", "UBIGINT", "numeric(20,0)", {"18446744073709551615", "0", "1", "NULL", "42", "9"}},
      {"h",
       "HUGEINT",
       "numeric(38,0)",
       {"-99999999999999999999999999999999999999", "99999999999999999999999999999999999999", "0", "NULL", "10000",
        "-100000000"}},
      {"f4", "FLOAT", "real", {"1.5", "-0.25", "0", "NULL", "3.4e38", "1e-30"}},
      {"f8", "DOUBLE", "double precision", {"0.1", "-1e308", "0", "NULL", "2.2250738585072014e-308", "123456.789"}},
      {"d2", "DECIMAL(4,1)", "numeric(4,1)", {"-999.9", "0.1", "0", "NULL", "100.0", "-0.5"}},
      {"d9", "DECIMAL(9,4)", "numeric(9,4)", {"12345.6789", "-0.0001", "0.0000", "NULL", "10000", "-1.5"}},
      {"d18",
       "DECIMAL(18,5)",
       "numeric(18,5)",
       {"1234567890123.45678", "-0.00005", "0", "NULL", "0.10000", "-99999.00001"}},
      {"d38",
       "DECIMAL(38,10)",
       "numeric(38,10)",
       {"1234567890123456789012345678.0123456789", "-0.0000000001", "0", "NULL", "100000000000000000000", "-42"}},
      {"s",
       "VARCHAR",
       "text",
       {"'it''s'", "''", "'ünïcødé ✓'", "NULL", "'a much longer string than twelve bytes'", "'x'"}},
      {"bl", "BLOB", "bytea", {"'\\x00\\x01'::blob", "''::blob", "'abc'::blob", "NULL", "'\\xFF'::blob", "'z'::blob"}},
      {"dt", "DATE", "date", {"'2000-01-01'", "'1970-01-01'", "'2024-02-29'", "NULL", "'infinity'", "'-infinity'"}},
      {"ts",
       "TIMESTAMP",
       "timestamp",
       {"'2000-01-01 00:00:00'", "'1969-12-31 23:59:59.999999'", "'2024-10-27 01:30:00.5'", "NULL", "'infinity'",
        "'-infinity'"}},
      {"tm", "TIME", "time", {"'00:00:00'", "'23:59:59.999999'", "'12:34:56.5'", "NULL", "'01:00'", "'13:00'"}},
      {"iv",
       "INTERVAL",
       "interval",
       {"INTERVAL '1 year 2 months 3 days 04:05:06.789'", "INTERVAL '-5 days'", "INTERVAL '0 seconds'", "NULL",
        "INTERVAL '36 hours'", "INTERVAL '-1 month'"}},
      {"id",
       "UUID",
       "uuid",
       {"'00000000-0000-0000-0000-000000000000'", "'ffffffff-ffff-ffff-ffff-ffffffffffff'",
        "'4ac7a9e9-607c-4c8a-84f3-843f0191e3fd'", "NULL", "'80000000-0000-0000-0000-000000000001'",
        "'7fffffff-ffff-ffff-ffff-ffffffffffff'"}},
  };
  const size_t nrows = cols[0].values.size();
  std::string duck_sql = "CREATE TABLE src AS SELECT * FROM (VALUES ";
  std::string pg_sql = "create table " + schema_ + ".expected (";
  for (size_t c = 0; c < cols.size(); ++c) pg_sql += std::string(c ? ", " : "") + cols[c].name + " " + cols[c].pg;
  pg_sql += "); insert into " + schema_ + ".expected values ";
  for (size_t r = 0; r < nrows; ++r) {
    duck_sql += r ? ", (" : "(";
    pg_sql += r ? ", (" : "(";
    for (size_t c = 0; c < cols.size(); ++c) {
      std::string v = cols[c].values[r];
      duck_sql += std::string(c ? ", " : "") + "CAST(" + v + " AS " + cols[c].duck + ")";
      std::string pv = v;
      if (pv.find("::blob") != std::string::npos) {  // DuckDB's blob escapes, as bytea hex
        std::string raw = pv.substr(1, pv.find("'::blob") - 1);
        std::string hex;
        for (size_t i = 0; i < raw.size();) {
          if (raw.compare(i, 2, "\\x") == 0) {
            hex += raw.substr(i + 2, 2);
            i += 4;
          } else {
            char buf[3];
            std::snprintf(buf, sizeof buf, "%02x", static_cast<unsigned char>(raw[i++]));
            hex += buf;
          }
        }
        pv = "'\\x" + hex + "'::bytea";
      }
      pg_sql += std::string(c ? ", " : "") + "cast(" + pv + " as " + cols[c].pg + ")";
    }
    duck_sql += ")";
    pg_sql += ")";
  }
  duck_sql += ") AS t(";
  for (size_t c = 0; c < cols.size(); ++c) duck_sql += std::string(c ? ", " : "") + cols[c].name;
  duck_sql += ")";
  ASSERT_TRUE(duck_->Execute(duck_sql).ok()) << duck_->Execute(duck_sql).ToString();
  ASSERT_TRUE(pg_->Execute(pg_sql).ok()) << pg_->Execute(pg_sql).ToString();

  auto described = DescribeForPostgres(duck_.get(), "SELECT * FROM src");
  ASSERT_TRUE(described.ok()) << described.status().ToString();
  ASSERT_EQ(described->size(), cols.size());
  for (size_t c = 0; c < cols.size(); ++c) EXPECT_EQ((*described)[c].pg_type, cols[c].pg) << cols[c].name;
  const std::string copied = schema_ + ".copied";
  ASSERT_TRUE(pg_->Execute(PostgresCreateTable(copied, *described)).ok());
  auto stats = CopyToPostgres(duck_.get(), "SELECT * FROM src", *described, pg_.get(), copied);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->rows, static_cast<int64_t>(nrows));
  EXPECT_EQ(Differences(copied, schema_ + ".expected"), 0);
  // Column by column, so that a mismatch names its column.
  for (const auto& c : cols) {
    auto r = pg_->Query(std::string("select string_agg(coalesce(v, 'NULL'), ' | ') from (select ") + c.name +
                        "::text as v from " + copied + " except all select " + c.name + "::text from " + schema_ +
                        ".expected) d");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_FALSE(r->rows[0][0].has_value()) << "column " << c.name << " has unexpected values: " << *r->rows[0][0];
  }
}

TEST_F(PgCopyTest, NestedAndJsonValuesArriveAsTextAndJsonb) {
  ASSERT_TRUE(duck_
                  ->Execute("CREATE TABLE src AS SELECT [1, 2, NULL] AS l, {'a': 1, 'b': 'x'} AS st, "
                            "'{\"k\": [1, 2]}'::JSON AS j, 'red'::ENUM ('red', 'green') AS e")
                  .ok());
  auto described = DescribeForPostgres(duck_.get(), "SELECT * FROM src");
  ASSERT_TRUE(described.ok());
  std::vector<std::string> types;
  for (const auto& c : *described) types.push_back(c.pg_type);
  EXPECT_EQ(types, (std::vector<std::string>{"text", "text", "jsonb", "text"}));
  const std::string t = schema_ + ".nested";
  ASSERT_TRUE(pg_->Execute(PostgresCreateTable(t, *described)).ok());
  auto stats = CopyToPostgres(duck_.get(), "SELECT * FROM src", *described, pg_.get(), t);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  auto r = pg_->Query("select l, st, j -> 'k' ->> 1, e from " + t);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rows[0][0], "[1, 2, NULL]");
  EXPECT_EQ(r->rows[0][1], "{'a': 1, 'b': x}");
  EXPECT_EQ(r->rows[0][2], "2");
  EXPECT_EQ(r->rows[0][3], "red");
}

TEST_F(PgCopyTest, ManyChunksStreamAndAFailedReadKeepsNoRows) {
  // 300,000 rows: ~150 DuckDB chunks, several libpq round trips.
  const std::string t = schema_ + ".big";
  auto described =
      DescribeForPostgres(duck_.get(), "SELECT range AS n, range * 0.5 AS half, 'r' || range AS s FROM range(300000)");
  ASSERT_TRUE(described.ok());
  ASSERT_TRUE(pg_->Execute(PostgresCreateTable(t, *described)).ok());
  auto stats =
      CopyToPostgres(duck_.get(), "SELECT range AS n, range * 0.5 AS half, 'r' || range AS s FROM range(300000)",
                     *described, pg_.get(), t);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->rows, 300000);
  auto sums = pg_->Query("select count(*), sum(n), sum(half), count(distinct s) from " + t);
  ASSERT_TRUE(sums.ok());
  EXPECT_EQ(sums->rows[0][0], "300000");
  EXPECT_EQ(sums->rows[0][1], "44999850000");    // 0 + ... + 299999
  EXPECT_EQ(sums->rows[0][2], "22499925000.0");  // half of it, numeric(.., 1)
  EXPECT_EQ(sums->rows[0][3], "300000");

  // A query that fails part-way (an error in a late chunk) leaves the table as it was.
  const std::string failing =
      "SELECT range AS n, range * 0.5 AS half, CASE WHEN range < 250000 THEN 'r' ELSE "
      "error('bad row ' || range) END AS s FROM range(300000)";
  auto f = CopyToPostgres(duck_.get(), failing, *described, pg_.get(), t);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("bad row"), std::string::npos) << f.status().ToString();
  EXPECT_NE(f.status().message().find(t), std::string::npos) << f.status().ToString();
  auto count = pg_->Query("select count(*) from " + t);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count->Scalar(), "300000");
}

}  // namespace
}  // namespace strata::warehouse
