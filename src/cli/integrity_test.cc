// The break-it campaign's cases against the `strata` binary (issue 12): secrets, names that
// become paths, exit codes, flags, killed runs. Each test failed before its fix.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "db/duckdb.h"
#include "testing.h"

namespace strata {
namespace {

using testing::RunCommand;
using testing::StrataBinary;

// Every text column of every table of an SQLite file, concatenated.
std::string DumpSqlite(const std::string& path) {
  auto r = RunCommand({"/usr/bin/sqlite3", path, ".dump"});
  return r.out;
}

// Every file under `dir`, concatenated.
std::string DumpTree(const std::string& dir) {
  std::string all;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file() && it->path().extension() != ".db" && it->path().extension() != ".duckdb") {
      all += testing::Slurp(it->path().string());
    }
  }
  return all;
}

// The campaign's case: `base_url: http://user:${API_PW}@host` put the password in stdout, task
// logs, runs.db, `strata runs show` and alert payloads.
TEST(Secrets, APasswordInAUrlAndATokenInAHeaderReachNoOutputLogHistoryOrAlert) {
  testing::TempDir tmp;
  const std::string password = "pw-Zq81-secret";
  const std::string token = "tok-77aa-secret";
  testing::WriteText(tmp.Sub("p/strata.yml"),
                     "name: p\n"
                     "sources:\n"
                     "  api:\n"
                     "    type: http\n"
                     "    base_url: http://reader:${API_PW}@127.0.0.1:1\n"
                     "    headers: {Authorization: 'Bearer ${API_TOKEN}'}\n"
                     "    retry: {max_attempts: 1}\n"
                     "    endpoints: {items: {path: /items}}\n"
                     "pipelines:\n"
                     "  daily:\n"
                     "    alerts:\n"
                     "      - command: cat >> " +
                         tmp.Sub("alert.json") +
                         "\n"
                         "    tasks:\n"
                         "      ingest: {type: ingest, source: api}\n");
  std::vector<std::string> env = {"API_PW=" + password, "API_TOKEN=" + token};
  auto run = RunCommand({StrataBinary(), "pipeline", "run", "-p", tmp.Sub("p"), "--date", "2024-01-01"}, env);
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  auto json =
      RunCommand({StrataBinary(), "pipeline", "run", "-p", tmp.Sub("p"), "--date", "2024-01-02", "--json"}, env);
  auto show = RunCommand({StrataBinary(), "runs", "show", "daily__2024-01-01", "-p", tmp.Sub("p")}, env);
  auto logs = RunCommand({StrataBinary(), "logs", "daily__2024-01-01", "ingest", "-p", tmp.Sub("p")}, env);
  auto ingest = RunCommand({StrataBinary(), "ingest", "-p", tmp.Sub("p"), "--json"}, env);
  const std::string alert = testing::Slurp(tmp.Sub("alert.json"));
  EXPECT_NE(alert.find("127.0.0.1:1"), std::string::npos) << "the alert names the failure: " << alert;
  EXPECT_NE(show.out.find("127.0.0.1:1"), std::string::npos) << show.out << show.err;
  const std::vector<std::pair<std::string, std::string>> places = {
      {"pipeline run stdout", run.out},
      {"pipeline run stderr", run.err},
      {"--json", json.out + json.err},
      {"runs show", show.out + show.err},
      {"logs", logs.out + logs.err},
      {"ingest", ingest.out + ingest.err},
      {"alert payload", alert},
      {"runs.db", DumpSqlite(tmp.Sub("p/.strata/runs.db"))},
      {"state files and logs", DumpTree(tmp.Sub("p/.strata"))}};
  for (const auto& [where, text] : places) {
    EXPECT_EQ(text.find(password), std::string::npos) << where << ":\n" << text;
    EXPECT_EQ(text.find(token), std::string::npos) << where << ":\n" << text;
    EXPECT_EQ(text.find("cmVhZGVy"), std::string::npos) << where << ":\n" << text;  // base64 "reader:..."
  }
}

// The campaign's case: a pipeline named "../../../x" wrote its logs outside the project.
TEST(Names, PipelineAndTaskNamesCannotReachOutsideTheProject) {
  testing::TempDir tmp;
  for (const std::string& yml :
       {std::string("name: p\npipelines:\n  \"../../../x\":\n    tasks:\n      t: {type: noop}\n"),
        std::string("name: p\npipelines:\n  p:\n    tasks:\n      \"../../y\": {type: shell, command: 'true'}\n"),
        std::string("name: p\npipelines:\n  p:\n    tasks:\n      \"a/b\": {type: shell, command: 'true'}\n")}) {
    testing::WriteText(tmp.Sub("deep/p/strata.yml"), yml);
    auto r = RunCommand({StrataBinary(), "pipeline", "run", "-p", tmp.Sub("deep/p"), "--date", "2024-01-01"});
    EXPECT_EQ(r.exit_code, 2) << yml << r.err;
    EXPECT_NE(r.err.find("strata.yml:"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("name: use up to 100 letters, digits, '_' and '-'"), std::string::npos) << r.err;
  }
  // Nothing was written anywhere but the project.
  std::vector<std::string> outside;
  for (const auto& e : std::filesystem::recursive_directory_iterator(tmp.path())) {
    if (e.path().string().find(tmp.Sub("deep/p")) != 0 && e.path() != tmp.Sub("deep")) outside.push_back(e.path());
  }
  EXPECT_TRUE(outside.empty()) << outside[0];
}

// Runs `strata` in the background; the handle kills it when the test ends.
std::unique_ptr<testing::ChildProcess> Start(const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> argv = {StrataBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return std::make_unique<testing::ChildProcess>(argv, std::vector<std::string>{}, log);
}

// Waits up to `seconds` for `path` to contain `text`.
bool WaitForText(const std::string& path, const std::string& text, int seconds = 30) {
  for (int i = 0; i < seconds * 20; ++i) {
    if (testing::Slurp(path).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// The campaign's case: after SIGKILL the run stayed "running" in `strata runs` forever, and
// the killed task's log was empty.
TEST(KilledRun, ShowsInterruptedAndItsTaskLogKeepsWhatItWrote) {
  testing::TempDir tmp;
  testing::WriteText(tmp.Sub("p/strata.yml"),
                     "name: p\npipelines:\n  daily:\n    tasks:\n"
                     "      crunch: {type: sql, sql: \"SELECT count(*) FROM range(100000000000) a\"}\n");
  auto run = Start({"pipeline", "run", "-p", tmp.Sub("p"), "--date", "2024-01-01"}, tmp.Sub("run.out"));
  const std::string log = tmp.Sub("p/.strata/logs/daily/2024-01-01/crunch/attempt-1-try-1.log");
  ASSERT_TRUE(WaitForText(log, "range(100000000000)")) << testing::Slurp(tmp.Sub("run.out"));
  run->Kill(SIGKILL);
  run->Wait();
  const std::string text = testing::Slurp(log);
  EXPECT_NE(text.find("task crunch (sql) of run daily__2024-01-01, try 1"), std::string::npos) << text;
  auto runs = RunCommand({StrataBinary(), "runs", "-p", tmp.Sub("p")});
  EXPECT_EQ(runs.exit_code, 0) << runs.err;
  EXPECT_NE(runs.out.find("interrupted"), std::string::npos) << runs.out;
  EXPECT_EQ(runs.out.find("  running  "), std::string::npos) << runs.out;
  auto show = RunCommand({StrataBinary(), "runs", "show", "daily__2024-01-01", "-p", tmp.Sub("p"), "--json"});
  EXPECT_NE(show.out.find("stopped before it finished"), std::string::npos) << show.out;
}

// A small dbt project with one model, in <dir>/t, built into <dir>/wh.duckdb.
void WriteDbtProject(const std::string& dir, const std::string& model_sql) {
  testing::WriteText(dir + "/t/dbt_project.yml", "name: t\nprofile: t\n");
  testing::WriteText(dir + "/t/profiles.yml",
                     "t:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: ../wh.duckdb, schema: main}\n");
  testing::WriteText(dir + "/t/models/m.sql", model_sql);
}

// The campaign's case: `strata build` with a target/ it could not write printed an error and
// exited 0, so a scheduler would read the previous run's artifacts as this one's.
TEST(Cli, ABuildWhoseArtifactsCannotBeWrittenFails) {
  testing::TempDir tmp;
  WriteDbtProject(tmp.path(), "select 1 as x\n");
  testing::WriteText(tmp.Sub("t/target"), "a file where target/ should be\n");  // root ignores modes
  auto r = RunCommand({StrataBinary(), "build", "--project-dir", tmp.Sub("t")});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("writing artifacts"), std::string::npos) << r.err;
}

// An unknown command says which exist (and the closest), as a usage error.
TEST(Cli, AnUnknownCommandListsTheCommands) {
  auto r = RunCommand({StrataBinary(), "qualty"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("unknown command 'qualty' (did you mean quality?)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("build, test, seed"), std::string::npos) << r.err;
  auto none = RunCommand({StrataBinary(), "frobnicate", "--x"});
  EXPECT_EQ(none.exit_code, 2) << none.err;
  EXPECT_EQ(none.err.find("did you mean"), std::string::npos) << none.err;
}

TEST(Cli, OutOfRangeCountsAreUsageErrors) {
  testing::TempDir tmp;
  WriteDbtProject(tmp.path(), "select 1 as x\n");
  for (const char* threads : {"100000", "0", "-4"}) {
    auto r = RunCommand({StrataBinary(), "build", "--project-dir", tmp.Sub("t"), "--threads", threads});
    EXPECT_EQ(r.exit_code, 2) << threads << ": " << r.err;
    EXPECT_NE(r.err.find("--threads"), std::string::npos) << r.err;
  }
  testing::WriteText(tmp.Sub("p/strata.yml"), "name: p\npipelines:\n  d:\n    tasks:\n      t: {type: noop}\n");
  for (const char* parallel : {"0", "-3"}) {
    auto r = RunCommand({StrataBinary(), "pipeline", "backfill", "-p", tmp.Sub("p"), "--from", "2024-01-01", "--to",
                         "2024-01-02", "--parallel", parallel});
    EXPECT_EQ(r.exit_code, 2) << parallel << ": " << r.err;
  }
  for (const char* attempt : {"0", "-1"}) {
    auto r = RunCommand({StrataBinary(), "logs", "d__2024-01-01", "t", "-p", tmp.Sub("p"), "--try", attempt});
    EXPECT_EQ(r.exit_code, 2) << attempt << ": " << r.out << r.err;
  }
  // A profile asking for absurd parallelism still builds (workers are capped).
  testing::WriteText(tmp.Sub("t/profiles.yml"),
                     "t:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: ../wh.duckdb, threads: 100000}\n");
  auto r = RunCommand({StrataBinary(), "build", "--project-dir", tmp.Sub("t")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// The campaign's case: env_var('DBT_ENV_SECRET_...') in a model was written into target/.
TEST(Secrets, DbtSecretEnvVarsAreRefusedOutsideProfiles) {
  testing::TempDir tmp;
  WriteDbtProject(tmp.path(), "select '{{ env_var(\"DBT_ENV_SECRET_TOKEN\") }}' as t\n");
  auto r =
      RunCommand({StrataBinary(), "compile", "--project-dir", tmp.Sub("t")}, {"DBT_ENV_SECRET_TOKEN=s3cr3t-v4lue"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("secret env vars are allowed only in profiles.yml"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("m.sql"), std::string::npos) << r.err;
  std::string everything;
  if (std::filesystem::exists(tmp.Sub("t/target"))) {
    for (const auto& e : std::filesystem::recursive_directory_iterator(tmp.Sub("t/target"))) {
      if (e.is_regular_file()) everything += testing::Slurp(e.path());
    }
  }
  EXPECT_EQ(everything.find("s3cr3t-v4lue"), std::string::npos);
  // In profiles.yml it is allowed, as in dbt.
  WriteDbtProject(tmp.path(), "select 1 as x\n");
  testing::WriteText(tmp.Sub("t/profiles.yml"),
                     "t:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: "
                     "\"{{ env_var('DBT_ENV_SECRET_PATH') }}\", schema: main}\n");
  r = RunCommand({StrataBinary(), "build", "--project-dir", tmp.Sub("t")},
                 {"DBT_ENV_SECRET_PATH=" + tmp.Sub("s.duckdb")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(Cli, ProjectFileMistakesAreNamedWithTheirPlaces) {
  testing::TempDir tmp;
  testing::WriteText(tmp.Sub("p/strata.yml"), "name: p\nlake: lake-a\nstate_dir: s\nlake: lake-b\n");
  auto r = RunCommand({StrataBinary(), "ingest", "-p", tmp.Sub("p")});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("strata.yml:4:1: duplicate key 'lake' (first at line 2, column 1)"), std::string::npos) << r.err;

  // 100,000 levels of nesting: refused at once (libyaml alone took most of a minute).
  testing::WriteText(tmp.Sub("p/strata.yml"),
                     "name: p\nsources: " + std::string(100000, '[') + std::string(100000, ']') + "\n");
  auto start = std::chrono::steady_clock::now();
  r = RunCommand({StrataBinary(), "ingest", "-p", tmp.Sub("p")});
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("nested more than 200 levels deep"), std::string::npos) << r.err;

  // A state folder whose path SQLite cannot open.
  std::string deep = tmp.Sub("q");
  while (deep.size() < 600) deep += "/" + std::string(60, 'd');
  testing::WriteText(deep + "/strata.yml", "name: p\npipelines:\n  d:\n    tasks:\n      t: {type: noop}\n");
  r = RunCommand({StrataBinary(), "pipeline", "run", "-p", deep, "--date", "2024-01-01"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("set state_dir in strata.yml to a shorter path"), std::string::npos) << r.err;
}

// The campaign's case: a 5-second `strata query` made the pipeline's load fail at once with
// "Could not set lock on file", and two queries could not run together.
TEST(Locks, ReadersShareTheWarehouseAndWritersWaitForIt) {
  testing::TempDir tmp;
  testing::WriteText(tmp.Sub("p/strata.yml"),
                     "name: p\nlock_timeout: 20\nwarehouse: {type: duckdb, path: wh.duckdb}\n");
  auto first = RunCommand({StrataBinary(), "load", "-p", tmp.Sub("p")});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  {
    // Another reader holds the file: queries still run beside it.
    auto reader = duck::Database::Open(tmp.Sub("p/wh.duckdb"), {{"access_mode", "READ_ONLY"}});
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    auto q = RunCommand({StrataBinary(), "query", "-p", tmp.Sub("p"), "SELECT 41 + 1 AS answer"});
    EXPECT_EQ(q.exit_code, 0) << q.err;
    EXPECT_NE(q.out.find("42"), std::string::npos) << q.out;
    // A writer waits for the reader, saying so, and goes ahead once it is gone.
    auto load = Start({"load", "-p", tmp.Sub("p")}, tmp.Sub("load.out"));
    std::this_thread::sleep_for(std::chrono::seconds(6));
    EXPECT_TRUE(load->Running()) << testing::Slurp(tmp.Sub("load.out"));
    reader->reset();
    EXPECT_EQ(load->Wait(), 0) << testing::Slurp(tmp.Sub("load.out"));
    EXPECT_NE(testing::Slurp(tmp.Sub("load.out")).find("waiting for the warehouse"), std::string::npos)
        << testing::Slurp(tmp.Sub("load.out"));
  }
  // Past lock_timeout, the writer gives up with who holds the file, and says it may be retried.
  testing::WriteText(tmp.Sub("p/strata.yml"), "name: p\nlock_timeout: 1\nwarehouse: {type: duckdb, path: wh.duckdb}\n");
  auto reader = duck::Database::Open(tmp.Sub("p/wh.duckdb"), {{"access_mode", "READ_ONLY"}});
  ASSERT_TRUE(reader.ok());
  auto r = RunCommand({StrataBinary(), "load", "-p", tmp.Sub("p")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is in use by process " + std::to_string(::getpid())), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("try again"), std::string::npos) << r.err;
}

// The campaign's case: a batch no load could read blocked every later load, and there was no
// supported way out. `strata lake quarantine-batch` sets it aside with an audit record.
TEST(PoisonedBatch, IsSetAsideWithAnAuditRecordAndLaterLoadsGoOn) {
  testing::TempDir tmp;
  testing::WriteText(tmp.Sub("p/strata.yml"),
                     "name: p\nwarehouse: {type: duckdb, path: wh.duckdb}\n"
                     "sources:\n  clicks:\n    type: events\n    path: drop\n");
  auto events = [](int day, int n) {
    std::string text;
    for (int i = 0; i < n; ++i) {
      text += R"({"event_id":"d)" + std::to_string(day) + "-" + std::to_string(i) +
              R"(","event_type":"page_view","occurred_at":"2024-01-0)" + std::to_string(day) +
              R"( 10:00:00"})"
              "\n";
    }
    return text;
  };
  auto strata = [&](std::vector<std::string> args) {
    args.insert(args.begin(), StrataBinary());
    args.push_back("-p");
    args.push_back(tmp.Sub("p"));
    return RunCommand(args);
  };
  testing::WriteText(tmp.Sub("p/drop/events-2024-01-01.jsonl"), events(1, 3));
  ASSERT_EQ(strata({"ingest", "--date", "2024-01-01"}).exit_code, 0);
  ASSERT_EQ(strata({"load"}).exit_code, 0);
  testing::WriteText(tmp.Sub("p/drop/events-2024-01-02.jsonl"), events(2, 2));
  ASSERT_EQ(strata({"ingest", "--date", "2024-01-02"}).exit_code, 0);
  // Batch 2's only file is damaged after it was committed.
  const std::string part = tmp.Sub("p/lake/raw/clicks/events/dt=2024-01-02/b00000002-0000.jsonl.zst");
  std::string bytes = testing::Slurp(part);
  ASSERT_FALSE(bytes.empty());
  bytes[bytes.size() / 2] ^= 0x20;
  std::filesystem::permissions(part, std::filesystem::perms::owner_write, std::filesystem::perm_options::add);
  testing::WriteText(part, bytes);
  auto blocked = strata({"load"});
  EXPECT_EQ(blocked.exit_code, 1);
  EXPECT_NE(blocked.err.find("strata lake quarantine-batch clicks.events b00000002"), std::string::npos) << blocked.err;

  auto aside = strata({"lake", "quarantine-batch", "clicks.events", "b00000002", "--reason", "damaged part"});
  ASSERT_EQ(aside.exit_code, 0) << aside.err;
  EXPECT_NE(aside.out.find("set aside batch b00000002 of clicks.events (1 file(s), 2 rows)"), std::string::npos)
      << aside.out;
  const std::string record = testing::Slurp(tmp.Sub("p/lake/raw/clicks/events/_set_aside/b00000002.json"));
  EXPECT_NE(record.find("\"reason\": \"damaged part\""), std::string::npos) << record;
  EXPECT_FALSE(std::filesystem::exists(part));
  EXPECT_EQ(testing::Slurp(tmp.Sub("p/lake/quarantine/clicks/events/set_aside/b00000002/b00000002-0000.jsonl.zst")),
            bytes)
      << "the file is moved aside as it was, not deleted";
  EXPECT_EQ(strata({"lake", "quarantine-batch", "clicks.events", "b00000002", "--reason", "again"}).exit_code, 0)
      << "setting a batch aside twice is harmless";

  // Ingestion goes on after the batch, and loads skip it.
  testing::WriteText(tmp.Sub("p/drop/events-2024-01-03.jsonl"), events(3, 4));
  ASSERT_EQ(strata({"ingest", "--date", "2024-01-03"}).exit_code, 0);
  auto load = strata({"load"});
  ASSERT_EQ(load.exit_code, 0) << load.err;
  auto count = strata({"query", "SELECT count(*), count(DISTINCT _lake_file) FROM raw.clicks_events"});
  EXPECT_NE(count.out.find("7\t2"), std::string::npos) << count.out;
  auto batches = strata({"lake", "batches", "clicks.events"});
  EXPECT_NE(batches.out.find("b00000002\t2024-01-02\t1\t2\t"), std::string::npos) << batches.out;
  EXPECT_NE(batches.out.find("set aside"), std::string::npos) << batches.out;
  EXPECT_EQ(strata({"load"}).out.find("rows from"), std::string::npos) << "nothing is loaded twice";
}

}  // namespace
}  // namespace strata
