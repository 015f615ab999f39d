// The dashboard API on a real serving copy: answers equal an independent computation over the
// rows the test wrote, filters bind (injection attempts stay values), bad input gets a clear
// 4xx, the cache follows the data, and a new publication is picked up while serving.
#include "serve/api.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/file.h"
#include "db/duckdb.h"
#include "serve/auth.h"
#include "serve/embed.h"
#include "serve/server.h"
#include "serve/validate.h"
#include "testing.h"
#include "warehouse/serving_copy.h"

namespace strata::serve {
namespace {

using nlohmann::json;
using testing::WriteText;

// The rows the warehouse holds: order i has amount (i % 7) * 10 + 5, category cats[i % 3],
// segment segs[i % 2], placed on 2024-01-01 + (i % 20) days.
const char* kCats[] = {"books", "toys", "garden"};
const char* kSegs[] = {"gold", "silver"};
constexpr int kOrders = 200;

struct Order {
  int id;
  double amount;
  std::string category, segment;
  Date day;
};

std::vector<Order> Orders(int n, double bump = 0) {
  std::vector<Order> out;
  for (int i = 0; i < n; ++i) {
    out.push_back({i, (i % 7) * 10 + 5 + bump, kCats[i % 3], kSegs[i % 2], Date::FromYmd(2024, 1, 1) + (i % 20)});
  }
  return out;
}

const char* kDashboard = R"(title: Sales
description: Test dashboard
filters:
  period: {type: date_range, default: last_7_days, anchor: "select max(placed_on) from {{ ref('orders') }}"}
  category: {type: category, multiple: true, values: "select distinct category from {{ ref('orders') }} order by 1"}
  segment: {type: category, values: "select distinct segment from {{ ref('orders') }} where true [[ and category in {{ category }} ]] order by 1"}
columns:
  revenue: {format: currency}
cards:
  - id: revenue
    viz: number
    compare: previous_period
    sql: |
      select coalesce(sum(amount), 0) as revenue from {{ ref('orders') }}
      where placed_on between {{ period.start }} and {{ period.end }}
      [[ and category in {{ category }} ]]
      [[ and segment = {{ segment }} ]]
  - id: by_category
    viz: bar
    drill: {filter: category, column: category}
    model: orders
    dimensions: [category]
    measures: {revenue: sum(amount), orders: count(*)}
    where: {period: placed_on, category: category, segment: segment}
  - id: targets
    viz: table
    sql: select * from {{ ref('targets') }} order by category
)";

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = *duck::Database::Open(dir_.Sub("wh.duckdb"));
    conn_ = *db_->Connect();
    ASSERT_TRUE(conn_
                    ->Execute("CREATE SCHEMA analytics;"
                              "CREATE TABLE analytics.targets AS SELECT 'books' AS category, 100 AS target")
                    .ok());
    Publish(Orders(kOrders));
    WriteText(dir_.Sub("dashboards/sales.yml"), kDashboard);
    publications_ = Publications::ServingCopies(dir_.Sub("published"), "analytics", 2);
    ApiOptions options;
    options.dashboards_dir = dir_.Sub("dashboards");
    options.limits.timeout_ms = 2000;
    api_ = std::make_unique<Api>(publications_.get(), options);
  }

  void Publish(const std::vector<Order>& orders) {
    std::string values;
    for (const auto& o : orders) {
      values += std::string(values.empty() ? "" : ", ") + "(" + std::to_string(o.id) + ", " + std::to_string(o.amount) +
                ", '" + o.category + "', '" + o.segment + "', DATE '" + o.day.ToString() + "')";
    }
    ASSERT_TRUE(
        conn_
            ->Execute("CREATE OR REPLACE TABLE analytics.orders (id INT, amount DECIMAL(12,2), category VARCHAR, "
                      "segment VARCHAR, placed_on DATE); INSERT INTO analytics.orders VALUES " +
                      values)
            .ok());
    auto copy = warehouse::WriteServingCopy(conn_.get(), "analytics", dir_.Sub("published"));
    ASSERT_TRUE(copy.ok()) << copy.status().ToString();
  }

  ApiResponse Get(const std::string& path, std::vector<std::pair<std::string, std::string>> query = {}) {
    ApiRequest r;
    r.path = path;
    r.query = std::move(query);
    return api_->Handle(r);
  }
  json GetJson(const std::string& path, std::vector<std::pair<std::string, std::string>> query = {},
               int want_status = 200) {
    ApiResponse r = Get(path, std::move(query));
    EXPECT_EQ(r.status, want_status) << path << ": " << r.body;
    return json::parse(r.body);
  }

  // Revenue computed here from the rows, not by SQL.
  static double Revenue(const std::vector<Order>& orders, Date from, Date to, const std::set<std::string>& cats = {},
                        const std::string& segment = "") {
    double sum = 0;
    for (const auto& o : orders) {
      if (o.day < from || o.day > to) continue;
      if (!cats.empty() && !cats.contains(o.category)) continue;
      if (!segment.empty() && o.segment != segment) continue;
      sum += o.amount;
    }
    return sum;
  }

  testing::TempDir dir_;
  std::unique_ptr<duck::Database> db_;
  std::unique_ptr<duck::Connection> conn_;
  std::unique_ptr<Publications> publications_;
  std::unique_ptr<Api> api_;
};

TEST_F(ApiTest, ListsDashboardsAndTheirSpecs) {
  json list = GetJson("/api/dashboards");
  ASSERT_EQ(list["dashboards"].size(), 1u);
  EXPECT_EQ(list["dashboards"][0]["id"], "sales");
  json spec = GetJson("/api/dashboards/sales");
  EXPECT_EQ(spec["title"], "Sales");
  EXPECT_EQ(spec["models"], json({"orders", "targets"}));
  ASSERT_EQ(spec["cards"].size(), 3u);
  EXPECT_EQ(spec["cards"][0]["filters"], json({"category", "period", "segment"}));
  EXPECT_EQ(spec["cards"][2]["filters"], json::array()) << "a card without filters takes none";
  EXPECT_EQ(spec["filters"][2]["depends_on"], json({"category"}));
  EXPECT_EQ(spec.dump().find("select"), std::string::npos) << "the spec carries no SQL";
}

TEST_F(ApiTest, KpiEqualsAnIndependentComputationWithThePreviousPeriod) {
  const auto orders = Orders(kOrders);
  // Default: the last 7 days up to the newest order day (2024-01-20), and the 7 before.
  json r = GetJson("/api/dashboards/sales/cards/revenue");
  const Date last = Date::FromYmd(2024, 1, 20);
  EXPECT_EQ(r["period"], json({"2024-01-14", "2024-01-20"}));
  EXPECT_EQ(r["ranges"]["period"], json({"2024-01-14", "2024-01-20"}));
  EXPECT_NEAR(r["rows"][0][0].get<double>(), Revenue(orders, last - 6, last), 1e-6);
  EXPECT_EQ(r["previous"]["period"], json({"2024-01-07", "2024-01-13"}));
  EXPECT_NEAR(r["previous"]["rows"][0][0].get<double>(), Revenue(orders, last - 13, last - 7), 1e-6);

  json filtered = GetJson(
      "/api/dashboards/sales/cards/revenue",
      {{"period", "2024-01-03..2024-01-09"}, {"category", "books"}, {"category", "garden"}, {"segment", "gold"}});
  EXPECT_NEAR(filtered["rows"][0][0].get<double>(),
              Revenue(orders, Date::FromYmd(2024, 1, 3), Date::FromYmd(2024, 1, 9), {"books", "garden"}, "gold"), 1e-6);
  // An empty value clears a filter that has a default.
  json all = GetJson("/api/dashboards/sales/cards/revenue", {{"period", ""}});
  EXPECT_NEAR(all["rows"][0][0].get<double>(), Revenue(orders, Date::FromYmd(2000, 1, 1), Date::FromYmd(2100, 1, 1)),
              1e-6);
  EXPECT_FALSE(all.contains("previous")) << "no period, nothing to compare";
}

TEST_F(ApiTest, ModelCardsGroupAndFilter) {
  const auto orders = Orders(kOrders);
  json r = GetJson("/api/dashboards/sales/cards/by_category", {{"period", "all_time"}, {"segment", "silver"}});
  ASSERT_EQ(r["columns"][0]["name"], "category");
  ASSERT_EQ(r["rows"].size(), 3u);
  for (const auto& row : r["rows"]) {
    const std::string cat = row[0];
    EXPECT_NEAR(row[1].get<double>(),
                Revenue(orders, Date::FromYmd(2000, 1, 1), Date::FromYmd(2100, 1, 1), {cat}, "silver"), 1e-6)
        << cat;
  }
}

TEST_F(ApiTest, InjectionAttemptsInEveryFilterStayValues) {
  const std::vector<std::string> attacks = {"x' OR '1'='1",
                                            "'; DROP TABLE analytics.orders; --",
                                            "books') OR ('a'='a",
                                            "\") or 1=1 --",
                                            "$1",
                                            "{{ category }}",
                                            "[[ or true ]]",
                                            std::string("nul\0byte", 8)};
  for (const auto& attack : attacks) {
    for (const char* filter : {"category", "segment"}) {
      ApiResponse r = Get("/api/dashboards/sales/cards/revenue", {{"period", "all_time"}, {filter, attack}});
      ASSERT_EQ(r.status, 200) << filter << "=" << attack << ": " << r.body;
      EXPECT_EQ(json::parse(r.body)["rows"][0][0].get<double>(), 0) << filter << "=" << attack;
    }
    ApiResponse period = Get("/api/dashboards/sales/cards/revenue", {{"period", attack}});
    EXPECT_EQ(period.status, 400) << attack;
    ApiResponse values = Get("/api/dashboards/sales/filters/segment/values", {{"category", attack}, {"q", attack}});
    EXPECT_EQ(values.status, 200) << values.body;
    EXPECT_EQ(json::parse(values.body)["values"].size(), 0u);
  }
  // The data is all still there.
  json all = GetJson("/api/dashboards/sales/cards/revenue", {{"period", "all_time"}});
  EXPECT_NEAR(all["rows"][0][0].get<double>(),
              Revenue(Orders(kOrders), Date::FromYmd(2000, 1, 1), Date::FromYmd(2100, 1, 1)), 1e-6);
}

TEST_F(ApiTest, BadInputIsAClear4xx) {
  struct Case {
    std::string path;
    std::vector<std::pair<std::string, std::string>> query;
    int status;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"/api/dashboards/nope", {}, 404, "no dashboard 'nope'"},
      {"/api/dashboards/sales/cards/nope", {}, 404, "no card 'nope'"},
      {"/api/dashboards/sales/filters/nope/values", {}, 404, "no filter 'nope'"},
      {"/api/dashboards/sales/filters/period/values", {}, 400, "no list of values"},
      {"/api/dashboards/sales/cards/revenue", {{"colour", "red"}}, 400, "no filter 'colour'"},
      {"/api/dashboards/sales/cards/revenue", {{"period", "2024-13-01..2024-01-02"}}, 400, "YYYY-MM-DD"},
      {"/api/dashboards/sales/cards/revenue", {{"period", "2024-01-09..2024-01-02"}}, 400, "ends before"},
      {"/api/dashboards/sales/cards/revenue", {{"period", "last_3_fortnights"}}, 400, "unknown date range"},
      {"/api/dashboards/sales/cards/revenue", {{"segment", "gold"}, {"segment", "silver"}}, 400, "takes one value"},
      {"/api/dashboards/sales/cards/revenue", {{"segment", std::string(5000, 'x')}}, 400, "over 1,000 bytes"},
      {"/api/dashboards/sales/cards/revenue", {{"format", "xml"}}, 400, "csv or json"},
      {"/api/nothing", {}, 404, "no such API path"},
      {"/api/dashboards/sales/cards/revenue/extra/parts", {}, 404, "no such API path"},
  };
  for (const auto& c : cases) {
    ApiResponse r = Get(c.path, c.query);
    EXPECT_EQ(r.status, c.status) << c.path << ": " << r.body;
    auto body = json::parse(r.body, nullptr, false);
    ASSERT_FALSE(body.is_discarded()) << r.body;
    EXPECT_NE(body.value("error", "").find(c.says), std::string::npos) << c.path << ": " << r.body;
  }
  std::vector<std::pair<std::string, std::string>> many;
  for (int i = 0; i < 1001; ++i) many.emplace_back("category", "c" + std::to_string(i));
  EXPECT_EQ(Get("/api/dashboards/sales/cards/revenue", many).status, 400);
  ApiRequest post;
  post.method = "POST";
  post.path = "/api/dashboards";
  EXPECT_EQ(api_->Handle(post).status, 405);
}

TEST_F(ApiTest, ExportsCsvAndJson) {
  ApiResponse csv = Get("/api/dashboards/sales/cards/targets", {{"format", "csv"}});
  ASSERT_EQ(csv.status, 200);
  EXPECT_EQ(csv.body, "category,target\r\nbooks,100\r\n");
  EXPECT_EQ(csv.content_type, "text/csv; charset=utf-8");
  EXPECT_NE(csv.headers["Content-Disposition"].find("sales-targets.csv"), std::string::npos);
  ApiResponse j = Get("/api/dashboards/sales/cards/targets", {{"format", "json"}});
  EXPECT_EQ(json::parse(j.body), json::parse(R"([{"category": "books", "target": 100}])"));
  json sql = GetJson("/api/dashboards/sales/cards/revenue/sql", {{"segment", "gold"}});
  EXPECT_NE(sql["sql"].get<std::string>().find("{{ period.start }}"), std::string::npos);
  EXPECT_NE(sql["bound_sql"].get<std::string>().find("segment = $3"), std::string::npos) << sql.dump();
  EXPECT_EQ(sql["params"][2], "gold");
}

TEST_F(ApiTest, LinkedFilterValuesFollowTheirParent) {
  json all = GetJson("/api/dashboards/sales/filters/segment/values");
  EXPECT_EQ(all["values"], json({"gold", "silver"}));
  json cats = GetJson("/api/dashboards/sales/filters/category/values", {{"q", "O"}});
  EXPECT_EQ(cats["values"], json({"books", "toys"})) << "case-insensitive search";
  // Only silver customers bought... nothing is that narrow here: every category has both.
  ASSERT_TRUE(conn_->Execute("DELETE FROM analytics.orders WHERE category = 'toys' AND segment = 'gold'").ok());
  ASSERT_TRUE(warehouse::WriteServingCopy(conn_.get(), "analytics", dir_.Sub("published")).ok());
  json toys = GetJson("/api/dashboards/sales/filters/segment/values", {{"category", "toys"}});
  EXPECT_EQ(toys["values"], json({"silver"}));
}

TEST_F(ApiTest, TheCacheFollowsTheDataOfEachCard) {
  GetJson("/api/dashboards/sales/cards/revenue");
  GetJson("/api/dashboards/sales/cards/targets");
  EXPECT_EQ(api_->stats().cache_misses, 2);
  EXPECT_EQ(Get("/api/dashboards/sales/cards/revenue").headers["X-Strata-Cache"], "hit");
  EXPECT_EQ(Get("/api/dashboards/sales/cards/targets").headers["X-Strata-Cache"], "hit");
  // A new publication where only orders changed: the revenue card reloads, targets does not.
  auto bumped = Orders(kOrders, 1.0);
  Publish(bumped);
  ApiResponse revenue = Get("/api/dashboards/sales/cards/revenue");
  EXPECT_EQ(revenue.headers["X-Strata-Cache"], "miss");
  EXPECT_EQ(revenue.headers["X-Strata-Publication"], "2");
  const Date last = Date::FromYmd(2024, 1, 20);
  EXPECT_NEAR(json::parse(revenue.body)["rows"][0][0].get<double>(), Revenue(bumped, last - 6, last), 1e-6);
  EXPECT_EQ(Get("/api/dashboards/sales/cards/targets").headers["X-Strata-Cache"], "hit");
  // Republishing the same rows changes nothing a card reads.
  Publish(bumped);
  EXPECT_EQ(Get("/api/dashboards/sales/cards/revenue").headers["X-Strata-Cache"], "hit");
}

TEST_F(ApiTest, NothingPublishedIs409AndBrokenFilesAreNamed) {
  auto empty = Publications::ServingCopies(dir_.Sub("nothing"), "analytics", 1);
  ApiOptions options;
  options.dashboards_dir = dir_.Sub("dashboards");
  Api api(empty.get(), options);
  ApiRequest r;
  r.path = "/api/dashboards/sales/cards/revenue";
  ApiResponse resp = api.Handle(r);
  EXPECT_EQ(resp.status, 409);
  EXPECT_NE(resp.body.find("nothing is published yet"), std::string::npos);

  WriteText(dir_.Sub("dashboards/broken.yml"), "title: Broken\ncards:\n  - id: x\n    viz: bra\n    sql: select 1\n");
  ApiResponse list = Get("/api/dashboards");
  EXPECT_EQ(list.status, 500);
  EXPECT_NE(list.body.find("broken.yml:4:"), std::string::npos) << list.body;
  EXPECT_NE(list.body.find("unknown viz 'bra' (did you mean"), std::string::npos) << list.body;
}

TEST_F(ApiTest, QueriesCannotReadFilesOrRunForever) {
  WriteText(dir_.Sub("secret.csv"), "a\nsecret\n");
  WriteText(dir_.Sub("dashboards/evil.yml"),
            "cards:\n"
            "  - {id: file, viz: table, sql: \"select * from read_csv('" +
                dir_.Sub("secret.csv") +
                "')\"}\n"
                "  - {id: attach, viz: table, sql: \"select 1 from (select 1) t; attach '" +
                dir_.Sub("wh.duckdb") +
                "' as w\"}\n"
                "  - {id: write, viz: table, sql: \"insert into analytics.targets values ('x', 1) returning *\"}\n"
                "  - {id: slow, viz: table, sql: \"select count(*) from range(100000000000) a\"}\n");
  for (const char* card : {"file", "attach", "write"}) {
    ApiResponse r = Get(std::string("/api/dashboards/evil/cards/") + card);
    EXPECT_GE(r.status, 400) << card << ": " << r.body;
    EXPECT_EQ(r.body.find("secret\""), std::string::npos) << r.body;
  }
  const auto started = std::chrono::steady_clock::now();
  ApiResponse slow = Get("/api/dashboards/evil/cards/slow");
  EXPECT_EQ(slow.status, 504) << slow.body;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  json targets = GetJson("/api/dashboards/sales/cards/targets");
  EXPECT_EQ(targets["rows"].size(), 1u) << "nothing was written";
}

TEST_F(ApiTest, TheExplorerRunsOneReadOnlyQueryAndMakesCards) {
  auto post = [&](const json& body, const std::string& path = "/api/query") {
    ApiRequest r;
    r.method = "POST";
    r.path = path;
    r.body = body.dump();
    return api_->Handle(r);
  };
  ApiResponse ok = post({{"sql", "select category, count(*) as n from {{ ref('orders') }} group by 1 order by 1"}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  json j = json::parse(ok.body);
  EXPECT_EQ(j["rows"], json::parse(R"([["books", 67], ["garden", 66], ["toys", 67]])"));
  // Plain SQL on the published schema works too, with the row limit.
  ApiResponse limited = post({{"sql", "select * from analytics.orders"}, {"limit", 5}});
  ASSERT_EQ(limited.status, 200) << limited.body;
  EXPECT_EQ(json::parse(limited.body)["rows"].size(), 5u);
  EXPECT_TRUE(json::parse(limited.body)["truncated"].get<bool>());
  const std::vector<std::pair<json, std::string>> bad = {
      {{{"sql", "select * from nowhere"}}, "nowhere"},
      {{{"sql", "delete from analytics.orders"}}, ""},
      {{{"sql", "select 1; select 2"}}, ""},
      {{{"sql", "select {{ category }}"}}, "no filters"},
      {{{"sql", "   ;  "}}, "empty"},
      {{{"sql", 42}}, "the body needs"},
      {{{"sql", "select 1"}, {"limit", 0}}, "limit"},
      {{{"sql", "select 1"}, {"limit", "all"}}, "limit"},
      {{{"sql", "copy analytics.orders to '/tmp/x.csv'"}}, ""},
  };
  for (const auto& [body, says] : bad) {
    ApiResponse r = post(body);
    EXPECT_EQ(r.status, 400) << body.dump() << ": " << r.body;
    EXPECT_NE(r.body.find(says), std::string::npos) << body.dump() << ": " << r.body;
    EXPECT_EQ(r.body.find("strata_card"), std::string::npos) << "the error quotes our wrapper: " << r.body;
  }
  ApiRequest not_json;
  not_json.method = "POST";
  not_json.path = "/api/query";
  not_json.body = "sql=select 1";
  EXPECT_EQ(api_->Handle(not_json).status, 400);
  ApiRequest get;
  get.path = "/api/query";
  EXPECT_EQ(api_->Handle(get).status, 405);
  json count = json::parse(post({{"sql", "select count(*) from analytics.orders"}}).body);
  EXPECT_EQ(count["rows"][0][0], kOrders) << "nothing was deleted";

  // A question becomes a card that a dashboard file takes as it is.
  ApiResponse card =
      post({{"sql", "select category,\n  sum(amount) as revenue   \nfrom {{ ref('orders') }}\ngroup by 1"},
            {"id", "by_cat"},
            {"title", "Revenue: \"by\" category"},
            {"viz", "bar"},
            {"chart", {{"x", "category"}, {"y", {"revenue"}}}}},
           "/api/query/card");
  ASSERT_EQ(card.status, 200) << card.body;
  const std::string yaml = json::parse(card.body)["yaml"];
  WriteText(dir_.Sub("dashboards/made.yml"), "title: Made\ncards:\n" + yaml);
  auto made = LoadDashboard(dir_.Sub("dashboards/made.yml"));
  ASSERT_TRUE(made.ok()) << made.status().ToString() << "\n" << yaml;
  EXPECT_EQ(made->cards[0].title, "Revenue: \"by\" category");
  EXPECT_EQ(made->cards[0].chart["x"], "category");
  json rows = GetJson("/api/dashboards/made/cards/by_cat");
  EXPECT_EQ(rows["rows"].size(), 3u);
  EXPECT_EQ(post({{"sql", "select 1"}, {"id", "Bad Id"}}, "/api/query/card").status, 400);
}

TEST_F(ApiTest, ValidateFindsWhatOnlyTheDataCanTell) {
  WriteText(dir_.Sub("v.yml"),
            "filters:\n  period: {type: date_range}\ncards:\n"
            "  - {id: ok, viz: bar, chart: {x: category, y: [revenue]}, sql: \"select category, sum(amount) as revenue "
            "from {{ ref('orders') }} where placed_on between {{ period.start }} and {{ period.end }} group by 1\"}\n"
            "  - {id: typo, viz: bar, chart: {x: categroy, y: [revenue]}, drill: {filter: period, column: x}, "
            "sql: \"select category, 1 as revenue from {{ ref('orders') }}\"}\n"
            "  - {id: column, sql: \"select nope from {{ ref('orders') }}\"}\n"
            "  - {id: unpublished, sql: \"select * from {{ ref('staging_orders') }}\"}\n"
            "  - {id: unknown, sql: \"select * from {{ ref('ghost') }}\"}\n");
  auto d = LoadDashboard(dir_.Sub("v.yml"));
  // drill on a date range is refused when the file is read.
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("drill sets a category"), std::string::npos);
  std::string text = *ReadFile(dir_.Sub("v.yml"));
  text.replace(text.find("drill: {filter: period, column: x}, "), 36, "");
  WriteText(dir_.Sub("v.yml"), text);
  d = LoadDashboard(dir_.Sub("v.yml"));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  auto pub = *publications_->Current();
  ValidateOptions o;
  o.publication = pub.get();
  o.model_exists = [](const std::string& m) { return m != "ghost"; };
  std::map<std::string, std::string> found;
  for (const auto& p : Validate(*d, o)) {
    const std::string card = p.where.substr(p.where.find("cards[") + 6, 1);
    found[card] += p.message + "\n";
  }
  EXPECT_FALSE(found.contains("0")) << found["0"];
  EXPECT_NE(found["1"].find("chart.x names column 'categroy', which the query does not return (did you mean "
                            "'category'?)"),
            std::string::npos)
      << found["1"];
  EXPECT_NE(found["2"].find("does not run"), std::string::npos) << found["2"];
  EXPECT_NE(found["3"].find("'staging_orders' is not published"), std::string::npos) << found["3"];
  EXPECT_NE(found["4"].find("no model 'ghost'"), std::string::npos) << found["4"];
}

// A Server serving on its own thread until the end of the scope.
class RunningServer {
 public:
  RunningServer(Api* api, const ServerOptions& options) : server_(api, options) {
    bound_ = server_.Bind();
    if (bound_.ok()) thread_ = std::thread([this] { (void)server_.Run(); });
  }
  ~RunningServer() {
    server_.Stop();
    if (thread_.joinable()) thread_.join();
  }
  bool ok() const { return bound_.ok(); }
  int port() const { return server_.port(); }

 private:
  Server server_;
  Status bound_;
  std::thread thread_;
};

// Over HTTP: the server answers the app's pages and the API, with security headers, and
// cannot be made to fail by malformed requests.
TEST_F(ApiTest, TheServerAnswersOverHttp) {
  ServerOptions options;
  options.port = 0;
  options.threads = 4;
  RunningServer server(api_.get(), options);
  ASSERT_TRUE(server.ok());
  httplib::Client client("127.0.0.1", server.port());
  client.set_read_timeout(10, 0);
  auto page = client.Get("/d/sales?period=last_7_days");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page->get_header_value("Content-Security-Policy").find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(page->get_header_value("X-Frame-Options"), "DENY");
  auto echarts = client.Get("/vendor/echarts.min.js");
  ASSERT_TRUE(echarts);
  EXPECT_EQ(echarts->status, 200);
  EXPECT_GT(echarts->body.size(), 500000u);
  httplib::Headers again = {{"If-None-Match", echarts->get_header_value("ETag")}};
  auto cached = client.Get("/vendor/echarts.min.js", again);
  ASSERT_TRUE(cached);
  EXPECT_EQ(cached->status, 304);
  auto card = client.Get("/api/dashboards/sales/cards/revenue?category=books&category=toys&period=all_time");
  ASSERT_TRUE(card);
  EXPECT_EQ(card->status, 200);
  EXPECT_NEAR(json::parse(card->body)["rows"][0][0].get<double>(),
              Revenue(Orders(kOrders), Date::FromYmd(2000, 1, 1), Date::FromYmd(2100, 1, 1), {"books", "toys"}), 1e-6);
  auto encoded =
      client.Get("/api/dashboards/sales/cards/revenue?segment=%27%3B%20DROP%20TABLE%20x%3B--&period=all_time");
  ASSERT_TRUE(encoded);
  EXPECT_EQ(encoded->status, 200);
  auto missing = client.Get("/no/such/file.js");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  auto post = client.Post("/api/dashboards", std::string(200 * 1024, 'x'), "application/json");
  ASSERT_TRUE(post);
  EXPECT_GE(post->status, 400);
  EXPECT_LT(post->status, 500);
  auto long_url = client.Get("/api/dashboards/sales/cards/revenue?segment=" + std::string(20000, 'a'));
  ASSERT_TRUE(long_url);
  EXPECT_GE(long_url->status, 400);
  EXPECT_LT(long_url->status, 500);
  // Still serving.
  auto list = client.Get("/api/dashboards");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->status, 200);
}

// Logins over HTTP: nothing without a session, a cookie only the server can read, CSRF
// tokens on POST, roles, logout, and rate limiting.
TEST_F(ApiTest, LoginsGuardTheApi) {
  Users users;
  ASSERT_TRUE(users.Set("ana", Role::kEditor, "correct horse battery").ok());
  ASSERT_TRUE(users.Set("bo", Role::kViewer, "another long secret").ok());
  ServerOptions options;
  options.port = 0;
  options.users = &users;
  RunningServer server(api_.get(), options);
  ASSERT_TRUE(server.ok());
  httplib::Client client("127.0.0.1", server.port());
  client.set_read_timeout(10, 0);
  EXPECT_EQ(client.Get("/api/dashboards")->status, 401);
  EXPECT_EQ(client.Get("/api/me")->status, 401);
  EXPECT_EQ(client.Get("/d/sales")->status, 200) << "pages load; their data needs a login";
  auto login = [&](const std::string& user, const std::string& password) {
    return client.Post("/api/login", json({{"user", user}, {"password", password}}).dump(), "application/json");
  };
  auto wrong = login("ana", "not the password");
  EXPECT_EQ(wrong->status, 400);
  EXPECT_EQ(client.Post("/api/login", "user=ana&password=x", "application/x-www-form-urlencoded")->status, 415);
  auto ok = login("ana", "correct horse battery");
  ASSERT_EQ(ok->status, 200) << ok->body;
  const std::string set_cookie = ok->get_header_value("Set-Cookie");
  EXPECT_NE(set_cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(set_cookie.find("SameSite=Strict"), std::string::npos);
  const std::string cookie = set_cookie.substr(0, set_cookie.find(';'));
  const std::string csrf = json::parse(ok->body)["csrf"];
  httplib::Headers with_cookie = {{"Cookie", cookie}};
  auto me = client.Get("/api/me", with_cookie);
  EXPECT_EQ(json::parse(me->body)["role"], "editor");
  EXPECT_EQ(client.Get("/api/dashboards", with_cookie)->status, 200);
  const std::string query = json({{"sql", "select 1 as one"}}).dump();
  EXPECT_EQ(client.Post("/api/query", with_cookie, query, "application/json")->status, 403) << "no CSRF token";
  httplib::Headers with_csrf = {{"Cookie", cookie}, {"X-CSRF-Token", csrf}};
  EXPECT_EQ(client.Post("/api/query", with_csrf, query, "application/json")->status, 200);
  httplib::Headers wrong_csrf = {{"Cookie", cookie}, {"X-CSRF-Token", std::string(64, 'a')}};
  EXPECT_EQ(client.Post("/api/query", wrong_csrf, query, "application/json")->status, 403);
  // A viewer reads dashboards but not the explorer.
  auto bo = login("bo", "another long secret");
  ASSERT_EQ(bo->status, 200);
  const std::string bo_cookie =
      bo->get_header_value("Set-Cookie").substr(0, bo->get_header_value("Set-Cookie").find(';'));
  httplib::Headers bo_headers = {{"Cookie", bo_cookie},
                                 {"X-CSRF-Token", json::parse(bo->body)["csrf"].get<std::string>()}};
  EXPECT_EQ(client.Get("/api/dashboards/sales/cards/revenue", bo_headers)->status, 200);
  EXPECT_EQ(client.Post("/api/query", bo_headers, query, "application/json")->status, 403);
  // Logout ends the session.
  EXPECT_EQ(client.Post("/api/logout", with_csrf, "{}", "application/json")->status, 200);
  EXPECT_EQ(client.Get("/api/dashboards", with_cookie)->status, 401);
  // Guessing is cut off, even for the right password afterwards.
  for (int i = 0; i < Sessions::kMaxFailures; ++i) (void)login("eve" + std::to_string(i), "guess");
  EXPECT_EQ(login("ana", "correct horse battery")->status, 429);
}

// Signed embeds: a token opens one embeddable dashboard, with the filters it fixes applied,
// hidden and unchangeable; everything else about it is refused with a clear status.
TEST_F(ApiTest, EmbedTokensOpenOneDashboardWithFixedFilters) {
  const std::string secret(48, 's');
  WriteText(dir_.Sub("dashboards/shared.yml"),
            std::string(kDashboard) + "embed:\n  locked: [segment]\n  disabled: [period]\n");
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  auto token = [&](const std::string& dashboard, std::map<std::string, std::vector<std::string>> params,
                   int64_t expires_in = 600) {
    EmbedToken t;
    t.dashboard = dashboard;
    t.params = std::move(params);
    t.expires = now + expires_in;
    return SignEmbedToken(t, secret);
  };
  const std::string gold = token("shared", {{"segment", {"gold"}}});
  // Without a secret, embedding is off.
  EXPECT_EQ(Get("/api/embed/" + gold).status, 404);
  ApiOptions options;
  options.dashboards_dir = dir_.Sub("dashboards");
  options.embed_secret = secret;
  api_ = std::make_unique<Api>(publications_.get(), options);

  json spec = GetJson("/api/embed/" + gold);
  EXPECT_EQ(spec["id"], "shared");
  ASSERT_EQ(spec["filters"].size(), 1u) << "only what the viewer may set: " << spec["filters"];
  EXPECT_EQ(spec["filters"][0]["id"], "category");
  EXPECT_EQ(spec["cards"][0]["filters"], json({"category"}));
  EXPECT_FALSE(spec.contains("models"));
  EXPECT_EQ(spec["embed"]["expires"], now + 600);

  // The token's segment and the disabled period's default (the last 7 days of data) apply.
  const auto orders = Orders(kOrders);
  const Date last = Date::FromYmd(2024, 1, 20);
  json all = GetJson("/api/embed/" + gold + "/cards/revenue");
  EXPECT_NEAR(all["rows"][0][0].get<double>(), Revenue(orders, last - 6, last, {}, "gold"), 1e-6);
  json books = GetJson("/api/embed/" + gold + "/cards/revenue", {{"category", "books"}});
  EXPECT_NEAR(books["rows"][0][0].get<double>(), Revenue(orders, last - 6, last, {"books"}, "gold"), 1e-6);
  json silver = GetJson("/api/embed/" + token("shared", {{"segment", {"silver"}}}) + "/cards/revenue");
  EXPECT_NEAR(silver["rows"][0][0].get<double>(), Revenue(orders, last - 6, last, {}, "silver"), 1e-6);
  EXPECT_NE(silver["rows"][0][0], all["rows"][0][0]);
  ApiResponse csv = Get("/api/embed/" + gold + "/cards/by_category", {{"format", "csv"}});
  EXPECT_EQ(csv.status, 200);
  EXPECT_EQ(csv.content_type, "text/csv; charset=utf-8");
  json choices = GetJson("/api/embed/" + gold + "/filters/category/values");
  EXPECT_EQ(choices["values"], json({"books", "garden", "toys"}));

  struct Case {
    std::string path;
    std::vector<std::pair<std::string, std::string>> query;
    int status;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"/api/embed/" + gold + "/cards/revenue", {{"segment", "silver"}}, 400, "fixed in this embed"},
      {"/api/embed/" + gold + "/cards/revenue", {{"period", "all_time"}}, 400, "fixed in this embed"},
      {"/api/embed/" + gold + "/filters/segment/values", {}, 404, "fixed in this embed"},
      {"/api/embed/" + gold + "/cards/revenue/sql", {}, 404, "no such API path"},
      {"/api/embed/" + gold + "/cards/nope", {}, 404, "no card 'nope'"},
      {"/api/embed/" + token("sales", {}), {}, 403, "cannot be embedded"},
      {"/api/embed/" + token("nope", {}), {}, 404, "does not exist"},
      {"/api/embed/" + token("shared", {}), {}, 400, "the token must set it"},
      {"/api/embed/" + token("shared", {{"segment", {"gold"}}, {"colour", {"red"}}}), {}, 400, "does not have"},
      {"/api/embed/" + token("shared", {{"segment", {"gold"}}, {"period", {"all_time"}}}), {}, 400, "disables"},
      {"/api/embed/" + token("shared", {{"segment", {"gold"}}}, -1), {}, 401, "expired"},
      {"/api/embed/" + gold.substr(0, gold.size() - 2) + "AA", {}, 401, "signature does not match"},
      {"/api/embed/not-a-token", {}, 401, "not a JSON Web Token"},
      {"/api/embed", {}, 404, "/api/embed/{token}"},
  };
  for (const auto& c : cases) {
    ApiResponse r = Get(c.path, c.query);
    EXPECT_EQ(r.status, c.status) << c.path << ": " << r.body;
    EXPECT_NE(json::parse(r.body).value("error", "").find(c.says), std::string::npos) << c.path << ": " << r.body;
  }
  // Over HTTP: the page may be framed (by the origins allowed), its API needs no login.
  Users users;
  ASSERT_TRUE(users.Set("ana", Role::kEditor, "correct horse battery").ok());
  ServerOptions server_options;
  server_options.port = 0;
  server_options.users = &users;
  for (const std::vector<std::string>& origins :
       {std::vector<std::string>{}, std::vector<std::string>{"https://shop.example.com"}}) {
    server_options.embed_origins = origins;
    RunningServer server(api_.get(), server_options);
    ASSERT_TRUE(server.ok());
    httplib::Client client("127.0.0.1", server.port());
    auto page = client.Get("/embed/" + gold);
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, 200);
    EXPECT_FALSE(page->has_header("X-Frame-Options"));
    EXPECT_EQ(page->get_header_value("Referrer-Policy"), "no-referrer");
    const std::string csp = page->get_header_value("Content-Security-Policy");
    EXPECT_NE(csp.find(origins.empty() ? "frame-ancestors *" : "frame-ancestors https://shop.example.com"),
              std::string::npos)
        << csp;
    EXPECT_NE(client.Get("/d/shared")->get_header_value("Content-Security-Policy").find("frame-ancestors 'none'"),
              std::string::npos);
    EXPECT_EQ(client.Get("/api/embed/" + gold + "/cards/revenue")->status, 200) << "no login needed";
    EXPECT_EQ(client.Get("/api/dashboards/shared/cards/revenue")->status, 401) << "the rest still needs one";
  }
}

// The data docs under /quality/: their pages only, and with logins only to a signed-in user.
TEST_F(ApiTest, ServesTheDataDocs) {
  WriteText(dir_.Sub("docs/index.html"), "<h1>Data docs</h1>");
  WriteText(dir_.Sub("docs/validations/a.html"), "<h1>one validation</h1>");
  WriteText(dir_.Sub("secret.html"), "secret");
  Users users;
  ASSERT_TRUE(users.Set("ana", Role::kViewer, "correct horse battery").ok());
  for (const bool logins : {false, true}) {
    ServerOptions options;
    options.port = 0;
    options.docs_dir = dir_.Sub("docs");
    options.users = logins ? &users : nullptr;
    RunningServer server(api_.get(), options);
    ASSERT_TRUE(server.ok());
    httplib::Client client("127.0.0.1", server.port());
    httplib::Headers cookie;
    if (logins) {
      EXPECT_EQ(client.Get("/quality/index.html")->status, 401);
      auto login = client.Post("/api/login", json({{"user", "ana"}, {"password", "correct horse battery"}}).dump(),
                               "application/json");
      ASSERT_EQ(login->status, 200);
      const std::string set = login->get_header_value("Set-Cookie");
      cookie = {{"Cookie", set.substr(0, set.find(';'))}};
    }
    auto index = client.Get("/quality/", cookie);
    ASSERT_TRUE(index);
    EXPECT_EQ(index->status, 200);
    EXPECT_EQ(index->body, "<h1>Data docs</h1>");
    EXPECT_EQ(client.Get("/quality/validations/a.html", cookie)->body, "<h1>one validation</h1>");
    EXPECT_EQ(client.Get("/quality", cookie)->status, 302);
    for (const char* bad : {"/quality/../secret.html", "/quality/%2e%2e/secret.html",
                            "/quality/validations/../../secret.html", "/quality/nope.html", "/quality/catalog.json"}) {
      auto r = client.Get(bad, cookie);
      ASSERT_TRUE(r);
      EXPECT_EQ(r->status, 404) << bad;
      EXPECT_EQ(r->body.find("secret"), std::string::npos) << bad;
    }
  }
}

// A client that goes away (a page left, a fetch aborted) stops its query: the one connection
// to the data is free again at once, not when the statement timeout passes.
TEST_F(ApiTest, AClientThatLeavesCancelsItsQuery) {
  WriteText(dir_.Sub("dashboards/slow.yml"),
            "cards:\n  - {id: slow, viz: table, sql: \"select count(*) from range(1000000000000) a\"}\n");
  auto one = Publications::ServingCopies(dir_.Sub("published"), "analytics", 1);
  ApiOptions options;
  options.dashboards_dir = dir_.Sub("dashboards");
  options.limits.timeout_ms = 120000;
  Api api(one.get(), options);
  ServerOptions server_options;
  server_options.port = 0;
  server_options.threads = 4;
  RunningServer server(&api, server_options);
  ASSERT_TRUE(server.ok());
  const std::string body = json({{"sql", "select count(*) from range(1000000000000) a"}}).dump();
  for (const std::string& request :
       {std::string("GET /api/dashboards/slow/cards/slow HTTP/1.1\r\nHost: x\r\n\r\n"),
        "POST /api/query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
            std::to_string(body.size()) + "\r\n\r\n" + body}) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(server.port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ASSERT_EQ(::send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the query is running
    ::close(fd);
    const auto started = std::chrono::steady_clock::now();
    httplib::Client client("127.0.0.1", server.port());
    client.set_read_timeout(120, 0);
    auto quick = client.Post("/api/query", json({{"sql", "select 42 as answer"}}).dump(), "application/json");
    ASSERT_TRUE(quick);
    EXPECT_EQ(quick->status, 200) << quick->body;
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(20))
        << "the abandoned query held the connection: " << request.substr(0, 30);
  }
}

}  // namespace
}  // namespace strata::serve
