// target/manifest.json, run_results.json and sources.json as dbt 1.8+'s tools read them
// (manifest v12, run-results v6, sources v3). Every expected value was worked out by hand from
// the fixture; the checksums with sha256sum and md5sum of the fixture files' text.
#include "transform/artifacts.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "core/file.h"
#include "transform/dbt_project.h"
#include "transform/dbt_test_project.h"

namespace strata::transform {
namespace {

using nlohmann::json;
using strata::testing::TempDir;
using strata::testing::WriteText;

// printf 'select id, amount from {{ ref('"'"'raw_orders'"'"') }}\n' | sha256sum
constexpr const char* kModelSql = "select id, amount from {{ ref('raw_orders') }}\n";
constexpr const char* kModelSha = "24ac7c1575ac4bf9ea4f8a67edfcf77a3d3b33fc6c53a4d9730f4e467c8ad521";
constexpr const char* kSeedCsv = "id,amount,loaded_at\n1,10,2024-01-01 00:00:00\n2,20,2024-01-02 00:00:00\n";
constexpr const char* kSeedSha = "3c56ecb01eec6d7b9efc74b1a34b452419aed830bafef74715f2705db0ec7524";
constexpr const char* kShopMd5 = "fb54f3c5992b96d001bb16e8e92d968d";  // printf shop | md5sum

const std::regex kIso(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)");

std::set<std::string> Keys(const json& j) {
  std::set<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.insert(k);
  return keys;
}

class ArtifactsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteText(dir_.Sub("dbt_project.yml"), "name: shop\nprofile: shop\nmodels:\n  shop:\n    +materialized: view\n");
    p_.Init("duckdb", "shop", "art");
    WriteText(dir_.Sub("seeds/raw_orders.csv"), kSeedCsv);
    WriteText(dir_.Sub("models/staging/stg_orders.sql"), kModelSql);
    WriteText(dir_.Sub("models/old.sql"), "{{ config(enabled=false) }}\nselect 1 as x\n");
    WriteText(dir_.Sub("models/schema.yml"),
              "version: 2\n"
              "models:\n"
              "  - name: stg_orders\n"
              "    description: Orders.\n"
              "    columns:\n"
              "      - name: id\n"
              "        tests: [unique]\n"
              "sources:\n"
              "  - name: raw\n"
              "    schema: main\n"
              "    tables:\n"
              "      - name: orders\n"
              "        identifier: raw_orders\n"
              "        loaded_at_field: loaded_at\n"
              "        freshness: {warn_after: {count: 1, period: day}}\n");
    WriteText(dir_.Sub("models/docs.md"), "{% docs orders %}\nOne row per order.\n{% enddocs %}\n");
    WriteText(dir_.Sub("macros/cents.sql"), "-- money\n{% macro cents(x) %}{{ x }} * 100{% endmacro %}\n");
  }

  // Runs `verb` at a fixed run_started_at and writes the artifacts.
  Result<RunResults> Run(Verb verb, std::vector<std::string> select = {}) {
    auto r = p_.Run(verb, select, [](LoadOptions* lo) { lo->run_started_at = "2024-03-01 10:00:00"; });
    if (r.ok()) {
      RunOptions ro;
      ro.verb = verb;
      ro.selection.select = std::move(select);
      Status written = WriteDbtArtifacts(*p_.project, &*r, ro);
      EXPECT_TRUE(written.ok()) << written.ToString();
    }
    return r;
  }

  json Read(const std::string& file) {
    auto text = ReadFile(dir_.Sub("target/" + file));
    EXPECT_TRUE(text.ok()) << text.status().ToString();
    return text.ok() ? json::parse(*text) : json();
  }

  DbtTestProject p_;
  testing::TempDir& dir_ = p_.dir;
  std::unique_ptr<LoadedProject>& project_ = p_.project;
};

TEST(ArtifactsTimestamp, IsoUtcWithMicroseconds) {
  // 1,700,000,000 s after the epoch is 2023-11-14 22:13:20 UTC.
  auto t = std::chrono::system_clock::time_point(std::chrono::microseconds(int64_t{1700000000123456}));
  EXPECT_EQ(IsoTimestamp(t), "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(IsoTimestamp(std::chrono::system_clock::time_point(std::chrono::microseconds(5))),
            "1970-01-01T00:00:00.000005Z");
}

TEST_F(ArtifactsTest, ManifestHasDbtV12Sections) {
  auto r = Run(Verb::kBuild);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (const auto& x : r->results) EXPECT_TRUE(x.status == "success" || x.status == "pass") << x.unique_id;
  json m = Read("manifest.json");

  const json& meta = m["metadata"];
  EXPECT_EQ(meta["dbt_schema_version"], "https://schemas.getdbt.com/dbt/manifest/v12.json");
  EXPECT_EQ(meta["dbt_version"], kDbtCompatVersion);
  EXPECT_TRUE(std::regex_match(meta["generated_at"].get<std::string>(), kIso)) << meta["generated_at"];
  EXPECT_EQ(meta["invocation_id"], project_->settings.invocation_id);
  EXPECT_EQ(meta["invocation_started_at"], "2024-03-01T10:00:00Z");
  EXPECT_TRUE(meta["env"].is_object());
  EXPECT_EQ(meta["project_name"], "shop");
  EXPECT_EQ(meta["project_id"], kShopMd5);
  EXPECT_EQ(meta["adapter_type"], "duckdb");
  // The schema allows no other keys in metadata.
  EXPECT_EQ(Keys(meta), (std::set<std::string>{"dbt_schema_version", "dbt_version", "generated_at", "invocation_id",
                                               "invocation_started_at", "env", "project_name", "project_id", "user_id",
                                               "send_anonymous_usage_stats", "adapter_type"}));
  for (const char* section :
       {"nodes", "sources", "macros", "docs", "exposures", "metrics", "groups", "selectors", "disabled", "parent_map",
        "child_map", "group_map", "saved_queries", "semantic_models", "unit_tests"}) {
    EXPECT_TRUE(m[section].is_object()) << section;
  }
  for (const char* empty : {"metrics", "groups", "selectors", "group_map", "saved_queries", "semantic_models"}) {
    EXPECT_TRUE(m[empty].empty()) << empty;
  }

  // The model: dbt's path is within the model folder; checksum and raw code are the file's.
  EXPECT_EQ(Keys(m["nodes"]),
            (std::set<std::string>{"model.shop.stg_orders", "seed.shop.raw_orders", "test.shop.unique_stg_orders_id"}));
  const json& model = m["nodes"]["model.shop.stg_orders"];
  EXPECT_EQ(model["unique_id"], "model.shop.stg_orders");
  EXPECT_EQ(model["name"], "stg_orders");
  EXPECT_EQ(model["resource_type"], "model");
  EXPECT_EQ(model["package_name"], "shop");
  EXPECT_EQ(model["path"], "staging/stg_orders.sql");
  EXPECT_EQ(model["original_file_path"], "models/staging/stg_orders.sql");
  EXPECT_EQ(model["fqn"], json({"shop", "staging", "stg_orders"}));
  EXPECT_EQ(model["alias"], "stg_orders");
  EXPECT_EQ(model["schema"], "main");
  EXPECT_EQ(model["config"]["materialized"], "view");
  EXPECT_EQ(model["description"], "Orders.");
  EXPECT_TRUE(model["columns"].contains("id"));
  EXPECT_EQ(model["checksum"], json({{"name", "sha256"}, {"checksum", kModelSha}}));
  EXPECT_EQ(model["raw_code"], kModelSql);
  EXPECT_EQ(model["language"], "sql");
  EXPECT_EQ(model["refs"], json::parse(R"([{"name": "raw_orders", "package": null, "version": null}])"));
  EXPECT_EQ(model["sources"], json::array());
  EXPECT_EQ(model["depends_on"], json::parse(R"({"macros": [], "nodes": ["seed.shop.raw_orders"]})"));
  EXPECT_EQ(model["relation_name"], "\"main\".\"stg_orders\"");
  EXPECT_EQ(model["access"], "protected");
  EXPECT_EQ(model["compiled"], true);
  EXPECT_EQ(model["compiled_code"], "select id, amount from \"main\".\"raw_orders\"");
  EXPECT_EQ(model["build_path"], "target/run/shop/models/staging/stg_orders.sql");
  EXPECT_TRUE(model["compiled_path"].is_null());

  // The seed: the CSV's checksum, no SQL fields.
  const json& seed = m["nodes"]["seed.shop.raw_orders"];
  EXPECT_EQ(seed["resource_type"], "seed");
  EXPECT_EQ(seed["path"], "raw_orders.csv");
  EXPECT_EQ(seed["original_file_path"], "seeds/raw_orders.csv");
  EXPECT_EQ(seed["checksum"], json({{"name", "sha256"}, {"checksum", kSeedSha}}));
  EXPECT_EQ(seed["root_path"], project_->project.root);
  EXPECT_EQ(seed["depends_on"], json::parse(R"({"macros": []})"));
  EXPECT_EQ(seed["relation_name"], "\"main\".\"raw_orders\"");
  EXPECT_FALSE(seed.contains("language"));
  EXPECT_FALSE(seed.contains("compiled_code"));

  // The generic test: dbt's test_metadata, with the model and column among its kwargs.
  const json& test = m["nodes"]["test.shop.unique_stg_orders_id"];
  EXPECT_EQ(test["resource_type"], "test");
  EXPECT_EQ(test["path"], "unique_stg_orders_id.sql");
  EXPECT_EQ(test["original_file_path"], "models/schema.yml");
  EXPECT_EQ(test["column_name"], "id");
  EXPECT_EQ(test["attached_node"], "model.shop.stg_orders");
  EXPECT_EQ(test["file_key_name"], "models.stg_orders");
  EXPECT_EQ(test["test_metadata"], json::parse(R"({"name": "unique", "namespace": null,
                            "kwargs": {"column_name": "id",
                                       "model": "{{ get_where_subquery(ref('stg_orders')) }}"}})"));
  EXPECT_EQ(test["depends_on"]["macros"], json({"macro.dbt.test_unique", "macro.dbt.get_where_subquery"}));
  EXPECT_EQ(test["depends_on"]["nodes"], json({"model.shop.stg_orders"}));
  EXPECT_EQ(test["refs"], json::parse(R"([{"name": "stg_orders", "package": null, "version": null}])"));
  EXPECT_TRUE(test["relation_name"].is_null());
  EXPECT_EQ(test["compiled"], true);

  // The disabled model is only under `disabled`, as a list of its versions.
  ASSERT_TRUE(m["disabled"].contains("model.shop.old"));
  ASSERT_EQ(m["disabled"]["model.shop.old"].size(), 1u);
  EXPECT_EQ(m["disabled"]["model.shop.old"][0]["config"]["enabled"], false);
  EXPECT_EQ(m["disabled"]["model.shop.old"][0]["resource_type"], "model");
  EXPECT_EQ(Keys(m["disabled"]), std::set<std::string>{"model.shop.old"});

  // The source.
  const json& source = m["sources"]["source.shop.raw.orders"];
  EXPECT_EQ(source["resource_type"], "source");
  EXPECT_EQ(source["source_name"], "raw");
  EXPECT_EQ(source["name"], "orders");
  EXPECT_EQ(source["identifier"], "raw_orders");
  EXPECT_EQ(source["loaded_at_field"], "loaded_at");
  EXPECT_EQ(source["freshness"]["warn_after"], json::parse(R"({"count": 1, "period": "day"})"));
  EXPECT_EQ(source["relation_name"], "\"main\".\"raw_orders\"");
  EXPECT_EQ(source["original_file_path"], "models/schema.yml");

  // Docs blocks and macros: the project's and dbt's built-ins, with their SQL.
  const json& doc = m["docs"]["doc.shop.orders"];
  EXPECT_EQ(doc["name"], "orders");
  EXPECT_EQ(doc["resource_type"], "doc");
  EXPECT_EQ(doc["package_name"], "shop");
  EXPECT_EQ(doc["unique_id"], "doc.shop.orders");
  EXPECT_EQ(doc["block_contents"], "\nOne row per order.\n");
  const json& cents = m["macros"]["macro.shop.cents"];
  EXPECT_EQ(cents["name"], "cents");
  EXPECT_EQ(cents["resource_type"], "macro");
  EXPECT_EQ(cents["package_name"], "shop");
  EXPECT_EQ(cents["path"], "macros/cents.sql");
  EXPECT_EQ(cents["original_file_path"], "macros/cents.sql");
  EXPECT_EQ(cents["unique_id"], "macro.shop.cents");
  EXPECT_EQ(cents["macro_sql"], "{% macro cents(x) %}{{ x }} * 100{% endmacro %}");
  EXPECT_EQ(cents["depends_on"], json::parse(R"({"macros": []})"));
  const json& unique = m["macros"]["macro.dbt.test_unique"];
  EXPECT_EQ(unique["package_name"], "dbt");
  EXPECT_EQ(unique["path"], "macros/generic_tests.sql");
  EXPECT_EQ(unique["macro_sql"],
            "{% test unique(model, column_name) %}\n"
            "  {{ return(adapter.dispatch('test_unique')(model, column_name)) }}\n"
            "{% endtest %}");
  EXPECT_TRUE(m["macros"].contains("macro.dbt.get_where_subquery"));
  EXPECT_FALSE(m["macros"].contains("macro.shop.test_unique"));

  // The maps: first-order parents and children.
  EXPECT_EQ(m["parent_map"]["model.shop.stg_orders"], json({"seed.shop.raw_orders"}));
  EXPECT_EQ(m["parent_map"]["seed.shop.raw_orders"], json::array());
  EXPECT_EQ(m["child_map"]["seed.shop.raw_orders"], json({"model.shop.stg_orders"}));
  EXPECT_EQ(m["child_map"]["model.shop.stg_orders"], json({"test.shop.unique_stg_orders_id"}));
}

TEST_F(ArtifactsTest, RunResultsHaveDbtV6Fields) {
  auto r = Run(Verb::kBuild);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  json rr = Read("run_results.json");
  const json& meta = rr["metadata"];
  EXPECT_EQ(meta["dbt_schema_version"], "https://schemas.getdbt.com/dbt/run-results/v6.json");
  EXPECT_EQ(meta["dbt_version"], kDbtCompatVersion);
  EXPECT_TRUE(std::regex_match(meta["generated_at"].get<std::string>(), kIso)) << meta["generated_at"];
  EXPECT_EQ(meta["invocation_id"], project_->settings.invocation_id);
  EXPECT_EQ(Keys(meta), (std::set<std::string>{"dbt_schema_version", "dbt_version", "generated_at", "invocation_id",
                                               "invocation_started_at", "env"}));
  EXPECT_TRUE(rr["elapsed_time"].is_number());
  EXPECT_EQ(rr["args"]["which"], "build");
  EXPECT_EQ(rr["args"]["threads"], 2);
  EXPECT_EQ(rr["args"]["full_refresh"], false);
  EXPECT_EQ(rr["args"]["vars"], json::object());
  EXPECT_FALSE(rr["args"].contains("select"));

  ASSERT_EQ(rr["results"].size(), 3u);
  std::map<std::string, json> by_id;
  for (const auto& x : rr["results"]) {
    by_id[x["unique_id"]] = x;
    // Exactly dbt's keys: the schema allows no others.
    EXPECT_EQ(Keys(x), (std::set<std::string>{"status", "timing", "thread_id", "execution_time", "adapter_response",
                                              "message", "failures", "unique_id", "compiled", "compiled_code",
                                              "relation_name", "batch_results"}));
    EXPECT_TRUE(x["thread_id"] == "Thread-1" || x["thread_id"] == "Thread-2") << x["thread_id"];
    ASSERT_EQ(x["timing"].size(), 2u);
    EXPECT_EQ(x["timing"][0]["name"], "compile");
    EXPECT_EQ(x["timing"][1]["name"], "execute");
    const std::string start = x["timing"][1]["started_at"], end = x["timing"][1]["completed_at"];
    EXPECT_TRUE(std::regex_match(start, kIso)) << start;
    EXPECT_TRUE(std::regex_match(end, kIso)) << end;
    EXPECT_LE(start, end);  // same fixed-width format: text order is time order
    EXPECT_GE(end, meta["invocation_started_at"].get<std::string>());
    EXPECT_TRUE(x["execution_time"].is_number());
    EXPECT_TRUE(x["batch_results"].is_null());
  }
  // The seed loaded 2 rows.
  const json& seed = by_id["seed.shop.raw_orders"];
  EXPECT_EQ(seed["status"], "success");
  EXPECT_EQ(seed["adapter_response"], json::parse(R"({"_message": "INSERT 2", "code": "INSERT", "rows_affected": 2})"));
  EXPECT_EQ(seed["message"], "INSERT 2");
  EXPECT_TRUE(seed["compiled"].is_null());
  EXPECT_TRUE(seed["failures"].is_null());
  EXPECT_EQ(seed["relation_name"], "\"main\".\"raw_orders\"");
  // The view.
  const json& model = by_id["model.shop.stg_orders"];
  EXPECT_EQ(model["status"], "success");
  EXPECT_EQ(model["adapter_response"]["code"], "CREATE VIEW");
  EXPECT_EQ(model["compiled"], true);
  EXPECT_EQ(model["compiled_code"], "select id, amount from \"main\".\"raw_orders\"");
  EXPECT_EQ(model["relation_name"], "\"main\".\"stg_orders\"");
  // The test: no adapter response, no message, 0 failures.
  const json& test = by_id["test.shop.unique_stg_orders_id"];
  EXPECT_EQ(test["status"], "pass");
  EXPECT_EQ(test["adapter_response"], json::object());
  EXPECT_TRUE(test["message"].is_null());
  EXPECT_EQ(test["failures"], 0);
  EXPECT_EQ(test["compiled"], true);
  EXPECT_TRUE(test["relation_name"].is_null());
  // The seed runs before the model it feeds, the model before its test.
  EXPECT_LE(seed["timing"][1]["completed_at"].get<std::string>(), model["timing"][1]["started_at"].get<std::string>());
  EXPECT_LE(model["timing"][1]["completed_at"].get<std::string>(), test["timing"][1]["started_at"].get<std::string>());
}

TEST_F(ArtifactsTest, CompileRecordsCompiledPathAndSkipsHaveNoTiming) {
  auto r = Run(Verb::kCompile);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  json m = Read("manifest.json");
  const json& model = m["nodes"]["model.shop.stg_orders"];
  EXPECT_EQ(model["compiled_path"], "target/compiled/shop/models/staging/stg_orders.sql");
  EXPECT_TRUE(model["build_path"].is_null());
  auto file = ReadFile(dir_.Sub("target/compiled/shop/models/staging/stg_orders.sql"));
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(*file, model["compiled_code"].get<std::string>() + "\n");
  json rr = Read("run_results.json");
  EXPECT_EQ(rr["args"]["which"], "compile");
  for (const auto& x : rr["results"]) {
    // Compiling is the whole of the node's work: execute is the instant it ended.
    EXPECT_EQ(x["timing"][0]["completed_at"], x["timing"][1]["started_at"]);
    EXPECT_EQ(x["timing"][1]["started_at"], x["timing"][1]["completed_at"]);
    EXPECT_EQ(x["adapter_response"], json::object());
  }

  // A failing model skips its test: the skip ran nowhere, so it has no timing.
  WriteText(dir_.Sub("models/staging/stg_orders.sql"), "select id, amount from no_such_table\n");
  auto built = Run(Verb::kBuild, {"stg_orders"});
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  rr = Read("run_results.json");
  EXPECT_EQ(rr["args"]["select"], json({"stg_orders"}));
  std::map<std::string, json> by_id;
  for (const auto& x : rr["results"]) by_id[x["unique_id"]] = x;
  ASSERT_EQ(by_id.size(), 2u);
  EXPECT_EQ(by_id["model.shop.stg_orders"]["status"], "error");
  EXPECT_EQ(by_id["model.shop.stg_orders"]["adapter_response"], json::object());
  EXPECT_NE(by_id["model.shop.stg_orders"]["message"].get<std::string>().find("no_such_table"), std::string::npos);
  const json& skipped = by_id["test.shop.unique_stg_orders_id"];
  EXPECT_EQ(skipped["status"], "skipped");
  EXPECT_EQ(skipped["timing"], json::array());
  EXPECT_EQ(skipped["thread_id"], by_id["model.shop.stg_orders"]["thread_id"]);
  EXPECT_TRUE(skipped["compiled_code"].is_null());
}

TEST_F(ArtifactsTest, CommandLineExtrasJoinArgsAndWarnErrorFails) {
  LoadOptions lo;
  lo.project_dir = dir_.path();
  auto p = LoadedProject::Load(lo);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  RunResults results;
  NodeResult warned;
  warned.unique_id = "test.shop.unique_stg_orders_id";
  warned.status = "warn";
  warned.failures = 3;
  results.results.push_back(warned);
  RunOptions ro;
  ro.verb = Verb::kTest;
  ro.selection.select = {"tag:nightly"};
  ArtifactExtras extras;
  extras.args = {{"which", "retry"}, {"select", {"unique_stg_orders_id"}}, {"threads", 9}, {"warn_error", true}};
  extras.warn_error = true;
  const std::string target = (*p)->project.root + "/target";
  ASSERT_TRUE(WriteRunResults(**p, results, ro, target, extras).ok());
  json rr = Read("run_results.json");
  // The runner's which and threads stand; the command line's selection replaces the runner's.
  EXPECT_EQ(rr["args"]["which"], "test");
  EXPECT_EQ(rr["args"]["threads"], 2);
  EXPECT_EQ(rr["args"]["select"], json({"unique_stg_orders_id"}));
  EXPECT_EQ(rr["args"]["warn_error"], true);
  ASSERT_EQ(rr["results"].size(), 1u);
  EXPECT_EQ(rr["results"][0]["status"], "fail");
  EXPECT_EQ(rr["results"][0]["failures"], 3);
  // A result from no worker (a hook's) is the main thread's and has no timing.
  EXPECT_EQ(rr["results"][0]["thread_id"], "main");
  EXPECT_EQ(rr["results"][0]["timing"], json::array());
}

TEST_F(ArtifactsTest, FreshnessWritesSourcesJson) {
  ASSERT_TRUE(Run(Verb::kSeed).ok());
  auto r = Run(Verb::kFreshness);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  json s = Read("sources.json");
  EXPECT_EQ(s["metadata"]["dbt_schema_version"], "https://schemas.getdbt.com/dbt/sources/v3.json");
  EXPECT_EQ(s["metadata"]["dbt_version"], kDbtCompatVersion);
  ASSERT_EQ(s["results"].size(), 1u);
  const json& x = s["results"][0];
  EXPECT_EQ(x["unique_id"], "source.shop.raw.orders");
  // The newest loaded_at is 2024-01-02, more than a day before run_started_at (2024-03-01).
  EXPECT_EQ(x["status"], "warn");
  EXPECT_TRUE(x.contains("max_loaded_at"));
  EXPECT_EQ(x["thread_id"], "Thread-1");
  EXPECT_EQ(x["timing"].size(), 2u);
  EXPECT_EQ(x["adapter_response"], json::object());
}

}  // namespace
}  // namespace strata::transform
