// End-to-end tests of dbt's everyday verbs and flags through the `strata` binary, on a small
// DuckDB project: debug, run-operation, show, parse, ls/list, clean, retry, init, and
// --warn-error, --target-path, --empty, --store-failures, --log-format json.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/file.h"
#include "db/duckdb.h"
#include "testing.h"
#include "transform/dbt_project.h"

namespace strata {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::CommandResult;
using testing::RunCommand;
using testing::StrataBinary;
using testing::WriteText;

const char* kProfiles = R"(verbs:
  target: dev
  outputs:
    dev: {type: duckdb, path: wh.duckdb, schema: main}
)";

// A seed, a table model, an ephemeral model and a model reading it, one macro file.
void WriteProject(const std::string& dir, const std::string& extra_project_yaml = "") {
  fs::create_directories(dir);
  WriteText(dir + "/dbt_project.yml", "name: verbs\nversion: '1.0'\nprofile: verbs\n" + extra_project_yaml +
                                          "models:\n  verbs:\n    +materialized: table\n");
  WriteText(dir + "/profiles.yml", kProfiles);
  WriteText(dir + "/seeds/people.csv", "id,name\n1,ann\n2,bob\n3,cy\n4,dee\n5,eve\n6,fay\n7,gus\n");
  WriteText(dir + "/models/adults.sql", "select id, name from {{ ref('people') }} where id > 1\n");
  WriteText(dir + "/models/eph.sql",
            "{{ config(materialized='ephemeral') }}\nselect id from {{ ref('people') }} where id <= 3\n");
  WriteText(dir + "/models/reads_eph.sql", "select count(*) as n from {{ ref('eph') }}\n");
  WriteText(dir + "/models/schema.yml", R"(version: 2
models:
  - name: adults
    columns:
      - name: id
        data_tests: [unique, not_null]
)");
  WriteText(dir + "/macros/ops.sql", R"({% macro make_table(name, n=1) %}
  {% do run_query('create table main.' ~ name ~ ' as select ' ~ n ~ ' as x') %}
  {% do log('made ' ~ name, info=True) %}
  {{ return('created ' ~ name) }}
{% endmacro %}

{% macro boom() %}
  {{ exceptions.raise_compiler_error('boom here') }}
{% endmacro %}
)");
}

CommandResult Strata(const std::string& dir, std::vector<std::string> args, const std::vector<std::string>& env = {}) {
  std::vector<std::string> argv = {StrataBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--project-dir");
  argv.push_back(dir);
  return RunCommand(argv, env);
}

// The rows of `sql` on the project's warehouse, "a|b" per row (the file must not be held).
std::vector<std::string> Rows(const std::string& dir, const std::string& sql) {
  std::vector<std::string> out;
  auto db = duck::Database::Open(dir + "/wh.duckdb");
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  if (!db.ok()) return out;
  auto c = (*db)->Connect();
  auto r = (*c)->Query(sql);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return out;
  return testing::RowLines(*r);
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

json RunResults(const std::string& path) {
  auto text = ReadFile(path);
  EXPECT_TRUE(text.ok()) << path;
  return text.ok() ? json::parse(*text) : json();
}

std::map<std::string, std::string> Statuses(const json& run_results) {
  std::map<std::string, std::string> out;
  for (const auto& r : run_results["results"]) out[r["unique_id"]] = r["status"];
  return out;
}

TEST(DbtVerbs, DebugPassesAndReportsWhatFails) {
  testing::TempDir dir;
  const std::string p = dir.Sub("p");
  WriteProject(p);
  auto ok = Strata(p, {"debug"});
  ASSERT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find(std::string("dbt ") + transform::kDbtCompatVersion), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("profiles.yml: using " + p + "/profiles.yml"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("path: " + p + "/wh.duckdb"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("connection: [OK]"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("All checks passed!"), std::string::npos) << ok.out;

  // A target profiles.yml does not have.
  auto no_target = Strata(p, {"debug", "-t", "prod"});
  EXPECT_EQ(no_target.exit_code, 1) << no_target.out;
  EXPECT_NE(no_target.out.find("profiles.yml: [ERROR]"), std::string::npos) << no_target.out;
  EXPECT_NE(no_target.err.find("no target 'prod'"), std::string::npos) << no_target.err;

  // A warehouse that cannot be reached, with a password from the environment: the failure is
  // reported, the password never.
  WriteText(dir.Sub("bad/profiles.yml"), R"(verbs:
  target: dev
  outputs:
    dev:
      type: postgres
      host: 127.0.0.1
      port: 1
      user: nobody
      dbname: nothing
      schema: s
      password: "{{ env_var('VERBS_TEST_PASSWORD') }}"
      connect_timeout: 2
)");
  auto bad = Strata(p, {"debug", "--profiles-dir", dir.Sub("bad")}, {"VERBS_TEST_PASSWORD=hunter2-very-secret"});
  EXPECT_EQ(bad.exit_code, 1) << bad.out << bad.err;
  EXPECT_NE(bad.out.find("type: postgres"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("connection: [ERROR]"), std::string::npos) << bad.out;
  EXPECT_NE(bad.err.find("check failed"), std::string::npos) << bad.err;
  EXPECT_EQ((bad.out + bad.err).find("hunter2-very-secret"), std::string::npos) << bad.out << bad.err;

  // No project at all.
  auto none = Strata(dir.Sub("nowhere"), {"debug"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.out.find("dbt_project.yml: [ERROR]"), std::string::npos) << none.out;
}

TEST(DbtVerbs, RunOperationCallsAMacroWithArgsOnTheWarehouse) {
  testing::TempDir dir;
  const std::string p = dir.Sub("p");
  WriteProject(p);
  auto r = Strata(p, {"run-operation", "make_table", "--args", "{name: made_by_op, n: 7}"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("created made_by_op"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("made made_by_op"), std::string::npos) << r.err;                // log(..., info=True)
  EXPECT_EQ(Rows(p, "select x from main.made_by_op"), std::vector<std::string>{"7"});  // committed

  // package.macro names the root project's namespace too.
  auto qualified = Strata(p, {"run-operation", "verbs.make_table", "--args", "name: other"});
  ASSERT_EQ(qualified.exit_code, 0) << qualified.out << qualified.err;
  EXPECT_EQ(Rows(p, "select x from main.other"), std::vector<std::string>{"1"});

  auto boom = Strata(p, {"run-operation", "boom"});
  EXPECT_EQ(boom.exit_code, 1);
  EXPECT_NE(boom.err.find("boom here"), std::string::npos) << boom.err;
  EXPECT_NE(boom.err.find("macros/ops.sql:"), std::string::npos) << boom.err;  // file:line:col

  auto typo = Strata(p, {"run-operation", "make_tabel"});
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_NE(typo.err.find("did you mean 'make_table'"), std::string::npos) << typo.err;

  auto bad_args = Strata(p, {"run-operation", "make_table", "--args", "[1, 2]"});
  EXPECT_EQ(bad_args.exit_code, 2) << bad_args.err;
}

TEST(DbtVerbs, ShowPreviewsModelsAndInlineSqlUnderTheLimit) {
  testing::TempDir dir;
  const std::string p = dir.Sub("p");
  WriteProject(p);
  ASSERT_EQ(Strata(p, {"seed"}).exit_code, 0);

  auto text = Strata(p, {"show", "-s", "adults", "--limit", "2"});
  ASSERT_EQ(text.exit_code, 0) << text.out << text.err;
  EXPECT_NE(text.out.find("Previewing node 'adults':"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("| id | name |"), std::string::npos) << text.out;
  int table_lines = 0;
  for (const auto& line : Lines(text.out)) table_lines += line.rfind("|", 0) == 0;
  EXPECT_EQ(table_lines, 2 + 2) << text.out;  // header, rule, 2 rows

  // JSON rows, typed; the model was never built: show compiles and runs its SQL.
  auto j = Strata(p, {"show", "-s", "adults", "--limit", "3", "--output", "json"});
  ASSERT_EQ(j.exit_code, 0) << j.out << j.err;
  json doc = json::parse(Lines(j.out).back());
  EXPECT_EQ(doc["node"], "adults");
  ASSERT_EQ(doc["show"].size(), 3u) << doc.dump();
  EXPECT_TRUE(doc["show"][0]["id"].is_number()) << doc.dump();
  EXPECT_TRUE(doc["show"][0]["name"].is_string()) << doc.dump();

  // An ephemeral ref is inlined for -s and for --inline.
  auto eph = Strata(p, {"show", "-s", "reads_eph", "--output", "json"});
  ASSERT_EQ(eph.exit_code, 0) << eph.out << eph.err;
  EXPECT_EQ(json::parse(Lines(eph.out).back())["show"][0]["n"], 3) << eph.out;

  auto inl = Strata(p, {"show", "--inline", "select name from {{ ref('people') }} where id = 2", "--output", "json"});
  ASSERT_EQ(inl.exit_code, 0) << inl.out << inl.err;
  EXPECT_EQ(json::parse(Lines(inl.out).back())["show"], json::parse(R"([{"name": "bob"}])")) << inl.out;
  auto inl_eph = Strata(p, {"show", "--inline", "select * from {{ ref('eph') }}", "--limit", "-1"});
  ASSERT_EQ(inl_eph.exit_code, 0) << inl_eph.out << inl_eph.err;
  EXPECT_NE(inl_eph.out.find("Previewing inline node:"), std::string::npos) << inl_eph.out;
  EXPECT_EQ(Lines(inl_eph.out).size(), 1u + 2u + 3u) << inl_eph.out;  // title, header and rule, 3 rows

  // Several nodes, an unknown ref, neither flag.
  auto many = Strata(p, {"show", "-s", "adults reads_eph"});
  EXPECT_EQ(many.exit_code, 1);
  EXPECT_NE(many.err.find("previews one node"), std::string::npos) << many.err;
  auto unknown = Strata(p, {"show", "--inline", "select * from {{ ref('adultz') }}"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("did you mean 'adults'"), std::string::npos) << unknown.err;
  EXPECT_EQ(Strata(p, {"show"}).exit_code, 2);
}

TEST(DbtVerbs, ParseWritesTheManifestAndFailsOnABadProject) {
  testing::TempDir dir;
  const std::string p = dir.Sub("p");
  WriteProject(p);
  auto r = Strata(p, {"parse"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("3 models"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 seed"), std::string::npos) << r.out;
  json manifest = RunResults(p + "/target/manifest.json");
  EXPECT_TRUE(manifest["nodes"].contains("model.verbs.adults")) << manifest.dump().substr(0, 500);
  EXPECT_FALSE(fs::exists(p + "/wh.duckdb")) << "parse touches no warehouse";

  WriteText(p + "/models/broken.sql", "select * from {{ ref('nope') }}\n");
  auto bad = Strata(p, {"parse"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("models/broken.sql"), std::string::npos) << bad.err;
}

TEST(DbtVerbs, LsPrintsJsonNamesAndPathsByResourceType) {
  testing::TempDir dir;
  const std::string p = dir.Sub("p");
  WriteProject(p);
  auto r = Strata(p, {"ls", "--output", "json", "--resource-type", "model"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::set<std::string> ids;
  for (const auto& line : Lines(r.out)) {
    json j = json::parse(line);
    EXPECT_EQ(j["resource_type"], "model") << line;
    for (const char* key :
         {"name", "package_name", "original_file_path", "unique_id", "alias", "config", "tags", "depends_on"}) {
      EXPECT_TRUE(j.contains(key)) << key << " in " << line;
    }
    ids.insert(j["unique_id"]);
  }
  EXPECT_EQ(ids, (std::set<std::string>{"model.verbs.adults", "model.verbs.eph", "model.verbs.reads_eph"}));

  auto keys = Strata(
      p, {"list", "--output", "json", "--output-keys", "name,unique_id", "-s", "adults", "--resource-type", "model"});
  ASSERT_EQ(keys.exit_code, 0) << keys.err;
  EXPECT_EQ(json::parse(Lines(keys.out).at(0)),
            json::parse(R"({"name": "adults", "unique_id": "model.verbs.adults"})"));

  auto tests = Strata(p, {"list", "--output", "name", "--resource-type", "test", "--resource-type", "seed"});
  ASSERT_EQ(tests.exit_code, 0) << tests.err;
  EXPECT_EQ(Lines(tests.out), (std::vector<std::string>{"people", "not_null_adults_id", "unique_adults_id"}));

  auto paths = Strata(p, {"ls", "--output", "path", "-s", "adults", "--exclude-resource-type", "test"});
  EXPECT_EQ(Lines(paths.out), std::vector<std::string>{"models/adults.sql"}) << paths.out;
  auto selectors = Strata(p, {"ls", "-s", "adults", "--resource-type", "model"});
  EXPECT_EQ(Lines(selectors.out), std::vector<std::string>{"verbs.adults"}) << selectors.out;
  EXPECT_EQ(Strata(p, {"ls", "--resource-type", "widget"}).exit_code, 2);
}

TEST(DbtVerbs, CleanRemovesTargetsAndRefusesPathsOutsideTheProject) {
  testing::TempDir dir;
  const std::string p = dir.Sub("p");
  WriteProject(p);
  ASSERT_EQ(Strata(p, {"parse"}).exit_code, 0);
  ASSERT_TRUE(fs::exists(p + "/target/manifest.json"));
  auto r = Strata(p, {"clean"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("Cleaned " + p + "/target"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(p + "/target"));
  EXPECT_TRUE(fs::exists(p + "/models/adults.sql"));
  auto again = Strata(p, {"clean"});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_NE(again.out.find("does not exist"), std::string::npos) << again.out;

  // clean-targets outside the project: refused, and nothing at all is deleted.
  const std::string q = dir.Sub("q");
  WriteProject(q, "clean-targets: [target, \"../x\"]\n");
  WriteText(dir.Sub("x/keep.txt"), "precious");
  ASSERT_EQ(Strata(q, {"parse"}).exit_code, 0);
  auto outside = Strata(q, {"clean"});
  EXPECT_EQ(outside.exit_code, 1);
  EXPECT_NE(outside.err.find("outside the project"), std::string::npos) << outside.err;
  EXPECT_TRUE(fs::exists(dir.Sub("x/keep.txt")));
  EXPECT_TRUE(fs::exists(q + "/target/manifest.json"));

  // The project's own sources are never cleaned.
  const std::string s = dir.Sub("s");
  WriteProject(s, "clean-targets: [models]\n");
  auto sources = Strata(s, {"clean"});
  EXPECT_EQ(sources.exit_code, 1);
  EXPECT_TRUE(fs::exists(s + "/models/adults.sql"));
}

TEST(DbtVerbs, RetryRunsOnlyWhatFailedOrWasSkipped) {
  testing::TempDir dir;
  const std::string p = dir.Sub("p");
  WriteProject(p);
  WriteText(p + "/models/flaky.sql", "select id from main.table_that_is_not_there\n");
  WriteText(p + "/models/after_flaky.sql", "select * from {{ ref('flaky') }}\n");
  ASSERT_EQ(Strata(p, {"seed"}).exit_code, 0);
  auto run = Strata(p, {"run", "--vars", "{some: var}"});
  EXPECT_EQ(run.exit_code, 1) << run.out;
  json first = RunResults(p + "/target/run_results.json");
  EXPECT_EQ(first["args"]["which"], "run");
  EXPECT_EQ(first["args"]["vars"], json::parse(R"({"some": "var"})"));
  auto st = Statuses(first);
  EXPECT_EQ(st["model.verbs.adults"], "success");
  EXPECT_EQ(st["model.verbs.flaky"], "error");
  EXPECT_EQ(st["model.verbs.after_flaky"], "skipped");

  WriteText(p + "/models/flaky.sql", "select id from {{ ref('people') }}\n");  // fixed
  auto retry = Strata(p, {"retry"});
  ASSERT_EQ(retry.exit_code, 0) << retry.out << retry.err;
  EXPECT_NE(retry.out.find("Retrying 2 node(s) of the previous run"), std::string::npos) << retry.out;
  json second = RunResults(p + "/target/run_results.json");
  EXPECT_EQ(Statuses(second), (std::map<std::string, std::string>{{"model.verbs.after_flaky", "success"},
                                                                  {"model.verbs.flaky", "success"}}));
  EXPECT_EQ(second["args"]["which"], "run");
  EXPECT_EQ(Rows(p, "select count(*) from main.after_flaky"), std::vector<std::string>{"7"});

  auto nothing = Strata(p, {"retry"});
  EXPECT_EQ(nothing.exit_code, 0) << nothing.err;
  EXPECT_NE(nothing.out.find("Nothing to retry"), std::string::npos) << nothing.out;

  const std::string fresh = dir.Sub("fresh");
  WriteProject(fresh);
  auto none = Strata(fresh, {"retry"});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("no previous run"), std::string::npos) << none.err;
}

TEST(DbtVerbs, InitCreatesAProjectThatBuilds) {
  testing::TempDir dir;
  auto init = RunCommand({StrataBinary(), "init", "my_proj"}, {}, dir.path());
  ASSERT_EQ(init.exit_code, 0) << init.out << init.err;
  for (const char* f : {"dbt_project.yml", "profiles.yml", "models/example/my_first_dbt_model.sql",
                        "models/example/my_second_dbt_model.sql", "models/example/schema.yml", ".gitignore"}) {
    EXPECT_TRUE(fs::exists(dir.Sub("my_proj/") + f)) << f;
  }
  for (const char* d : {"seeds", "macros", "tests", "snapshots"})
    EXPECT_TRUE(fs::is_directory(dir.Sub("my_proj/") + d));
  EXPECT_NE(testing::Slurp(dir.Sub("my_proj/.gitignore")).find("target/"), std::string::npos);

  auto build = Strata(dir.Sub("my_proj"), {"build"});
  ASSERT_EQ(build.exit_code, 0) << build.out << build.err;
  EXPECT_NE(build.out.find("PASS/OK=6"), std::string::npos) << build.out;  // 2 models, 4 tests
  EXPECT_NE(build.out.find("ERROR=0 FAIL=0"), std::string::npos) << build.out;

  auto again = RunCommand({StrataBinary(), "init", "my_proj"}, {}, dir.path());
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
  EXPECT_EQ(RunCommand({StrataBinary(), "init", "9lives"}, {}, dir.path()).exit_code, 2);
  EXPECT_FALSE(fs::exists(dir.Sub("9lives")));
}

TEST(DbtVerbs, WarnErrorMakesWarningsFail) {
  testing::TempDir dir;
  const std::string p = dir.Sub("p");
  WriteProject(p);
  WriteText(p + "/models/schema.yml", R"(version: 2
models:
  - name: adults
    columns:
      - name: name
        data_tests:
          - accepted_values:
              values: [bob, cy]
              config: {severity: warn}
)");
  auto warn = Strata(p, {"build"});
  ASSERT_EQ(warn.exit_code, 0) << warn.out << warn.err;
  EXPECT_NE(warn.out.find("WARN=1"), std::string::npos) << warn.out;

  auto strict = Strata(p, {"build", "--warn-error"});
  EXPECT_EQ(strict.exit_code, 1) << strict.out << strict.err;
  EXPECT_NE(strict.out.find("FAIL=1"), std::string::npos) << strict.out;
  bool failed = false;
  for (const auto& [id, status] : Statuses(RunResults(p + "/target/run_results.json"))) {
    failed |= id.rfind("test.verbs.accepted_values_adults_name", 0) == 0 && status == "fail";
  }
  EXPECT_TRUE(failed);
  // retry sees the recorded --warn-error and reruns the failed test.
  auto retry = Strata(p, {"retry"});
  EXPECT_EQ(retry.exit_code, 1) << retry.out;
  EXPECT_NE(retry.out.find("Retrying 1 node(s) of the previous build"), std::string::npos) << retry.out;
}

TEST(DbtVerbs, TargetPathEmptyStoreFailuresAndJsonLogs) {
  testing::TempDir dir;
  const std::string p = dir.Sub("p");
  WriteProject(p);
  ASSERT_EQ(Strata(p, {"seed", "--target-path", "elsewhere"}).exit_code, 0);
  auto run = Strata(p, {"run", "-s", "adults", "--target-path", dir.Sub("abs_target")});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_TRUE(fs::exists(p + "/elsewhere/run_results.json"));
  EXPECT_TRUE(fs::exists(dir.Sub("abs_target/run_results.json")));
  EXPECT_TRUE(fs::exists(dir.Sub("abs_target/run/verbs/models/adults.sql")));
  EXPECT_FALSE(fs::exists(p + "/target")) << "nothing goes to the default target-path";

  // --empty: the model builds with its columns and no rows.
  auto empty = Strata(p, {"run", "-s", "adults", "--empty"});
  ASSERT_EQ(empty.exit_code, 0) << empty.out << empty.err;
  EXPECT_EQ(Rows(p, "select count(*) from main.adults"), std::vector<std::string>{"0"});
  EXPECT_EQ(Rows(p, "select column_name from information_schema.columns where table_name = 'adults' order by 1"),
            (std::vector<std::string>{"id", "name"}));
  EXPECT_NE(testing::Slurp(p + "/target/run/verbs/models/adults.sql").find("limit 0"), std::string::npos);
  ASSERT_EQ(Strata(p, {"run", "-s", "adults"}).exit_code, 0);
  EXPECT_EQ(Rows(p, "select count(*) from main.adults"), std::vector<std::string>{"6"});

  // --store-failures keeps a failing test's rows.
  WriteText(p + "/tests/no_bob.sql", "select * from {{ ref('adults') }} where name = 'bob'\n");
  auto stored = Strata(p, {"test", "--store-failures"});
  EXPECT_EQ(stored.exit_code, 1) << stored.out;
  EXPECT_EQ(Rows(p, "select name from main_dbt_test__audit.no_bob"), std::vector<std::string>{"bob"});

  // --log-format json: every line is a structured log object.
  auto logs = Strata(p, {"run", "-s", "adults", "--log-format", "json"});
  ASSERT_EQ(logs.exit_code, 0) << logs.out << logs.err;
  int node_lines = 0;
  for (const auto& line : Lines(logs.out)) {
    json j = json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    EXPECT_TRUE(j["info"]["msg"].is_string()) << line;
    EXPECT_EQ(j["info"]["level"], "info") << line;
    EXPECT_TRUE(j["info"]["ts"].is_string()) << line;
    if (j["info"]["name"] == "NodeFinished") {
      ++node_lines;
      EXPECT_EQ(j["data"]["node_info"]["unique_id"], "model.verbs.adults") << line;
    }
  }
  EXPECT_EQ(node_lines, 1) << logs.out;

  // --quiet: nothing but failures.
  auto quiet = Strata(p, {"run", "-s", "adults", "-q", "--no-version-check"});
  ASSERT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_EQ(quiet.out, "");
}

// --defer: a dev run that builds one model reads its unbuilt parents from prod's relations,
// named by prod's manifest.json; a parent dev has is read from dev unless --favor-state.
TEST(DbtVerbs, DeferReadsUnselectedParentsFromTheStatesRelations) {
  testing::TempDir dir;
  const std::string p = dir.Sub("p");
  WriteProject(p);
  WriteText(p + "/profiles.yml", R"(verbs:
  target: dev
  outputs:
    dev: {type: duckdb, path: wh.duckdb, schema: dev}
    prod: {type: duckdb, path: wh.duckdb, schema: prod}
)");
  ASSERT_EQ(Strata(p, {"build", "-t", "prod", "--target-path", dir.Sub("prod_state")}).exit_code, 0);
  WriteText(p + "/models/reads_adults.sql", "select count(*) as n from {{ ref('adults') }}\n");

  // Without --defer, dev has no adults to read.
  auto plain = Strata(p, {"run", "-s", "reads_adults"});
  EXPECT_NE(plain.exit_code, 0) << plain.out;
  auto needs_state = Strata(p, {"run", "-s", "reads_adults", "--defer"});
  EXPECT_EQ(needs_state.exit_code, 2);
  EXPECT_NE(needs_state.err.find("--defer needs --state"), std::string::npos) << needs_state.err;

  auto deferred = Strata(p, {"run", "-s", "reads_adults", "--defer", "--state", dir.Sub("prod_state")});
  ASSERT_EQ(deferred.exit_code, 0) << deferred.out << deferred.err;
  // prod's adults: ids 2..7.
  EXPECT_EQ(Rows(p, "select n from dev.reads_adults"), std::vector<std::string>{"6"});
  EXPECT_EQ(Rows(p,
                 "select count(*) from information_schema.tables where table_schema = 'dev' and "
                 "table_name = 'adults'"),
            std::vector<std::string>{"0"});

  // Once dev builds its own adults (ids 6 and 7 now), --defer reads dev's; --favor-state prod's.
  WriteText(p + "/models/adults.sql", "select id, name from {{ ref('people') }} where id > 5\n");
  ASSERT_EQ(Strata(p, {"build", "-s", "+adults"}).exit_code, 0);
  ASSERT_EQ(Strata(p, {"run", "-s", "reads_adults", "--defer", "--state", dir.Sub("prod_state")}).exit_code, 0);
  EXPECT_EQ(Rows(p, "select n from dev.reads_adults"), std::vector<std::string>{"2"});
  ASSERT_EQ(Strata(p, {"run", "-s", "reads_adults", "--defer", "--favor-state", "--defer-state", dir.Sub("prod_state")})
                .exit_code,
            0);
  EXPECT_EQ(Rows(p, "select n from dev.reads_adults"), std::vector<std::string>{"6"});
}

}  // namespace
}  // namespace strata
