// Dashboard files: mistakes are caught when the file is read, with file:line:col; relative
// date ranges resolve to the calendar's days.
#include "serve/dashboard.h"

#include <gtest/gtest.h>

#include "testing.h"

namespace strata::serve {
namespace {

using testing::WriteText;

class DashboardFileTest : public ::testing::Test {
 protected:
  // The error reading a dashboard with these filters and cards ("" when it reads fine).
  std::string ErrorOf(const std::string& yaml) {
    WriteText(dir_.Sub("d.yml"), yaml);
    auto d = LoadDashboard(dir_.Sub("d.yml"));
    return d.ok() ? "" : d.status().message();
  }
  testing::TempDir dir_;
};

constexpr const char* kFilters =
    "filters:\n"
    "  period: {type: date_range, default: last_30_days}\n"
    "  segment: {type: category, multiple: true}\n";

TEST_F(DashboardFileTest, MistakesNameTheirPlace) {
  struct Case {
    std::string yaml;
    std::string says;
  };
  const std::vector<Case> cases = {
      {std::string(kFilters) + "cards:\n  - id: a\n    viz: table\n    sql: select {{ segmnt }}\n",
       "d.yml:7:10: cards[0].sql: the SQL uses filter 'segmnt', which this dashboard does not declare (did you mean "
       "'segment'?)"},
      {std::string(kFilters) + "cards:\n  - id: a\n    sql: select {{ segment.start }}\n", "d.yml:6:10"},
      {std::string(kFilters) + "cards:\n  - id: a\n    sql: select {{ period }}\n", "is a date range"},
      {std::string(kFilters) + "cards:\n  - id: a\n    compare: previous_period\n    sql: select {{ segment }}\n",
       "compare needs the card to take a date_range filter"},
      {std::string(kFilters) + "cards:\n  - {id: a, sql: select 1}\n  - {id: a, sql: select 2}\n",
       "two cards are named 'a'"},
      {std::string(kFilters) + "cards:\n  - {id: a, sql: select 1, colour: red}\n", "colour"},
      {std::string(kFilters) + "cards:\n  - {id: a, viz: pi, sql: select 1}\n", "unknown viz 'pi'"},
      {std::string(kFilters) + "cards:\n  - {id: a}\n", "either `sql` or `model`"},
      {std::string(kFilters) + "cards:\n  - {id: A b, sql: select 1}\n", "card id"},
      {std::string(kFilters) + "cards:\n  - {id: a, sql: \"select {{ x\"}\n", "never closed"},
      {"filters:\n  p: {type: date_range, default: last_fortnight}\ncards: []\n", "d.yml:2:"},
      {"filters:\n  p: {type: dropdown}\ncards: []\n", "unknown filter type 'dropdown'"},
      {"filters:\n  a: {values: 'select {{ b }}'}\n  b: {values: 'select {{ a }}'}\ncards: []\n", "depends on itself"},
      {"title: x\n", "a dashboard needs `cards`"},
      {"title: x\ntitle: y\ncards: []\n", "title"},
      {"cards:\n  - {id: a, model: orders, measures: {n: count(*)}, where: {nope: x}}\n", "no filter 'nope'"},
      {"columns:\n  revenue: {format: money}\ncards: []\n", "unknown format 'money'"},
      {"cards:\n  - {id: a, sql: select 1, drill: {filter: nope, column: c}}\n", "drill sets a category"},
  };
  for (const auto& c : cases) {
    std::string error = ErrorOf(c.yaml);
    EXPECT_NE(error.find(c.says), std::string::npos) << "YAML:\n" << c.yaml << "\nerror: " << error;
  }
}

TEST_F(DashboardFileTest, ModelCardsBecomeSqlAndExposeTheirModels) {
  WriteText(dir_.Sub("sales.yml"), std::string(kFilters) +
                                       "cards:\n"
                                       "  - id: by_segment\n"
                                       "    viz: bar\n"
                                       "    model: fact_orders\n"
                                       "    dimensions: [segment]\n"
                                       "    measures: {revenue: sum(line_revenue)}\n"
                                       "    where: {period: placed_at, segment: segment}\n"
                                       "    limit: 5\n"
                                       "  - id: n\n"
                                       "    sql: select count(*) from {{ ref('dim_customers') }}\n");
  auto d = LoadDashboard(dir_.Sub("sales.yml"));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->id, "sales");
  EXPECT_EQ(d->models, (std::vector<std::string>{"dim_customers", "fact_orders"}));
  const CardSpec* c = d->FindCard("by_segment");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->query.text(),
            "select segment, sum(line_revenue) as revenue\n"
            "from {{ ref('fact_orders') }}\n"
            "where true\n"
            "[[ and cast(placed_at as date) between {{ period.start }} and {{ period.end }} ]]\n"
            "[[ and segment in {{ segment }} ]]\n"
            "group by 1\n"
            "order by 1\n"
            "limit 5");
  EXPECT_EQ(c->query.filters(), (std::set<std::string>{"period", "segment"}));
}

TEST(DateRanges, RelativeRangesEndOnTheAnchor) {
  const Date anchor = Date::FromYmd(2024, 3, 13);  // a Wednesday
  auto range = [&](const std::string& text) {
    auto v = ResolveDateRange(text, anchor);
    EXPECT_TRUE(v.ok()) << text;
    return v.ok() ? v->start + ".." + v->end : v.status().message();
  };
  EXPECT_EQ(range("today"), "2024-03-13..2024-03-13");
  EXPECT_EQ(range("yesterday"), "2024-03-12..2024-03-12");
  EXPECT_EQ(range("last_7_days"), "2024-03-07..2024-03-13");
  EXPECT_EQ(range("last_30_days"), "2024-02-13..2024-03-13");  // 2024 is a leap year
  EXPECT_EQ(range("this_week"), "2024-03-11..2024-03-13");
  EXPECT_EQ(range("last_week"), "2024-03-04..2024-03-10");
  EXPECT_EQ(range("this_month"), "2024-03-01..2024-03-13");
  EXPECT_EQ(range("last_month"), "2024-02-01..2024-02-29");
  EXPECT_EQ(range("this_quarter"), "2024-01-01..2024-03-13");
  EXPECT_EQ(range("this_year"), "2024-01-01..2024-03-13");
  EXPECT_EQ(range("last_year"), "2023-01-01..2023-12-31");
  EXPECT_EQ(range("2024-01-05..2024-01-09"), "2024-01-05..2024-01-09");
  auto all = ResolveDateRange("all_time", anchor);
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->all_time);
  EXPECT_FALSE(PreviousPeriod(*all).set());
  auto prev = PreviousPeriod(*ResolveDateRange("last_month", anchor));
  EXPECT_EQ(prev.start + ".." + prev.end, "2024-01-03..2024-01-31");  // 29 days before
  EXPECT_FALSE(ResolveDateRange("2024-02-30..2024-03-01", anchor).ok());
  EXPECT_FALSE(ResolveDateRange("last_7_day", anchor).ok());
  // January's "last month" crosses the year.
  auto jan = ResolveDateRange("last_month", Date::FromYmd(2024, 1, 10));
  ASSERT_TRUE(jan.ok());
  EXPECT_EQ(jan->start + ".." + jan->end, "2023-12-01..2023-12-31");
}

}  // namespace
}  // namespace strata::serve
