// The dashboard API on a PostgreSQL publish target: the same answers as on DuckDB, read in
// READ ONLY transactions with the server's statement timeout, and the publication log as the
// version.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "db/postgres.h"
#include "pg_testing.h"
#include "serve/api.h"
#include "testing.h"

namespace strata::serve {
namespace {

using nlohmann::json;

class PgApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const testing::PgServer* server = testing::Postgres();
    ASSERT_NE(server, nullptr);
    options_ = testing::PgOptions(*server);
    schema_ = "serve_" + std::to_string(::getpid());
    admin_ = *pg::Connection::Open(options_);
    ASSERT_TRUE(admin_
                    ->Execute("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE; CREATE SCHEMA " + schema_ +
                              ";"
                              "CREATE TABLE " +
                              schema_ +
                              ".orders AS SELECT g AS id, (g % 7) * 10 + 5 AS amount,"
                              " (ARRAY['books','toys','garden'])[g % 3 + 1] AS category,"
                              " DATE '2024-01-01' + (g % 20) AS placed_on FROM generate_series(0, 199) g;"
                              "CREATE SEQUENCE " +
                              schema_ + ".s;")
                    .ok());
    testing::WriteText(dir_.Sub("dashboards/sales.yml"),
                       "filters:\n"
                       "  period: {type: date_range, default: last_7_days,\n"
                       "           anchor: \"select max(placed_on) from {{ ref('orders') }}\"}\n"
                       "  category: {type: category, multiple: true}\n"
                       "cards:\n"
                       "  - id: revenue\n    viz: number\n    compare: previous_period\n"
                       "    sql: \"select coalesce(sum(amount), 0) as revenue from {{ ref('orders') }} where placed_on "
                       "between {{ period.start }} and {{ period.end }} [[ and category in {{ category }} ]]\"\n"
                       "  - {id: write, sql: \"select nextval('s')\"}\n"
                       "  - {id: slow, sql: \"select pg_sleep(5)\"}\n");
    publications_ = Publications::Postgres(options_, schema_, 2);
    ApiOptions o;
    o.dashboards_dir = dir_.Sub("dashboards");
    o.limits.timeout_ms = 500;
    api_ = std::make_unique<Api>(publications_.get(), o);
  }
  void TearDown() override { (void)admin_->Execute("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE"); }

  void Publish(int64_t rows) {
    ASSERT_TRUE(admin_
                    ->Execute("CREATE TABLE IF NOT EXISTS " + schema_ +
                              "._strata_publications (relation text, unique_id text, built_from text, row_count "
                              "bigint, run_id text, logical_date text, published_at timestamp);"
                              "INSERT INTO " +
                              schema_ + "._strata_publications VALUES ('orders', 'model.x.orders', 'x', " +
                              std::to_string(rows) + ", 'r', '2024-01-20', clock_timestamp())")
                    .ok());
  }

  ApiResponse Get(const std::string& path, std::vector<std::pair<std::string, std::string>> query = {}) {
    ApiRequest r;
    r.path = path;
    r.query = std::move(query);
    return api_->Handle(r);
  }

  static double Revenue(int from_day, int to_day, const std::set<std::string>& cats = {}) {
    const char* names[] = {"books", "toys", "garden"};
    double sum = 0;
    for (int g = 0; g < 200; ++g) {
      const int day = 1 + g % 20;
      if (day < from_day || day > to_day) continue;
      if (!cats.empty() && !cats.contains(names[g % 3])) continue;
      sum += (g % 7) * 10 + 5;
    }
    return sum;
  }

  testing::TempDir dir_;
  pg::ConnectOptions options_;
  std::string schema_;
  std::unique_ptr<pg::Connection> admin_;
  std::unique_ptr<Publications> publications_;
  std::unique_ptr<Api> api_;
};

TEST_F(PgApiTest, AnswersFromThePublishedSchemaReadOnly) {
  ApiResponse nothing = Get("/api/dashboards/sales/cards/revenue");
  EXPECT_EQ(nothing.status, 409) << nothing.body;
  Publish(200);
  sleep(1);  // the publication log is looked at once a second
  ApiResponse r = Get("/api/dashboards/sales/cards/revenue");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  EXPECT_EQ(j["period"], json({"2024-01-14", "2024-01-20"}));
  EXPECT_DOUBLE_EQ(j["rows"][0][0].get<double>(), Revenue(14, 20));
  EXPECT_DOUBLE_EQ(j["previous"]["rows"][0][0].get<double>(), Revenue(7, 13));
  ApiResponse books = Get("/api/dashboards/sales/cards/revenue",
                          {{"period", "all_time"}, {"category", "books"}, {"category", "x') or ('1'='1"}});
  ASSERT_EQ(books.status, 200) << books.body;
  EXPECT_DOUBLE_EQ(json::parse(books.body)["rows"][0][0].get<double>(), Revenue(1, 20, {"books"}));

  ApiResponse write = Get("/api/dashboards/sales/cards/write");
  EXPECT_GE(write.status, 400);
  EXPECT_NE(write.body.find("read-only"), std::string::npos) << write.body;
  auto count = admin_->Query("SELECT count(*) FROM " + schema_ + ".orders");
  EXPECT_EQ(count->Scalar().value_or(""), "200");
  ApiResponse slow = Get("/api/dashboards/sales/cards/slow");
  EXPECT_EQ(slow.status, 504) << slow.body;
  // The pool recovered from both.
  EXPECT_EQ(Get("/api/dashboards/sales/cards/revenue").status, 200);

  // A new publication of the relation: the card is read again.
  EXPECT_EQ(Get("/api/dashboards/sales/cards/revenue").headers["X-Strata-Cache"], "hit");
  ASSERT_TRUE(admin_->Execute("UPDATE " + schema_ + ".orders SET amount = amount + 1").ok());
  Publish(200);
  sleep(1);
  ApiResponse again = Get("/api/dashboards/sales/cards/revenue");
  EXPECT_EQ(again.headers["X-Strata-Cache"], "miss");
  EXPECT_DOUBLE_EQ(json::parse(again.body)["rows"][0][0].get<double>(), Revenue(14, 20) + 70);  // 70 rows in 7 days
}

}  // namespace
}  // namespace strata::serve
