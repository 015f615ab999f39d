// libpq layer against the real test cluster (scripts/pg_test_cluster.sh): connecting with a
// password, errors that name the server and the position, COPY in and out, a failed COPY
// that keeps nothing, cancelling a running statement and a lost connection.
#include "db/postgres.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "pg_testing.h"

namespace strata::pg {
namespace {

ConnectOptions TestOptions() {
  const testing::PgServer* s = testing::Postgres();
  return s == nullptr ? ConnectOptions() : testing::PgOptions(*s);
}

class PostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(testing::Postgres(), nullptr);
    auto c = Connection::Open(TestOptions());
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    conn_ = std::move(*c);
    // Each test in its own schema: tests of several binaries share the cluster.
    schema_ = "t_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name());
    for (auto& ch : schema_) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    ASSERT_TRUE(conn_
                    ->Execute("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE; CREATE SCHEMA " + schema_ +
                              "; SET search_path TO " + schema_)
                    .ok());
  }
  void TearDown() override {
    if (conn_) (void)conn_->Execute("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
  }
  std::unique_ptr<Connection> conn_;
  std::string schema_;
};

TEST_F(PostgresTest, QueriesReturnTextValuesTypesAndNulls) {
  auto r = conn_->Query(
      "SELECT 42::bigint AS n, 'it''s'::text AS s, NULL::int AS z, true AS b, "
      "DATE '2024-01-02' AS d, TIMESTAMPTZ '2024-01-02 03:04:05+02' AS ts, 1.50::numeric(6,2) AS x");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->columns, (std::vector<std::string>{"n", "s", "z", "b", "d", "ts", "x"}));
  EXPECT_EQ(r->column_types,
            (std::vector<std::string>{"BIGINT", "TEXT", "INTEGER", "BOOLEAN", "DATE", "TIMESTAMPTZ", "NUMERIC"}));
  ASSERT_EQ(r->rows.size(), 1u);
  const sql::Row& row = r->rows[0];
  EXPECT_EQ(row[0], "42");
  EXPECT_EQ(row[1], "it's");
  EXPECT_FALSE(row[2].has_value());
  EXPECT_EQ(row[3], "true");
  EXPECT_EQ(row[4], "2024-01-02");
  EXPECT_EQ(row[5], "2024-01-02 01:04:05+00");  // sessions run in UTC
  EXPECT_EQ(row[6], "1.50");

  auto p = conn_->Query("SELECT $1::int + 1, $2::text IS NULL", {std::string("41"), std::nullopt});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->rows[0][0], "42");
  EXPECT_EQ(p->rows[0][1], "true");

  ASSERT_TRUE(conn_->Execute("CREATE TABLE t (a int); INSERT INTO t VALUES (1), (2), (3)").ok());
  auto u = conn_->Query("UPDATE t SET a = a + 1 WHERE a > 1");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->rows_changed, 2);
  EXPECT_EQ(QuoteIdent("a\"b"), "\"a\"\"b\"");
  EXPECT_EQ(QuoteLiteral("it's"), "'it''s'");
}

TEST_F(PostgresTest, ErrorsNameTheServerStateAndPosition) {
  auto r = conn_->Query("SELECT 1\nFROM   nosuch_table");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("PostgreSQL strata@127.0.0.1:"), std::string::npos) << m;
  EXPECT_NE(m.find("relation \"nosuch_table\" does not exist"), std::string::npos) << m;
  EXPECT_NE(m.find("SQLSTATE 42P01"), std::string::npos) << m;
  EXPECT_NE(m.find("line 2, column 8"), std::string::npos) << m;
  // A failed statement inside a transaction: the transaction is still open (and failed).
  ASSERT_TRUE(conn_->Begin().ok());
  EXPECT_FALSE(conn_->Execute("SELECT 1/0").ok());
  EXPECT_TRUE(conn_->InTransaction());
  EXPECT_TRUE(conn_->Rollback().ok());
  EXPECT_FALSE(conn_->InTransaction());
}

TEST_F(PostgresTest, ConnectionFailuresAreClearAndNeverShowThePassword) {
  ConnectOptions wrong = TestOptions();
  wrong.password = "not-the-password-4711";
  auto c = Connection::Open(wrong);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(c.status().message().find("password authentication failed"), std::string::npos) << c.status().message();
  EXPECT_EQ(c.status().message().find("4711"), std::string::npos);

  ConnectOptions nobody = TestOptions();
  nobody.port = 1;  // nothing listens there
  nobody.connect_timeout_seconds = 2;
  c = Connection::Open(nobody);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(c.status().message().find("127.0.0.1:1/"), std::string::npos) << c.status().message();

  ConnectOptions nodb = TestOptions();
  nodb.dbname = "no_such_db";
  c = Connection::Open(nodb);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("no_such_db"), std::string::npos) << c.status().message();
}

TEST_F(PostgresTest, CopyInAndOutStreamRows) {
  ASSERT_TRUE(conn_->Execute("CREATE TABLE t (id int PRIMARY KEY, name text)").ok());
  // 10,000 rows in pieces that split rows in the middle.
  std::string all;
  for (int i = 0; i < 10000; ++i) all += std::to_string(i) + "\tname " + std::to_string(i) + "\n";
  size_t off = 0;
  auto rows = conn_->CopyIn("COPY t FROM STDIN", [&](std::string* buf) -> Result<bool> {
    const size_t n = std::min<size_t>(777, all.size() - off);
    buf->append(all, off, n);
    off += n;
    return off < all.size();
  });
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(*rows, 10000);
  std::string out;
  int calls = 0;
  auto copied = conn_->CopyOut("COPY (SELECT * FROM t ORDER BY id) TO STDOUT", [&](std::string_view row) {
    out.append(row);
    ++calls;
    return Status::OK();
  });
  ASSERT_TRUE(copied.ok()) << copied.status().ToString();
  EXPECT_EQ(*copied, 10000);
  EXPECT_EQ(calls, 10000);
  EXPECT_EQ(out, all);
}

TEST_F(PostgresTest, AFailedCopyKeepsNoRows) {
  ASSERT_TRUE(conn_->Execute("CREATE TABLE t (id int, name text)").ok());
  // Our side fails half-way: the server aborts the COPY.
  int calls = 0;
  auto r = conn_->CopyIn("COPY t FROM STDIN", [&](std::string* buf) -> Result<bool> {
    if (++calls == 3) return Status::IOError("lake file orders/part-2.parquet is truncated");
    *buf = std::to_string(calls) + "\tx\n";
    return true;
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "lake file orders/part-2.parquet is truncated");
  // Bad data: the server names the line and column of the COPY data.
  r = conn_->CopyIn("COPY t FROM STDIN", [&](std::string* buf) -> Result<bool> {
    *buf = "1\ta\nnot-a-number\tb\n";
    return false;
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("COPY t, line 2"), std::string::npos) << r.status().message();
  auto n = conn_->Query("SELECT count(*) FROM t");
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(n->Scalar(), "0");
}

TEST_F(PostgresTest, CancelStopsARunningStatement) {
  auto t0 = std::chrono::steady_clock::now();
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    conn_->Cancel();
  });
  Status s = conn_->Execute("SELECT pg_sleep(30)");
  canceller.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(s.code(), Status::Code::kAborted) << s.ToString();
  EXPECT_LT(secs, 10);
  EXPECT_TRUE(conn_->Query("SELECT 1").ok());  // the connection is still usable
}

TEST_F(PostgresTest, ALostConnectionIsUnavailable) {
  auto pid = conn_->Query("SELECT pg_backend_pid()");
  ASSERT_TRUE(pid.ok());
  auto other = Connection::Open(TestOptions());
  ASSERT_TRUE(other.ok());
  // The server ends our session (as on a restart or an administrator's command).
  ASSERT_TRUE((*other)->Query("SELECT pg_terminate_backend(" + *pid->Scalar() + ")").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto r = conn_->Query("SELECT 1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable) << r.status().ToString();
  conn_.reset();
}

}  // namespace
}  // namespace strata::pg
