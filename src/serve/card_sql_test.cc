// Card SQL: parameters become placeholders with bound values, never SQL text; optional
// clauses drop out when their filters are unset; errors say where.
#include "serve/card_sql.h"

#include <gtest/gtest.h>

#include <map>

namespace strata::serve {
namespace {

Result<BoundQuery> BindWith(const std::string& sql, const std::map<std::string, FilterValue>& values) {
  auto parsed = CardSql::Parse(sql);
  if (!parsed.ok()) return parsed.status();
  return parsed->Bind(
      [&](const std::string& name) -> const FilterValue* {
        auto it = values.find(name);
        return it == values.end() ? nullptr : &it->second;
      },
      [](const std::string& model) { return "\"analytics\".\"" + model + "\""; });
}

FilterValue One(std::string v) {
  FilterValue f;
  f.values = {std::move(v)};
  return f;
}

FilterValue Many(std::vector<std::string> v) {
  FilterValue f;
  f.values = std::move(v);
  f.list = true;
  return f;
}

FilterValue Range(std::string a, std::string b) {
  FilterValue f;
  f.start = std::move(a);
  f.end = std::move(b);
  return f;
}

TEST(CardSql, ParametersAreBoundNeverSpliced) {
  const std::string evil = "x'); drop table analytics.fact_orders; --";
  auto q = BindWith(
      "select * from {{ ref('orders') }} where status = {{ status }} and d between {{ p.start }} and "
      "{{p.end}}",
      {{"status", One(evil)}, {"p", Range("2024-01-01", "2024-01-31")}});
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->sql,
            "select * from \"analytics\".\"orders\" where status = $1 and d between CAST($2 AS DATE) and "
            "CAST($3 AS DATE)");
  EXPECT_EQ(q->params, (std::vector<std::string>{evil, "2024-01-01", "2024-01-31"}));
  EXPECT_EQ(q->sql.find("drop"), std::string::npos);
}

TEST(CardSql, MultiSelectBindsOnePlaceholderPerValue) {
  auto q = BindWith("select 1 where c in {{ c }}", {{"c", Many({"a", "b,c", "d"})}});
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->sql, "select 1 where c in ($1, $2, $3)");
  EXPECT_EQ(q->params, (std::vector<std::string>{"a", "b,c", "d"}));
  auto single = BindWith("select 1 where c in {{ c }}", {{"c", Many({"a"})}});
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(single->sql, "select 1 where c in ($1)");
}

TEST(CardSql, OptionalClausesNeedEveryFilterInThem) {
  const std::string sql = "select 1 where true [[ and a = {{ a }} ]] [[ and b = {{ b }} and c = {{ c }} ]]";
  auto none = BindWith(sql, {});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->sql, "select 1 where true  ");
  EXPECT_TRUE(none->params.empty());
  auto some = BindWith(sql, {{"a", One("1")}, {"b", One("2")}});
  ASSERT_TRUE(some.ok());
  EXPECT_EQ(some->sql, "select 1 where true  and a = $1  ");
  auto all = BindWith(sql, {{"a", One("1")}, {"b", One("2")}, {"c", One("3")}});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->sql, "select 1 where true  and a = $1   and b = $2 and c = $3 ");
  EXPECT_EQ(all->params, (std::vector<std::string>{"1", "2", "3"}));
  // An empty value is unset.
  auto empty = BindWith(sql, {{"a", FilterValue()}});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->params.empty());
}

TEST(CardSql, ARequiredFilterWithoutValueIsAnError) {
  auto q = BindWith("select 1 where a = {{ a }}", {});
  ASSERT_FALSE(q.ok());
  EXPECT_NE(q.status().message().find("filter 'a' needs a value"), std::string::npos);
  auto wrong_kind = BindWith("select 1 where a = {{ a }}", {{"a", Range("2024-01-01", "2024-01-02")}});
  ASSERT_FALSE(wrong_kind.ok());
  EXPECT_NE(wrong_kind.status().message().find("a.start"), std::string::npos);
  auto no_field = BindWith("select {{ a.start }}", {{"a", One("x")}});
  EXPECT_FALSE(no_field.ok());
  auto two = BindWith("select {{ a }}", {{"a", FilterValue{{"x", "y"}, false, "", ""}}});
  EXPECT_FALSE(two.ok());
}

TEST(CardSql, ParseErrorsSayWhere) {
  auto unclosed = CardSql::Parse("select 1\nwhere a = {{ a");
  ASSERT_FALSE(unclosed.ok());
  EXPECT_NE(unclosed.status().message().find("line 2, column 11"), std::string::npos) << unclosed.status().message();
  auto nested = CardSql::Parse("select 1 [[ a [[ b ]] ]]");
  ASSERT_FALSE(nested.ok());
  EXPECT_NE(nested.status().message().find("do not nest"), std::string::npos);
  auto open = CardSql::Parse("select 1 [[ and a = {{ a }}");
  EXPECT_FALSE(open.ok());
  auto bad_ref = CardSql::Parse("select * from {{ ref(orders) }}");
  ASSERT_FALSE(bad_ref.ok());
  EXPECT_NE(bad_ref.status().message().find("takes one quoted name"), std::string::npos);
  auto bad_name = CardSql::Parse("select {{ 1; drop }}");
  EXPECT_FALSE(bad_name.ok());
  auto bad_field = CardSql::Parse("select {{ p.begin }}");
  EXPECT_FALSE(bad_field.ok());
}

TEST(CardSql, ReportsTheFiltersAndModelsItUses) {
  auto parsed = CardSql::Parse(
      "select * from {{ ref('a') }} join {{ ref(\"b\") }} using (k) "
      "where x = {{ f }} [[ and {{ g.start }} < y ]]");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->filters(), (std::set<std::string>{"f", "g"}));
  EXPECT_EQ(parsed->refs(), (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace strata::serve
