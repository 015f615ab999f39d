#include "transform/dbt_project.h"

#include <gtest/gtest.h>

#include "testing.h"

namespace strata::transform {
namespace {

using nlohmann::json;

TEST(DbtProject, FolderConfigsNestDeeperWinsTagsAccumulate) {
  strata::testing::TempDir dir;
  strata::testing::WriteText(dir.Sub("dbt_project.yml"), R"(
name: shop
profile: shop
model-paths: ["models"]
vars: {lookback_days: 3, start: '2024-01-01'}
models:
  +tags: [all]
  shop:
    materialized: view
    +schema: base
    marts:
      +materialized: table
      tags: [nightly]
      meta: {owner: analytics}
      finance:
        +materialized: incremental
        +meta: {pii: false}
)");
  auto p = DbtProject::Load(dir.path());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->name, "shop");
  EXPECT_EQ(p->vars["lookback_days"], 3);
  EXPECT_EQ(p->vars["start"], "2024-01-01");

  json staging = p->FolderConfig("models", {"shop", "staging", "stg_orders"});
  EXPECT_EQ(staging["materialized"], "view");
  EXPECT_EQ(staging["schema"], "base");
  EXPECT_EQ(staging["tags"], json::array({"all"}));

  json fin = p->FolderConfig("models", {"shop", "marts", "finance", "fct_revenue"});
  EXPECT_EQ(fin["materialized"], "incremental");
  EXPECT_EQ(fin["schema"], "base");
  EXPECT_EQ(fin["tags"], json::array({"all", "nightly"}));
  EXPECT_EQ(fin["meta"], (json{{"owner", "analytics"}, {"pii", false}}));
}

TEST(DbtProject, MergePrecedenceFileOverYamlOverFolders) {
  json config = {{"materialized", "view"}, {"tags", {"a"}}, {"post-hook", {"grant 1"}}};
  MergeConfig(&config, json{{"+materialized", "table"}, {"tags", "b"}, {"post_hook", "grant 2"}});  // YAML
  MergeConfig(&config, json{{"materialized", "incremental"}, {"tags", {"a", "c"}}});                // config()
  EXPECT_EQ(config["materialized"], "incremental");
  EXPECT_EQ(config["tags"], json::array({"a", "b", "c"}));
  EXPECT_EQ(config["post-hook"], json::array({"grant 1", "grant 2"}));
}

TEST(DbtProject, ProfilesPickTargetAndResolvePaths) {
  strata::testing::TempDir dir;
  strata::testing::WriteText(dir.Sub("dbt_project.yml"), "name: shop\nprofile: shop\n");
  strata::testing::WriteText(dir.Sub("profiles.yml"), R"(
shop:
  target: dev
  outputs:
    dev: {type: duckdb, path: wh/dev.duckdb, threads: 4}
    prod: {type: duckdb, path: /abs/prod.duckdb, schema: analytics}
)");
  auto p = *DbtProject::Load(dir.path());
  auto dev = LoadProfile(p, "", "", nullptr);
  ASSERT_TRUE(dev.ok()) << dev.status().ToString();
  EXPECT_EQ(dev->target, "dev");
  EXPECT_EQ(dev->path, dir.Sub("wh/dev.duckdb"));
  EXPECT_EQ(dev->threads, 4);
  auto prod = LoadProfile(p, "", "prod", nullptr);
  ASSERT_TRUE(prod.ok());
  EXPECT_EQ(prod->schema, "analytics");
  auto bad = LoadProfile(p, "", "prd", nullptr);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("no target 'prd' (did you mean 'prod'?)"), std::string::npos)
      << bad.status().message();
}

}  // namespace
}  // namespace strata::transform
