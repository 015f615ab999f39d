#include "sim/shop_simulator.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/date.h"
#include "db/sqlite.h"
#include "sim/internal/sim_test_util.h"
#include "testing.h"

namespace strata::sim {
namespace {

using db::SqliteDb;
using testutil::EventLine;
using testutil::IsKnownType;
using testutil::PendingLines;
using testutil::ReadEventLines;
using testutil::Snapshot;

const Date kStart = Date::FromYmd(2024, 1, 1);

SimOptions Options(const std::string& out, double scale, int days, bool dirt) {
  SimOptions o;
  o.out_dir = out;
  o.scale = scale;
  o.days = days;
  o.start = kStart;
  o.dirt = dirt ? DirtOptions() : DirtOptions::None();
  return o;
}

int64_t Count(const std::string& db_path, const std::string& sql) {
  auto db = SqliteDb::Open(db_path, true, false);
  EXPECT_TRUE(db.ok());
  auto n = db->QueryInt(sql);
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  return n.ok() ? *n : -1;
}

// Runs `fn(stmt)` for every row of `sql`.
template <typename Fn>
void ForEachRow(const std::string& db_path, const std::string& sql, Fn fn) {
  auto db = SqliteDb::Open(db_path, true, false);
  ASSERT_TRUE(db.ok());
  auto stmt = db->Prepare(sql);
  ASSERT_TRUE(stmt.ok()) << stmt.status().ToString();
  for (;;) {
    auto row = stmt->Step();
    ASSERT_TRUE(row.ok());
    if (!*row) break;
    fn(*stmt);
  }
}

int64_t Ts(std::string_view text) {
  auto t = ParseTimestamp(text);
  EXPECT_TRUE(t.ok()) << text;
  return t.ok() ? *t : -1;
}

// ---------------------------------------------------------------------------------------------
// Exact volumes with dirt off.

TEST(ShopSimulatorTest, Scale1ThirtyDaysCleanHasExactVolumes) {
  testing::TempDir tmp;
  const std::string out = tmp.Sub("sim");
  SimSummary summary;
  ASSERT_TRUE(ShopSimulator::Generate(Options(out, 1.0, 30, false), &summary).ok());

  const std::string db = ShopSimulator::DbPath(out);
  EXPECT_EQ(Count(db, "SELECT COUNT(*) FROM customers"), 1000);
  EXPECT_EQ(Count(db, "SELECT COUNT(*) FROM products"), 200);
  EXPECT_EQ(Count(db, "SELECT COUNT(*) FROM orders"), 5000);
  EXPECT_EQ(Count(db, "SELECT COUNT(*) FROM order_items"), 10000);
  EXPECT_EQ(summary.total.customers, 1000);
  EXPECT_EQ(summary.total.orders, 5000);
  EXPECT_EQ(summary.total.order_items, 10000);
  EXPECT_EQ(summary.total.events, 50000);
  EXPECT_EQ(summary.days.size(), 30u);
  EXPECT_EQ(summary.first_date, kStart);
  EXPECT_EQ(summary.last_date, kStart + 29);

  std::vector<EventLine> lines = ReadEventLines(out);
  EXPECT_EQ(lines.size(), 50000u);
  std::unordered_set<std::string> ids;
  std::map<std::string, int64_t> per_file_day;
  for (const EventLine& l : lines) {
    auto j = nlohmann::json::parse(l.text, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << l.text;
    EXPECT_TRUE(IsKnownType(j.at("event_type").get<std::string>()));
    EXPECT_FALSE(j.contains("app_version"));
    for (const char* key : {"page_url", "referrer", "device", "user_agent", "customer_id"}) {
      EXPECT_TRUE(j.contains(key)) << l.text;
    }
    EXPECT_TRUE(ids.insert(j.at("event_id").get<std::string>()).second) << l.text;
    // Without dirt every event arrives on the day it occurred, in its 6-hour block.
    std::string occurred = j.at("occurred_at").get<std::string>();
    EXPECT_EQ(l.file.substr(7, 10), occurred.substr(0, 10));
    int hour = std::stoi(occurred.substr(11, 2));
    EXPECT_LE(hour / 6, std::stoi(l.file.substr(18, 2))) << l.file << " " << l.text;
    per_file_day[l.file.substr(7, 10)]++;
  }
  // Per-day quota: floor(T*(i+1)/30) - floor(T*i/30) with T = 50,000.
  for (int i = 0; i < 30; ++i) {
    int64_t quota = 50000LL * (i + 1) / 30 - 50000LL * i / 30;
    EXPECT_EQ(per_file_day[(kStart + i).ToString()], quota) << i;
  }
  // 4 files per day, even when empty.
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(ShopSimulator::EventsDir(out))) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 120);
  EXPECT_TRUE(PendingLines(out).empty());
}

// ---------------------------------------------------------------------------------------------
// A scale-1 simulation with default dirt, shared by the tests below.

class DirtySimTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new testing::TempDir();
    out_ = tmp_->Sub("sim");
    summary_ = new SimSummary();
    Status s = ShopSimulator::Generate(Options(out_, 1.0, 30, true), summary_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  static void TearDownTestSuite() {
    delete summary_;
    delete tmp_;
  }
  static std::string db() { return ShopSimulator::DbPath(out_); }

  static testing::TempDir* tmp_;
  static std::string out_;
  static SimSummary* summary_;
};
testing::TempDir* DirtySimTest::tmp_ = nullptr;
std::string DirtySimTest::out_;
SimSummary* DirtySimTest::summary_ = nullptr;

TEST_F(DirtySimTest, UniqueValidKnownEventsOverFilesAndPendingAreTheQuota) {
  std::vector<EventLine> lines = ReadEventLines(out_);
  std::vector<std::string> pending = PendingLines(out_);
  std::unordered_set<std::string> unique;
  std::unordered_map<std::string, std::string> text_of;
  int64_t malformed = 0, unknown = 0, duplicates = 0, missing = 0, drifted = 0, late = 0;
  int64_t drift_before_day = 0;
  auto visit = [&](const std::string& text, const std::string* file) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      ++malformed;
      return;
    }
    if (j.contains("app_version")) {
      ++drifted;
      auto day = Date::Parse(j.at("occurred_at").get<std::string>().substr(0, 10));
      if (*day - kStart < 10) ++drift_before_day;
    }
    if (!IsKnownType(j.at("event_type").get<std::string>())) {
      ++unknown;
      return;
    }
    std::string id = j.at("event_id").get<std::string>();
    if (!unique.insert(id).second) {
      ++duplicates;
      EXPECT_EQ(text_of[id], text) << "a duplicate must repeat the same payload";
      return;
    }
    text_of[id] = text;
    for (const char* key : {"page_url", "referrer", "device", "user_agent", "customer_id"}) {
      if (!j.contains(key)) {
        ++missing;
        break;
      }
    }
    if (file != nullptr && file->substr(7, 10) != j.at("occurred_at").get<std::string>().substr(0, 10)) {
      ++late;
    }
  };
  for (const EventLine& l : lines) visit(l.text, &l.file);
  for (const std::string& p : pending) visit(p, nullptr);

  EXPECT_EQ(unique.size(), 50000u);
  EXPECT_EQ(malformed, summary_->total.malformed_lines);
  EXPECT_EQ(unknown, summary_->total.unknown_type_events);
  EXPECT_EQ(missing, summary_->total.missing_optional_events);
  EXPECT_EQ(duplicates, summary_->total.duplicate_lines);
  EXPECT_EQ(drift_before_day, 0);
  // Rates x 50,000 (rounded per day).
  EXPECT_NEAR(duplicates, 500, 20);
  EXPECT_NEAR(summary_->total.late_events, 1000, 20);
  EXPECT_NEAR(malformed, 100, 20);
  EXPECT_NEAR(missing, 2500, 20);
  EXPECT_NEAR(unknown, 100, 20);
  EXPECT_GT(late, 500);  // late lines delivered (the last days' are still pending)
  EXPECT_GT(drifted, 30000);
  EXPECT_FALSE(pending.empty());
  EXPECT_EQ(static_cast<int64_t>(pending.size()), summary_->pending_late_lines);
  EXPECT_EQ(summary_->total.lines_written, static_cast<int64_t>(lines.size()));
}

TEST_F(DirtySimTest, PurchaseEventsMatchOrders) {
  struct Order {
    int64_t customer_id;
    std::string total;
    std::string placed_at;
  };
  std::unordered_map<int64_t, Order> orders;
  ForEachRow(db(), "SELECT order_id, customer_id, printf('%.2f', order_total), placed_at FROM orders",
             [&](const db::SqliteStmt& r) {
               orders[r.ColumnInt(0)] = {r.ColumnInt(1), std::string(r.ColumnText(2)), std::string(r.ColumnText(3))};
             });
  ASSERT_EQ(orders.size(), 5000u);
  std::unordered_set<std::string> seen;
  std::unordered_map<int64_t, int> purchases;
  std::unordered_map<std::string, std::vector<nlohmann::json>> sessions;
  std::vector<std::string> texts;
  for (const EventLine& l : ReadEventLines(out_)) texts.push_back(l.text);
  for (const std::string& p : PendingLines(out_)) texts.push_back(p);
  for (const std::string& t : texts) {
    auto j = nlohmann::json::parse(t, nullptr, false);
    if (j.is_discarded() || !IsKnownType(j.at("event_type").get<std::string>())) continue;
    if (!seen.insert(j.at("event_id").get<std::string>()).second) continue;
    sessions[j.at("session_id").get<std::string>()].push_back(j);
    if (j.at("event_type") != "purchase") continue;
    int64_t order_id = j.at("order_id").get<int64_t>();
    ASSERT_TRUE(orders.count(order_id)) << t;
    const Order& o = orders[order_id];
    ++purchases[order_id];
    EXPECT_EQ(j.at("customer_id").get<int64_t>(), o.customer_id) << t;
    char revenue[32];
    std::snprintf(revenue, sizeof revenue, "%.2f", j.at("revenue").get<double>());
    EXPECT_EQ(revenue, o.total) << t;
    EXPECT_EQ(j.at("occurred_at").get<std::string>(), o.placed_at) << t;
  }
  EXPECT_EQ(purchases.size(), orders.size());
  for (const auto& [id, n] : purchases) EXPECT_EQ(n, 1) << id;
  // Purchase sessions: page_view first, purchase last, all earlier in time, one customer.
  int checked = 0;
  for (auto& [sid, evs] : sessions) {
    std::sort(evs.begin(), evs.end(), [](const auto& a, const auto& b) {
      return a.at("occurred_at").template get<std::string>() < b.at("occurred_at").template get<std::string>();
    });
    if (evs.back().at("event_type") != "purchase") {
      for (const auto& e : evs) EXPECT_NE(e.at("event_type"), "purchase");
      continue;
    }
    ++checked;
    if (evs.size() == 1) continue;
    EXPECT_EQ(evs.front().at("event_type"), "page_view");
    EXPECT_EQ(evs[evs.size() - 2].at("event_type"), "checkout_started");
  }
  EXPECT_EQ(checked, 5000);
}

TEST_F(DirtySimTest, TimestampsAndAmountsAreConsistent) {
  const int64_t begin = kStart.StartEpochSeconds();
  const int64_t end = (kStart + 30).StartEpochSeconds();
  for (const char* table : testutil::kTables) {
    ForEachRow(db(), std::string("SELECT created_at, updated_at FROM ") + table, [&](const db::SqliteStmt& r) {
      int64_t c = Ts(r.ColumnText(0)), u = Ts(r.ColumnText(1));
      EXPECT_LE(c, u) << table;
      EXPECT_GE(c, begin) << table;
      EXPECT_LT(u, end) << table;
    });
  }
  // order_total = sum(quantity * unit_price - discount), in cents; 1..5 distinct products.
  EXPECT_EQ(Count(db(),
                  "SELECT COUNT(*) FROM orders o JOIN (SELECT order_id, "
                  "SUM(quantity * CAST(ROUND(unit_price * 100) AS INTEGER) - "
                  "CAST(ROUND(discount_amount * 100) AS INTEGER)) AS cents FROM order_items "
                  "GROUP BY order_id) t USING (order_id) "
                  "WHERE CAST(ROUND(o.order_total * 100) AS INTEGER) != t.cents"),
            0);
  EXPECT_EQ(Count(db(),
                  "SELECT COUNT(*) FROM (SELECT order_id, COUNT(*) n, COUNT(DISTINCT product_id) d "
                  "FROM order_items GROUP BY order_id) WHERE n > 5 OR n != d"),
            0);
  EXPECT_EQ(Count(db(),
                  "SELECT COUNT(*) FROM orders WHERE order_id NOT IN "
                  "(SELECT order_id FROM order_items)"),
            0);
  EXPECT_EQ(Count(db(), "SELECT COUNT(*) FROM orders WHERE placed_at != created_at"), 0);
  // Orders only reference customers that existed when they were placed.
  EXPECT_EQ(Count(db(),
                  "SELECT COUNT(*) FROM orders o LEFT JOIN customers c USING (customer_id) "
                  "WHERE c.customer_id IS NULL OR c.created_at >= o.placed_at"),
            0);
  // Items use the product's price at order time (checkable for never-changed products).
  EXPECT_EQ(Count(db(),
                  "SELECT COUNT(*) FROM order_items i JOIN products p USING (product_id) "
                  "WHERE p.updated_at = p.created_at AND i.unit_price != p.unit_price"),
            0);
  EXPECT_GT(Count(db(), "SELECT COUNT(*) FROM products WHERE updated_at > created_at"), 20);
  // Segment changes happened (and only to customers of earlier days).
  EXPECT_GT(Count(db(), "SELECT COUNT(*) FROM customers WHERE updated_at > created_at"), 200);
  EXPECT_EQ(Count(db(),
                  "SELECT COUNT(*) FROM customers WHERE updated_at > created_at AND "
                  "substr(updated_at, 1, 10) = substr(created_at, 1, 10)"),
            0);
  // Every status appears after 30 days.
  for (const char* status : {"placed", "shipped", "delivered", "cancelled", "returned"}) {
    EXPECT_GT(Count(db(), std::string("SELECT COUNT(*) FROM orders WHERE status = '") + status + "'"), 0) << status;
  }
  // Declared types the connector relies on.
  EXPECT_EQ(Count(db(),
                  "SELECT COUNT(*) FROM pragma_table_info('orders') WHERE "
                  "(name = 'order_total' AND type = 'NUMERIC(12,2)') OR "
                  "(name = 'placed_at' AND type = 'TIMESTAMP') OR "
                  "(name = 'order_id' AND type = 'INTEGER' AND pk = 1)"),
            3);
  EXPECT_EQ(Count(db(), "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND sql LIKE '%updated_at%'"), 4);
  ForEachRow(db(), "PRAGMA journal_mode", [](const db::SqliteStmt& r) {
    EXPECT_EQ(r.ColumnText(0), "delete");  // the default rollback journal
  });
}

// ---------------------------------------------------------------------------------------------
// Order lifecycle and segment changes, observed day by day.

TEST(ShopSimulatorTest, DailySnapshotsShowValidTransitions) {
  testing::TempDir tmp;
  const std::string out = tmp.Sub("sim");
  ASSERT_TRUE(ShopSimulator::Generate(Options(out, 0.3, 1, false), nullptr).ok());
  const std::string db = ShopSimulator::DbPath(out);
  const std::map<std::string, std::set<std::string>> kNext = {
      {"placed", {"shipped", "cancelled"}},
      {"shipped", {"delivered"}},
      {"delivered", {"returned"}},
  };
  struct OrderSnap {
    std::string status, updated_at, placed_at;
    std::string shipped_day, delivered_day;
  };
  std::map<int64_t, OrderSnap> orders;
  std::map<int64_t, std::string> segments;
  int transitions = 0, segment_changes = 0, one_step = 0, old_order_changes = 0;
  const std::map<std::string, int> kRank = {{"bronze", 0}, {"silver", 1}, {"gold", 2}, {"platinum", 3}};
  for (int day = 0; day < 30; ++day) {
    if (day > 0) {
      SimSummary summary;
      ASSERT_TRUE(ShopSimulator::AdvanceTo(out, kStart + day, &summary).ok());
      ASSERT_EQ(summary.days.size(), 1u);
    }
    const std::string today = (kStart + day).ToString();
    ForEachRow(db, "SELECT order_id, status, updated_at, placed_at FROM orders", [&](const db::SqliteStmt& r) {
      int64_t id = r.ColumnInt(0);
      std::string status(r.ColumnText(1)), updated(r.ColumnText(2));
      auto it = orders.find(id);
      if (it == orders.end()) {
        EXPECT_EQ(status, "placed");
        orders[id] = {status, updated, std::string(r.ColumnText(3)), "", ""};
        return;
      }
      OrderSnap& o = it->second;
      if (status == o.status) {
        EXPECT_EQ(updated, o.updated_at) << id;
        return;
      }
      ++transitions;
      EXPECT_TRUE(kNext.count(o.status) && kNext.at(o.status).count(status))
          << id << ": " << o.status << " -> " << status;
      EXPECT_EQ(updated.substr(0, 10), today) << id;
      int64_t age = (*Date::Parse(today) - *Date::Parse(o.placed_at.substr(0, 10)));
      if (age > 3) ++old_order_changes;
      if (status == "shipped") {
        EXPECT_GE(age, 1);
        EXPECT_LE(age, 3);
        o.shipped_day = today;
      } else if (status == "cancelled") {
        EXPECT_LE(age, 2);
      } else if (status == "delivered") {
        int64_t d = *Date::Parse(today) - *Date::Parse(o.shipped_day);
        EXPECT_GE(d, 2);
        EXPECT_LE(d, 5);
        o.delivered_day = today;
      } else if (status == "returned") {
        int64_t d = *Date::Parse(today) - *Date::Parse(o.delivered_day);
        EXPECT_GE(d, 1);
        EXPECT_LE(d, 14);
      }
      o.status = status;
      o.updated_at = updated;
    });
    ForEachRow(db, "SELECT customer_id, segment, updated_at FROM customers", [&](const db::SqliteStmt& r) {
      int64_t id = r.ColumnInt(0);
      std::string seg(r.ColumnText(1));
      auto it = segments.find(id);
      if (it != segments.end() && it->second != seg) {
        ++segment_changes;
        if (std::abs(kRank.at(seg) - kRank.at(it->second)) == 1) ++one_step;
        EXPECT_EQ(std::string(r.ColumnText(2)).substr(0, 10), today);
      }
      segments[id] = seg;
    });
  }
  EXPECT_GT(transitions, 1500);
  EXPECT_GT(old_order_changes, 100);  // day N's changes include orders of earlier days
  EXPECT_GT(segment_changes, 50);
  EXPECT_GT(one_step * 10, segment_changes * 7);  // mostly one step (90% expected)
}

// The segment record (sim_segment_changes) is the ground truth of the customers' history that
// end-to-end tests compare the warehouse with: it must agree with what the customers table shows.
TEST(ShopSimulatorTest, SegmentRecordAgreesWithCustomers) {
  testing::TempDir tmp;
  const std::string out = tmp.Sub("sim");
  SimSummary first, rest;
  ASSERT_TRUE(ShopSimulator::Generate(Options(out, 0.3, 8, true), &first).ok());
  // Resumed simulations keep recording.
  ASSERT_TRUE(ShopSimulator::AdvanceTo(out, kStart + 19, &rest).ok());
  const std::string db = ShopSimulator::DbPath(out);
  const int64_t changes = first.total.segment_changes + rest.total.segment_changes;
  ASSERT_GT(changes, 20);

  struct Customer {
    std::string segment, created_at, updated_at;
  };
  std::map<int64_t, Customer> customers;
  ForEachRow(db, "SELECT customer_id, segment, created_at, updated_at FROM customers", [&](const db::SqliteStmt& r) {
    customers[r.ColumnInt(0)] = {std::string(r.ColumnText(1)), std::string(r.ColumnText(2)),
                                 std::string(r.ColumnText(3))};
  });
  ASSERT_EQ(static_cast<int64_t>(customers.size()), first.total.customers + rest.total.customers);

  struct Record {
    std::string segment, changed_at;
  };
  std::map<int64_t, std::vector<Record>> record;
  ForEachRow(db,
             "SELECT customer_id, segment, changed_at FROM sim_segment_changes "
             "ORDER BY customer_id, changed_at",
             [&](const db::SqliteStmt& r) {
               record[r.ColumnInt(0)].push_back({std::string(r.ColumnText(1)), std::string(r.ColumnText(2))});
             });
  ASSERT_EQ(record.size(), customers.size());
  int64_t non_initial = 0;
  for (const auto& [id, c] : customers) {
    SCOPED_TRACE("customer " + std::to_string(id));
    const std::vector<Record>& rows = record[id];
    ASSERT_FALSE(rows.empty());
    EXPECT_EQ(rows.front().changed_at, c.created_at);  // the initial segment, at creation
    EXPECT_EQ(rows.back().segment, c.segment);         // the last one is the current segment
    EXPECT_EQ(rows.back().changed_at, c.updated_at);   // written with the change
    for (size_t i = 1; i < rows.size(); ++i) {
      EXPECT_NE(rows[i].segment, rows[i - 1].segment) << "a change changes the segment";
      EXPECT_GT(rows[i].changed_at, rows[i - 1].changed_at);
    }
    non_initial += static_cast<int64_t>(rows.size()) - 1;
  }
  EXPECT_EQ(non_initial, changes);
}

// ---------------------------------------------------------------------------------------------
// Determinism.

TEST(ShopSimulatorTest, SameSeedGivesIdenticalBytesDifferentSeedDiffers) {
  testing::TempDir tmp;
  SimOptions a = Options(tmp.Sub("a"), 0.2, 12, true);
  SimOptions b = Options(tmp.Sub("b"), 0.2, 12, true);
  SimOptions c = Options(tmp.Sub("c"), 0.2, 12, true);
  c.seed = 43;
  ASSERT_TRUE(ShopSimulator::Generate(a, nullptr).ok());
  ASSERT_TRUE(ShopSimulator::Generate(b, nullptr).ok());
  ASSERT_TRUE(ShopSimulator::Generate(c, nullptr).ok());
  auto sa = Snapshot(a.out_dir), sb = Snapshot(b.out_dir), sc = Snapshot(c.out_dir);
  ASSERT_EQ(sa.size(), 12u * 4 + 2);
  EXPECT_TRUE(sa == sb);
  for (const auto& [name, bytes] : sa) EXPECT_EQ(bytes, sb[name]) << name;
  // Even the database files are byte-identical.
  EXPECT_EQ(testing::Slurp(ShopSimulator::DbPath(a.out_dir)), testing::Slurp(ShopSimulator::DbPath(b.out_dir)));
  int differing = 0;
  for (const auto& [name, bytes] : sa) differing += bytes != sc[name];
  EXPECT_GT(differing * 10, static_cast<int>(sa.size()) * 9);
}

TEST(ShopSimulatorTest, GenerateThenAdvanceEqualsGenerateAtOnce) {
  testing::TempDir tmp;
  SimOptions full = Options(tmp.Sub("full"), 0.3, 30, true);
  full.dirt.schema_drift_day = 12;
  SimOptions part = full;
  part.out_dir = tmp.Sub("part");
  part.days = 10;
  ASSERT_TRUE(ShopSimulator::Generate(full, nullptr).ok());
  ASSERT_TRUE(ShopSimulator::Generate(part, nullptr).ok());
  SimSummary s1, s2, s3;
  ASSERT_TRUE(ShopSimulator::AdvanceTo(part.out_dir, kStart + 16, &s1).ok());
  EXPECT_EQ(s1.days.size(), 7u);
  EXPECT_EQ(s1.first_date, kStart + 10);
  ASSERT_TRUE(ShopSimulator::AdvanceTo(part.out_dir, kStart + 29, &s2).ok());
  EXPECT_EQ(s2.days.size(), 13u);
  EXPECT_EQ(s2.last_date, kStart + 29);
  EXPECT_EQ(s2.days_in_simulation, 30);
  // Already simulated: nothing to do.
  ASSERT_TRUE(ShopSimulator::AdvanceTo(part.out_dir, kStart + 20, &s3).ok());
  EXPECT_TRUE(s3.days.empty());
  EXPECT_EQ(s3.days_in_simulation, 30);

  auto a = Snapshot(full.out_dir), b = Snapshot(part.out_dir);
  ASSERT_EQ(a.size(), 30u * 4 + 2);
  ASSERT_EQ(b.size(), a.size());
  for (const auto& [name, bytes] : a) EXPECT_TRUE(bytes == b[name]) << name << " differs";
  EXPECT_EQ(testing::Slurp(ShopSimulator::DbPath(full.out_dir)), testing::Slurp(ShopSimulator::DbPath(part.out_dir)));
}

TEST(ShopSimulatorTest, DaysBeyondThirtyExtendLinearly) {
  testing::TempDir tmp;
  const std::string out = tmp.Sub("sim");
  SimSummary s;
  ASSERT_TRUE(ShopSimulator::Generate(Options(out, 0.1, 60, false), &s).ok());
  EXPECT_EQ(s.total.customers, 200);
  EXPECT_EQ(s.total.orders, 1000);
  EXPECT_EQ(s.total.order_items, 2000);
  EXPECT_EQ(s.total.events, 10000);
  EXPECT_EQ(s.total.products, 63);  // round(200 * sqrt(0.1))
  EXPECT_EQ(ReadEventLines(out).size(), 10000u);
}

// ---------------------------------------------------------------------------------------------
// Errors.

TEST(ShopSimulatorTest, RefusesExistingSimulationAndBadOptions) {
  testing::TempDir tmp;
  const std::string out = tmp.Sub("sim");
  ASSERT_TRUE(ShopSimulator::Generate(Options(out, 0.05, 2, true), nullptr).ok());
  EXPECT_EQ(ShopSimulator::Generate(Options(out, 0.05, 2, true), nullptr).code(), Status::Code::kAlreadyExists);

  EXPECT_EQ(ShopSimulator::Generate(Options(tmp.Sub("x"), 0, 2, true), nullptr).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(ShopSimulator::Generate(Options(tmp.Sub("x"), 1, 0, true), nullptr).code(), Status::Code::kInvalidArgument);
  SimOptions bad_rate = Options(tmp.Sub("x"), 1, 1, true);
  bad_rate.dirt.late_rate = 1.5;
  EXPECT_EQ(ShopSimulator::Generate(bad_rate, nullptr).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(ShopSimulator::Generate(Options("", 1, 1, true), nullptr).code(), Status::Code::kInvalidArgument);

  EXPECT_EQ(ShopSimulator::AdvanceTo(tmp.Sub("nothing"), kStart + 3, nullptr).code(), Status::Code::kNotFound);
  EXPECT_EQ(ShopSimulator::AdvanceTo(out, kStart - 1, nullptr).code(), Status::Code::kInvalidArgument);
}

TEST(ShopSimulatorTest, DetectsDatabaseAheadOfState) {
  testing::TempDir tmp;
  const std::string out = tmp.Sub("sim");
  ASSERT_TRUE(ShopSimulator::Generate(Options(out, 0.05, 3, true), nullptr).ok());
  {
    auto db = SqliteDb::Open(ShopSimulator::DbPath(out), false, false);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db->Exec("PRAGMA user_version = 4").ok());
  }
  EXPECT_EQ(ShopSimulator::AdvanceTo(out, kStart + 5, nullptr).code(), Status::Code::kCorruption);
}

TEST(ShopSimulatorTest, SummaryRendersAsJsonAndText) {
  testing::TempDir tmp;
  const std::string out = tmp.Sub("sim");
  SimSummary s;
  ASSERT_TRUE(ShopSimulator::Generate(Options(out, 0.05, 3, true), &s).ok());
  auto j = nlohmann::json::parse(s.ToJson());
  EXPECT_EQ(j.at("days_simulated"), 3);
  EXPECT_EQ(j.at("first_date"), "2024-01-01");
  EXPECT_EQ(j.at("last_date"), "2024-01-03");
  EXPECT_EQ(j.at("total").at("customers"), s.total.customers);
  EXPECT_EQ(j.at("days").size(), 3u);
  std::string text = s.ToText();
  EXPECT_NE(text.find("2024-01-01 .. 2024-01-03"), std::string::npos) << text;
  EXPECT_NE(text.find(ShopSimulator::DbPath(out)), std::string::npos) << text;
}

}  // namespace
}  // namespace strata::sim
