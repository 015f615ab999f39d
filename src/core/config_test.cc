#include "core/config.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "core/date.h"
#include "core/project.h"
#include "testing.h"

namespace strata {
namespace {

TEST(ConfigNode, SyntaxErrorNamesFileLineAndColumn) {
  auto r = ConfigNode::Parse("name: shop\nsources:\n  a: [1, 2\n", "strata.yml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("strata.yml:"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("invalid YAML"), std::string::npos);
}

TEST(ConfigNode, TypeErrorsNameTheKeyPathAndPosition) {
  auto r = ConfigNode::Parse("a:\n  b:\n    c: [1, 2]\n", "p.yml");
  ASSERT_TRUE(r.ok());
  auto s = (*r)["a"]["b"]["c"].String();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "p.yml:3:8: a.b.c: expected a string, got a list");
}

TEST(ConfigNode, UnknownKeySuggestsTheClosest) {
  auto r = ConfigNode::Parse("name: x\nsoruces: {}\n", "p.yml");
  ASSERT_TRUE(r.ok());
  Status s = r->CheckKeys({"name", "sources", "lake"});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("p.yml:2:1: soruces: unknown key 'soruces' (did you mean 'sources'?)"), std::string::npos)
      << s.message();
}

TEST(ExpandEnv, VariablesDefaultsAndErrors) {
  ::setenv("STRATA_TEST_VAR", "hello", 1);
  ::unsetenv("STRATA_TEST_UNSET");
  EXPECT_EQ(*ExpandEnv("${STRATA_TEST_VAR}/x"), "hello/x");
  EXPECT_EQ(*ExpandEnv("${STRATA_TEST_UNSET:-dflt}"), "dflt");
  EXPECT_EQ(*ExpandEnv("cost $$5"), "cost $5");
  auto bad = ExpandEnv("${STRATA_TEST_UNSET}");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("STRATA_TEST_UNSET is not set"), std::string::npos);
}

TEST(Date, ParseFormatAndArithmetic) {
  auto d = Date::Parse("2024-02-28");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d + 1).ToString(), "2024-02-29");
  EXPECT_EQ((*d + 2).ToString(), "2024-03-01");
  EXPECT_FALSE(Date::Parse("2023-02-29").ok());
  EXPECT_FALSE(Date::Parse("2024-13-01").ok());
  EXPECT_FALSE(Date::Parse("24-01-01").ok());
  EXPECT_EQ(Date::FromYmd(1970, 1, 1).days(), 0);
  EXPECT_EQ(FormatTimestamp(86400 + 3661), "1970-01-02 01:01:01");
  EXPECT_EQ(*ParseTimestamp("1970-01-02T01:01:01Z"), 86400 + 3661);
  EXPECT_EQ(*ParseTimestamp("1970-01-02 01:01:01.250"), 86400 + 3661);
  EXPECT_FALSE(ParseTimestamp("1970-01-02 25:00:00").ok());
}

TEST(Project, LoadsAndResolvesPaths) {
  testing::TempDir dir;
  testing::WriteText(dir.Sub("strata.yml"),
                     "name: shop\nlake: mylake\nwarehouse: {type: duckdb, path: wh/x.duckdb}\n"
                     "sources:\n  db: {type: sql, path: a.db, tables: {t: {key: id}}}\n");
  auto p = Project::Load(dir.path());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->name, "shop");
  EXPECT_EQ(p->lake_location, dir.Sub("mylake"));
  EXPECT_EQ(p->warehouse.path, dir.Sub("wh/x.duckdb"));
  ASSERT_EQ(p->sources.size(), 1u);
  EXPECT_EQ(p->sources[0].type, "sql");
}

TEST(Project, ClearErrorsForBadProjects) {
  testing::TempDir dir;
  auto missing = Project::Load(dir.path());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("no strata.yml"), std::string::npos);

  testing::WriteText(dir.Sub("strata.yml"), "name: shop\nwarehouse:\n  type: snowflake\n");
  auto bad_type = Project::Load(dir.path());
  ASSERT_FALSE(bad_type.ok());
  EXPECT_NE(bad_type.status().message().find("strata.yml:3:9: warehouse.type: unknown warehouse type 'snowflake'"),
            std::string::npos)
      << bad_type.status().message();

  testing::WriteText(dir.Sub("strata.yml"), "name: Shop Name\n");
  auto bad_name = Project::Load(dir.path());
  ASSERT_FALSE(bad_name.ok());
  EXPECT_NE(bad_name.status().message().find("strata.yml:1:7: name:"), std::string::npos)
      << bad_name.status().message();

  testing::WriteText(dir.Sub("strata.yml"), "name: shop\nsources:\n  db: {path: x}\n");
  auto no_type = Project::Load(dir.path());
  ASSERT_FALSE(no_type.ok());
  EXPECT_NE(no_type.status().message().find("missing required key 'type'"), std::string::npos)
      << no_type.status().message();
}

}  // namespace
}  // namespace strata

namespace strata {
namespace {

TEST(ConfigNode, ScalarsAreTypedOnlyWhenPlain) {
  auto r = ConfigNode::Parse(
      "a: 1\nb: '1'\nc: true\nd: \"true\"\ne: ~\nf:\ng: 2.5\nh: -3\ni: hello\nj: ''\nk: !!str 7\n", "t.yml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  nlohmann::json j = r->ToJson();
  EXPECT_EQ(j, nlohmann::json::parse(R"({"a":1,"b":"1","c":true,"d":"true","e":null,"f":null,"g":2.5,"h":-3,
                                         "i":"hello","j":"","k":"7"})"));
  EXPECT_TRUE((*r)["f"].IsNull());
  EXPECT_TRUE(r->Has("f"));  // present, though null
  EXPECT_FALSE(r->Has("z"));
  EXPECT_FALSE((*r)["j"].IsNull());
}

TEST(ConfigNode, AnchorsAliasesAndMergeKeys) {
  auto r = ConfigNode::Parse(
      "base: &base {materialized: table, tags: [a, b]}\n"
      "m1:\n  <<: *base\n  materialized: view\n"
      "m2: *base\n"
      "m3:\n  <<: [*base, {schema: s}]\n",
      "t.yml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  nlohmann::json j = r->ToJson();
  EXPECT_EQ(j["m1"], nlohmann::json::parse(R"({"materialized":"view","tags":["a","b"]})"));
  EXPECT_EQ(j["m2"], j["base"]);
  EXPECT_EQ(j["m3"], nlohmann::json::parse(R"({"materialized":"table","tags":["a","b"],"schema":"s"})"));
  EXPECT_EQ(*(*r)["m1"].String("materialized", ""), "view");
}

TEST(ConfigNode, LastDuplicateKeyWinsAndPositionsAreKept) {
  auto r = ConfigNode::Parse("a: 1\nlist:\n  - x\n  - {k: v}\na: 2\n", "t.yml");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*(*r)["a"].Int(), 2);
  auto items = (*r)["list"].Items();
  ASSERT_TRUE(items.ok());
  ASSERT_EQ(items->size(), 2u);
  EXPECT_EQ((*items)[1]["k"].Where(), "t.yml:4:9: list[1].k");
  EXPECT_EQ((*items)[1]["missing"].Where(), "t.yml:4:5: list[1].missing");  // the parent's position
}

TEST(ConfigNode, EmptyDocumentAndUnknownAlias) {
  auto empty = ConfigNode::Parse("", "e.yml");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->IsNull());
  auto bad = ConfigNode::Parse("a: *nope\n", "b.yml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("b.yml:1:4: invalid YAML"), std::string::npos) << bad.status().message();
}

}  // namespace
}  // namespace strata
