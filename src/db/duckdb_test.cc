#include "db/duckdb.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace strata::duck {
namespace {

TEST(DuckDbWrapper, QueryTypesPreparedAndAppender) {
  auto db = *Database::Open("");
  auto c = *db->Connect();
  ASSERT_TRUE(c->Execute("CREATE TABLE t (a BIGINT, b VARCHAR, c DECIMAL(10,2), d TIMESTAMP, e DATE, f DOUBLE)").ok());
  auto app = *c->CreateAppender("main", "t");
  ASSERT_TRUE(app->Append(int64_t{1}).ok());
  ASSERT_TRUE(app->Append(std::string_view("x")).ok());
  ASSERT_TRUE(app->Append(12.5).ok());
  ASSERT_TRUE(app->Append(std::string_view("2024-01-02 03:04:05")).ok());
  ASSERT_TRUE(app->Append(std::string_view("2024-01-02")).ok());
  ASSERT_TRUE(app->AppendNull().ok());
  ASSERT_TRUE(app->EndRow().ok());
  ASSERT_TRUE(app->Close().ok());
  auto r = c->Query("SELECT * FROM t");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->rows.size(), 1u);
  EXPECT_EQ(*r->rows[0][0], "1");
  EXPECT_EQ(*r->rows[0][1], "x");
  EXPECT_EQ(*r->rows[0][2], "12.50");
  EXPECT_EQ(*r->rows[0][3], "2024-01-02 03:04:05");
  EXPECT_EQ(*r->rows[0][4], "2024-01-02");
  EXPECT_FALSE(r->rows[0][5].has_value());
  EXPECT_EQ(r->column_types[2], "DECIMAL(10,2)");

  auto ps = *c->Prepare("SELECT ? + 1, ?");
  ASSERT_TRUE(ps->Bind(1, int64_t{41}).ok());
  ASSERT_TRUE(ps->Bind(2, std::string_view("it's")).ok());
  auto pr = ps->Execute();
  EXPECT_EQ(*pr->rows[0][0], "42");
  EXPECT_EQ(*pr->rows[0][1], "it's");

  auto bad = c->Query("SELEC 1");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("syntax error"), std::string::npos) << bad.status().message();
  EXPECT_EQ(QuoteIdent("a\"b"), "\"a\"\"b\"");
  EXPECT_EQ(QuoteLiteral("it's"), "'it''s'");
}

TEST(DuckDbWrapper, HugeIntegersRenderExactly) {
  auto db = *Database::Open("");
  auto c = *db->Connect();
  // The expected digits are 2^100 and -(2^127), written out independently.
  auto r = c->Query(
      "SELECT sum(x), 1::HUGEINT << 100, (-170141183460469231731687303715884105728)::HUGEINT, "
      "340282366920938463463374607431768211455::UHUGEINT FROM (VALUES (1::BIGINT), (2::BIGINT)) v(x)");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->column_types[0], "HUGEINT");
  EXPECT_EQ(*r->rows[0][0], "3");
  EXPECT_EQ(*r->rows[0][1], "1267650600228229401496703205376");
  EXPECT_EQ(*r->rows[0][2], "-170141183460469231731687303715884105728");
  EXPECT_EQ(*r->rows[0][3], "340282366920938463463374607431768211455");
}

TEST(DuckDbWrapper, InterruptStopsARunningQuery) {
  auto db = *Database::Open("", {{"threads", "1"}});
  auto c = *db->Connect();
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    c->Interrupt();
  });
  auto start = std::chrono::steady_clock::now();
  auto r = c->Query("SELECT count(*) FROM range(10000000000) a");
  stopper.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kAborted) << r.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
}

}  // namespace
}  // namespace strata::duck
