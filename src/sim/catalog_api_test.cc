#include "sim/catalog_api.h"

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "sim/internal/sim_test_util.h"
#include "sim/shop_simulator.h"
#include "testing.h"

namespace strata::sim {
namespace {

using testutil::HttpGet;
using testutil::HttpResponse;
using testutil::UrlEscape;

const Date kStart = Date::FromYmd(2024, 1, 1);

class CatalogApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new testing::TempDir();
    out_ = tmp_->Sub("sim");
    SimOptions o;
    o.out_dir = out_;
    o.scale = 1.0;  // 200 products
    o.days = 6;
    o.dirt = DirtOptions::None();
    Status s = ShopSimulator::Generate(o, nullptr);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  static void TearDownTestSuite() { delete tmp_; }

  void SetUp() override {
    ApiOptions options;
    options.out_dir = out_;
    ASSERT_TRUE(server_.Start(options).ok());
    ASSERT_GT(server_.port(), 0);
  }

  std::string Url(const std::string& path_and_query) const {
    return "http://127.0.0.1:" + std::to_string(server_.port()) + path_and_query;
  }
  nlohmann::json GetJson(const std::string& path_and_query, long want_status = 200) {
    HttpResponse r = HttpGet(Url(path_and_query));
    EXPECT_EQ(r.status, want_status) << path_and_query << ": " << r.body;
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.body;
    return j;
  }

  static int64_t CountDb(const std::string& where) {
    auto db = db::SqliteDb::Open(ShopSimulator::DbPath(out_), true, false);
    auto n = db->QueryInt("SELECT COUNT(*) FROM products " + where);
    return n.ok() ? *n : -1;
  }

  static testing::TempDir* tmp_;
  static std::string out_;
  CatalogApiServer server_;
};
testing::TempDir* CatalogApiTest::tmp_ = nullptr;
std::string CatalogApiTest::out_;

TEST_F(CatalogApiTest, HealthAndUnknownPaths) {
  auto j = GetJson("/health");
  EXPECT_EQ(j, nlohmann::json({{"status", "ok"}}));
  auto e = GetJson("/v2/nothing", 404);
  EXPECT_TRUE(e.contains("error"));
}

TEST_F(CatalogApiTest, CursorPaginationReturnsEveryProductOnceInOrder) {
  std::vector<int64_t> ids;
  std::set<int64_t> unique;
  std::string prev_key;
  std::string query = "/v1/products?limit=7";
  int pages = 0;
  for (;;) {
    auto j = GetJson(query);
    ++pages;
    ASSERT_TRUE(j.at("data").is_array());
    for (const auto& p : j.at("data")) {
      int64_t id = p.at("id").get<int64_t>();
      ids.push_back(id);
      unique.insert(id);
      char key[64];
      std::snprintf(key, sizeof key, "%s|%08lld", p.at("updated_at").get<std::string>().c_str(),
                    static_cast<long long>(id));
      EXPECT_LT(prev_key, key);
      prev_key = key;
    }
    if (j.at("next_cursor").is_null()) break;
    EXPECT_EQ(j.at("data").size(), 7u);
    query = "/v1/products?limit=7&cursor=" + UrlEscape(j.at("next_cursor").get<std::string>());
    ASSERT_LT(pages, 100);
  }
  EXPECT_EQ(ids.size(), 200u);
  EXPECT_EQ(unique.size(), 200u);
  EXPECT_EQ(pages, 29);  // ceil(200 / 7)

  // Default limit is 100; an oversized limit is served as 1000.
  EXPECT_EQ(GetJson("/v1/products").at("data").size(), 100u);
  auto all = GetJson("/v1/products?limit=5000");
  EXPECT_EQ(all.at("data").size(), 200u);
  EXPECT_TRUE(all.at("next_cursor").is_null());
}

TEST_F(CatalogApiTest, PageNumberPagination) {
  std::set<int64_t> unique;
  auto first = GetJson("/v1/products?page=1&per_page=30");
  EXPECT_EQ(first.at("total"), 200);
  EXPECT_EQ(first.at("total_pages"), 7);
  EXPECT_EQ(first.at("page"), 1);
  EXPECT_EQ(first.at("per_page"), 30);
  for (int page = 1; page <= 7; ++page) {
    auto j = GetJson("/v1/products?page=" + std::to_string(page) + "&per_page=30");
    EXPECT_EQ(j.at("data").size(), page < 7 ? 30u : 20u);
    for (const auto& p : j.at("data")) EXPECT_TRUE(unique.insert(p.at("id").get<int64_t>()).second);
  }
  EXPECT_EQ(unique.size(), 200u);
  EXPECT_TRUE(GetJson("/v1/products?page=8&per_page=30").at("data").empty());
}

TEST_F(CatalogApiTest, UpdatedSinceFiltersExclusively) {
  const std::string since = (kStart + 3).ToString() + " 00:00:00";
  const int64_t want = CountDb("WHERE updated_at > '" + since + "'");
  ASSERT_GT(want, 0);
  ASSERT_LT(want, 200);
  auto j = GetJson("/v1/products?limit=1000&updated_since=" + UrlEscape(since));
  EXPECT_EQ(static_cast<int64_t>(j.at("data").size()), want);
  for (const auto& p : j.at("data")) EXPECT_GT(p.at("updated_at").get<std::string>(), since);
  // ISO form, and page mode.
  auto iso = GetJson("/v1/products?limit=1000&updated_since=" + (kStart + 3).ToString() + "T00:00:00Z");
  EXPECT_EQ(iso.at("data"), j.at("data"));
  auto paged = GetJson("/v1/products?page=1&per_page=1000&updated_since=" + UrlEscape(since));
  EXPECT_EQ(paged.at("total"), want);
  // Exclusive: the newest product's own timestamp excludes it.
  std::string newest = j.at("data").back().at("updated_at").get<std::string>();
  auto after = GetJson("/v1/products?updated_since=" + UrlEscape(newest));
  for (const auto& p : after.at("data")) EXPECT_GT(p.at("updated_at").get<std::string>(), newest);
}

TEST_F(CatalogApiTest, ProductRecordShape) {
  auto j = GetJson("/v1/products?limit=1000");
  ASSERT_EQ(j.at("data").size(), 200u);
  // Keys in the documented order (parse the raw body keeping the order).
  auto ordered = nlohmann::ordered_json::parse(HttpGet(Url("/v1/products?limit=1")).body);
  const auto& p = ordered.at("data")[0];
  const std::vector<std::string> keys = {"id",        "sku",        "name",        "category", "brand",
                                         "price",     "currency",   "description", "rating",   "attributes",
                                         "is_active", "created_at", "updated_at"};
  std::vector<std::string> got;
  for (auto it = p.begin(); it != p.end(); ++it) got.push_back(it.key());
  EXPECT_EQ(got, keys);
  int nested = 0, null_ratings = 0, inactive = 0;
  auto db = db::SqliteDb::Open(ShopSimulator::DbPath(out_), true, false);
  ASSERT_TRUE(db.ok());
  for (const auto& q : j.at("data")) {
    EXPECT_TRUE(q.at("price").is_number());
    EXPECT_EQ(q.at("currency"), "USD");
    EXPECT_TRUE(q.at("is_active").is_boolean());
    EXPECT_TRUE(q.at("rating").is_null() || q.at("rating").is_number());
    null_ratings += q.at("rating").is_null();
    inactive += !q.at("is_active").get<bool>();
    EXPECT_TRUE(q.at("attributes").at("dimensions").is_object());
    nested += q.at("attributes").at("tags").is_array();
    EXPECT_FALSE(q.at("description").get<std::string>().empty());
    auto price = db->QueryInt(
        "SELECT CAST(ROUND(unit_price * 100) AS INTEGER) FROM products "
        "WHERE product_id = " +
        std::to_string(q.at("id").get<int64_t>()));
    ASSERT_TRUE(price.ok());
    EXPECT_EQ(std::llround(q.at("price").get<double>() * 100), *price);
  }
  EXPECT_EQ(nested, 200);
  EXPECT_GT(null_ratings, 0);
  EXPECT_EQ(inactive, CountDb("WHERE is_active = 0"));
}

TEST_F(CatalogApiTest, BadParametersAre400) {
  for (const std::string& q :
       std::vector<std::string>{"limit=abc", "limit=0", "limit=-3", "updated_since=yesterday",
                                "updated_since=2024-13-01%2000:00:00", "cursor=zz", "cursor=" + std::string("6869"),
                                "page=0", "per_page=x", "page=1&cursor=abc", "page=1&limit=5"}) {
    auto j = GetJson("/v1/products?" + q, 400);
    EXPECT_EQ(j.at("error").at("code"), "invalid_argument") << q;
    EXPECT_FALSE(j.at("error").at("message").get<std::string>().empty());
  }
}

TEST_F(CatalogApiTest, ReflectsTheLatestSimulatedDay) {
  auto before =
      GetJson("/v1/products?page=1&per_page=1&updated_since=" + UrlEscape((kStart + 6).ToString() + " 00:00:00"));
  EXPECT_EQ(before.at("total"), 0);
  // Advance two more days (price changes happen ~2 per day at this scale).
  SimSummary s;
  ASSERT_TRUE(ShopSimulator::AdvanceTo(out_, kStart + 9, &s).ok());
  auto after =
      GetJson("/v1/products?page=1&per_page=1000&updated_since=" + UrlEscape((kStart + 6).ToString() + " 00:00:00"));
  EXPECT_EQ(after.at("total"), CountDb("WHERE updated_at > '2024-01-07 00:00:00'"));
  EXPECT_GT(s.total.price_changes, 0);
  EXPECT_GT(after.at("total").get<int64_t>(), 0);
}

TEST(CatalogApiFaultTest, FailFirstAndRateLimits) {
  testing::TempDir tmp;
  SimOptions o;
  o.out_dir = tmp.Sub("sim");
  o.scale = 0.05;
  o.days = 1;
  ASSERT_TRUE(ShopSimulator::Generate(o, nullptr).ok());

  {
    CatalogApiServer server;
    ApiOptions options;
    options.out_dir = o.out_dir;
    options.faults.fail_first_n = 2;
    ASSERT_TRUE(server.Start(options).ok());
    const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/v1/products";
    EXPECT_EQ(HttpGet(url).status, 503);
    EXPECT_EQ(HttpGet(url).status, 503);
    EXPECT_EQ(HttpGet(url).status, 200);
    EXPECT_EQ(HttpGet(url).status, 200);
    server.Stop();
    ApiStats stats = server.stats();
    EXPECT_EQ(stats.product_requests, 4);
    EXPECT_EQ(stats.requests, 4);
    EXPECT_EQ(stats.faults_503_first, 2);
    EXPECT_EQ(server.faults_injected(), 2);
  }
  {
    CatalogApiServer server;
    ApiOptions options;
    options.out_dir = o.out_dir;
    options.faults.rate_429 = 1.0;
    options.faults.retry_after_s = 7;
    ASSERT_TRUE(server.Start(options).ok());
    HttpResponse r = HttpGet("http://127.0.0.1:" + std::to_string(server.port()) + "/v1/products");
    EXPECT_EQ(r.status, 429);
    EXPECT_NE(r.headers.find("Retry-After: 7"), std::string::npos) << r.headers;
    // /health is never faulted.
    EXPECT_EQ(HttpGet("http://127.0.0.1:" + std::to_string(server.port()) + "/health").status, 200);
    EXPECT_EQ(server.stats().faults_429, 1);
  }
  {
    // Mixed rates: deterministic per request number, roughly the configured shares.
    auto run = [&](std::vector<long>* codes) {
      CatalogApiServer server;
      ApiOptions options;
      options.out_dir = o.out_dir;
      options.faults.rate_429 = 0.2;
      options.faults.rate_5xx = 0.2;
      options.faults.rate_slow = 0.1;
      options.faults.slow_ms = 50;
      options.faults.seed = 9;
      ASSERT_TRUE(server.Start(options).ok());
      for (int i = 0; i < 60; ++i) {
        codes->push_back(HttpGet("http://127.0.0.1:" + std::to_string(server.port()) + "/v1/products?limit=1").status);
      }
      ApiStats st = server.stats();
      EXPECT_EQ(st.faults_429, std::count(codes->begin(), codes->end(), 429));
      EXPECT_GT(st.faults_slow, 0);
    };
    std::vector<long> a, b;
    run(&a);
    run(&b);
    EXPECT_EQ(a, b);
    int ok = static_cast<int>(std::count(a.begin(), a.end(), 200));
    EXPECT_GT(ok, 20);
    EXPECT_LT(ok, 50);
    EXPECT_GT(std::count(a.begin(), a.end(), 429), 3);
  }
}

TEST(CatalogApiFaultTest, StartErrors) {
  testing::TempDir tmp;
  CatalogApiServer server;
  ApiOptions options;
  options.out_dir = tmp.Sub("none");
  EXPECT_EQ(server.Start(options).code(), Status::Code::kNotFound);
  options.faults.rate_429 = 2;
  CatalogApiServer other;
  EXPECT_EQ(other.Start(options).code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace strata::sim
