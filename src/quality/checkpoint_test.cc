// Checkpoints as GE writes them: validations run, results stored where GE stores them, data
// docs updated (values escaped), and a GE project's gx/ folder read unchanged.
#include "quality/checkpoint.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/file.h"
#include "quality/docs.h"
#include "testing.h"
#include "warehouse/session.h"

namespace strata::quality {
namespace {

using nlohmann::json;

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto e = warehouse::OpenDuckDb("");
    ASSERT_TRUE(e.ok());
    engine_ = std::move(*e);
    session_ = std::move(*engine_->Connect());
    ASSERT_TRUE(session_
                    ->Execute("CREATE TABLE t AS SELECT * FROM (VALUES (1, 'a', DATE '2024-01-01'), (2, '<script>', "
                              "DATE '2024-01-01'), (3, 'c', DATE '2024-01-02')) v(id, name, day)")
                    .ok());
    project_.dir = dir_.path();
    project_.state_dir = dir_.Sub(".strata");
  }
  void Write(const std::string& base) {
    testing::WriteText(dir_.Sub(base + "/expectations/t/names.json"), R"({
      "expectation_suite_name": "t.names",
      "expectations": [
        {"expectation_type": "expect_column_values_to_match_regex", "kwargs": {"column": "name", "regex": "^[a-z]+$"}},
        {"expectation_type": "expect_table_row_count_to_equal", "kwargs": {"value": {"$PARAMETER": "rows"}}}
      ]})");
    testing::WriteText(dir_.Sub(base + "/checkpoints/daily.yml"),
                       "name: daily\nconfig_version: 1.0\nclass_name: Checkpoint\n"
                       "run_name_template: \"%Y%m%d-daily\"\nevaluation_parameters: {rows: 2}\n"
                       "action_list:\n"
                       "  - {name: store, action: {class_name: StoreValidationResultAction}}\n"
                       "  - {name: docs, action: {class_name: UpdateDataDocsAction}}\n"
                       "validations:\n"
                       "  - batch_request: {datasource_name: warehouse, data_asset_name: t, "
                       "row_condition: \"day = '{{ ds }}'\"}\n"
                       "    expectation_suite_name: t.names\n");
  }
  testing::TempDir dir_;
  Project project_;
  std::unique_ptr<warehouse::Engine> engine_;
  std::unique_ptr<warehouse::Session> session_;
};

TEST_F(CheckpointTest, RunsStoresAndDocuments) {
  Write("quality");
  const QualityPaths paths = PathsOf(project_);
  auto file = CheckpointFile(paths, "daily");
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  auto c = LoadCheckpoint(*file);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  CheckpointOptions o;
  o.run_names = {{"ds", "2024-01-01"}};
  o.run_time = "2024-01-02T03:04:05Z";
  auto r = RunCheckpoint(session_.get(), *c, paths, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // The day's two rows: '<script>' fails the regex; the row count equals the parameter.
  EXPECT_EQ(r->run_name, "20240102-daily");
  EXPECT_EQ(r->evaluated, 2);
  EXPECT_EQ(r->successful, 1);
  EXPECT_EQ(r->blocking, 1);
  ASSERT_EQ(r->stored.size(), 1u);
  EXPECT_EQ(r->stored[0], paths.validations + "/t/names/20240102-daily/2024-01-02T03_04_05Z/t.json");
  json stored = json::parse(*ReadFile(r->stored[0]));
  EXPECT_EQ(stored["results"][0]["result"]["partial_unexpected_list"], json({"<script>"}));
  EXPECT_EQ(stored["meta"]["checkpoint_name"], "daily");
  // GE's documented ExpectationSuiteValidationResult shape.
  for (const char* k : {"success", "results", "evaluation_parameters", "statistics", "meta"}) {
    EXPECT_TRUE(stored.contains(k)) << k;
  }
  for (const char* k :
       {"evaluated_expectations", "successful_expectations", "unsuccessful_expectations", "success_percent"}) {
    EXPECT_TRUE(stored["statistics"].contains(k)) << k;
  }
  for (const char* k : {"great_expectations_version", "expectation_suite_name", "run_id", "batch_spec",
                        "active_batch_definition", "validation_time"}) {
    EXPECT_TRUE(stored["meta"].contains(k)) << k;
  }
  EXPECT_EQ(stored["evaluation_parameters"], json({{"rows", 2}}));
  for (const auto& one : stored["results"]) {
    for (const char* k : {"success", "expectation_config", "result", "meta", "exception_info"}) {
      EXPECT_TRUE(one.contains(k)) << k;
    }
    for (const char* k : {"raised_exception", "exception_message", "exception_traceback"}) {
      EXPECT_TRUE(one["exception_info"].contains(k)) << k;
    }
  }
  const json& failed = stored["results"][0]["result"];
  for (const char* k : {"element_count", "missing_count", "missing_percent", "unexpected_count", "unexpected_percent",
                        "unexpected_percent_total", "unexpected_percent_nonmissing", "partial_unexpected_list"}) {
    EXPECT_TRUE(failed.contains(k)) << k;
  }
  EXPECT_DOUBLE_EQ(failed["unexpected_percent"].get<double>(), 50.0);  // 1 of the day's 2 names
  // Data docs: the index names the suite, the validation page shows the value escaped.
  ASSERT_FALSE(r->docs.empty());
  const std::string index = *ReadFile(r->docs);
  EXPECT_NE(index.find("t.names"), std::string::npos);
  bool found = false;
  for (const auto& e : std::filesystem::directory_iterator(paths.docs + "/validations")) {
    const std::string page = *ReadFile(e.path().string());
    EXPECT_EQ(page.find("<script>"), std::string::npos) << "a data value became markup";
    found = found || page.find("&lt;script&gt;") != std::string::npos;
  }
  EXPECT_TRUE(found);
  // A rebuild from the stored results gives the same index.
  auto rebuilt = RebuildDataDocs(paths);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().ToString();
  EXPECT_EQ(*ReadFile(*rebuilt), index);
}

TEST_F(CheckpointTest, ReadsAGreatExpectationsProjectAndNamesMistakes) {
  Write("gx");
  const QualityPaths paths = PathsOf(project_);
  EXPECT_EQ(paths.checkpoints, dir_.Sub("gx/checkpoints"));
  EXPECT_TRUE(CheckpointFile(paths, "daily").ok());
  auto missing = CheckpointFile(paths, "weekly");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("there are: daily"), std::string::npos) << missing.status().message();
  testing::WriteText(dir_.Sub("gx/checkpoints/bad.yml"), "name: bad\nvalidations:\n  - {expectation_suite_name: x}\n");
  auto bad = LoadCheckpoint(dir_.Sub("gx/checkpoints/bad.yml"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("bad.yml:3:"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("batch_request"), std::string::npos) << bad.status().message();
}

}  // namespace
}  // namespace strata::quality
