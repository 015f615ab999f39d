#include "transform/target.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "testing.h"
#include "transform/loader.h"

namespace strata::transform {
namespace {

using warehouse::Target;

// A Strata project in `dir` with a dbt project in dir/transform whose profile's dev target is
// `profile_target` (YAML), and strata.yml's extra lines `strata_extra`.
void WriteProject(const testing::TempDir& dir, const std::string& strata_extra, const std::string& profile_target) {
  testing::WriteText(dir.Sub("strata.yml"), "name: shop\nlake: lake\ntransform: transform\n" + strata_extra);
  testing::WriteText(dir.Sub("transform/dbt_project.yml"), "name: shop\nprofile: shop\n");
  testing::WriteText(dir.Sub("transform/profiles.yml"),
                     "shop:\n  target: dev\n  outputs:\n    dev:\n" + profile_target);
}

Project Load(const testing::TempDir& dir) {
  auto p = Project::Load(dir.path());
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? *p : Project();
}

TEST(Target, WithoutADbtProjectItIsStrataYmlsWarehouse) {
  testing::TempDir dir;
  testing::WriteText(dir.Sub("strata.yml"), "name: shop\nlake: lake\n");
  auto t = ResolveTarget(Load(dir));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->kind, Target::Kind::kDuckDb);
  EXPECT_EQ(t->duckdb.path, dir.Sub("warehouse/shop.duckdb"));
}

TEST(Target, WithoutADeclarationTheDbtTargetDecides) {
  testing::TempDir dir;
  WriteProject(dir, "lock_timeout: 7\n", "      type: duckdb\n      path: ../wh/built.duckdb\n");
  auto t = ResolveTarget(Load(dir));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->kind, Target::Kind::kDuckDb);
  EXPECT_EQ(t->duckdb.path, dir.Sub("wh/built.duckdb"));
  EXPECT_EQ(t->duckdb.lock_timeout_seconds, 7);  // strata.yml's settings still apply
  EXPECT_NE(t->origin.find("profiles.yml"), std::string::npos) << t->origin;

  WriteProject(dir, "",
               "      type: postgres\n      host: db.internal\n      port: 6543\n      user: bi\n"
               "      dbname: shop\n      schema: main\n");
  t = ResolveTarget(Load(dir));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->kind, Target::Kind::kPostgres);
  EXPECT_EQ(t->Describe(), "postgres bi@db.internal:6543/shop");
}

TEST(Target, AgreeingDeclarationsAreOneWarehouse) {
  testing::TempDir dir;
  // The same file, spelled from two folders.
  WriteProject(dir, "warehouse: {type: duckdb, path: wh/../wh/shop.duckdb, threads: 3}\n",
               "      type: duckdb\n      path: ../wh/shop.duckdb\n");
  auto t = ResolveTarget(Load(dir));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->duckdb.path, dir.Sub("wh/shop.duckdb"));
  EXPECT_EQ(t->duckdb.threads, 3);
}

TEST(Target, DisagreeingDeclarationsAreAnErrorNamingBothFiles) {
  testing::TempDir dir;
  WriteProject(dir, "warehouse:\n  type: duckdb\n  path: warehouse/shop.duckdb\n",
               "      type: duckdb\n      path: /elsewhere/other.duckdb\n");
  auto t = ResolveTarget(Load(dir));
  ASSERT_FALSE(t.ok());
  const std::string& m = t.status().message();
  EXPECT_EQ(t.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(m.find(dir.Sub("strata.yml") + ":5:3: warehouse says duckdb"), std::string::npos) << m;
  EXPECT_NE(m.find(dir.Sub("warehouse/shop.duckdb")), std::string::npos) << m;
  EXPECT_NE(m.find(dir.Sub("transform/profiles.yml") + ":"), std::string::npos) << m;
  EXPECT_NE(m.find("/elsewhere/other.duckdb"), std::string::npos) << m;
  EXPECT_NE(m.find("target 'dev'"), std::string::npos) << m;

  // A PostgreSQL target against a declared DuckDB file disagrees too.
  WriteProject(dir, "warehouse: {type: duckdb}\n", "      type: postgres\n      user: bi\n      dbname: shop\n");
  t = ResolveTarget(Load(dir));
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("says postgres bi@127.0.0.1:5432/shop"), std::string::npos)
      << t.status().message();

  // dbt's verbs run in the dbt project's folder find the strata.yml that builds it.
  WriteProject(dir, "warehouse: {path: warehouse/shop.duckdb}\n", "      type: duckdb\n      path: other.duckdb\n");
  LoadOptions lo;
  lo.project_dir = dir.Sub("transform");
  auto profile = LoadTargetProfile(lo);
  ASSERT_TRUE(profile.ok()) << profile.status().ToString();
  t = ResolveTarget(dir.Sub("transform"), *profile);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find(dir.Sub("strata.yml")), std::string::npos) << t.status().message();
  EXPECT_NE(t.status().message().find(dir.Sub("transform/other.duckdb")), std::string::npos) << t.status().message();

  // A strata.yml that builds another dbt project is not consulted.
  testing::WriteText(dir.Sub("strata.yml"), "name: shop\ntransform: elsewhere\nwarehouse: {path: x.duckdb}\n");
  t = ResolveTarget(dir.Sub("transform"), *profile);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->duckdb.path, dir.Sub("transform/other.duckdb"));
}

TEST(Target, PublishTargetReadsItsPasswordFromTheEnvironment) {
  testing::TempDir dir;
  testing::WriteText(dir.Sub("strata.yml"),
                     "name: shop\npublish: {type: postgres, dbname: bi, user: strata, password_env: "
                     "STRATA_TEST_PUBLISH_PW}\n");
  unsetenv("STRATA_TEST_PUBLISH_PW");
  auto none = PublishTarget(Load(dir));
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("STRATA_TEST_PUBLISH_PW is not set"), std::string::npos);
  setenv("STRATA_TEST_PUBLISH_PW", "s3cret", 1);
  auto t = PublishTarget(Load(dir));
  ASSERT_TRUE(t.ok() && t->has_value()) << t.status().ToString();
  EXPECT_EQ((*t)->password, "s3cret");
  EXPECT_EQ((*t)->Describe(), "strata@127.0.0.1:5432/bi");
  unsetenv("STRATA_TEST_PUBLISH_PW");

  testing::WriteText(dir.Sub("strata.yml"), "name: shop\n");
  auto inside = PublishTarget(Load(dir));
  ASSERT_TRUE(inside.ok());
  EXPECT_FALSE(inside->has_value());
}

}  // namespace
}  // namespace strata::transform
