// End-to-end tests of the `strata` binary on the shop project: simulate, serve the API,
// run the pipeline, and check reconciliation, idempotence, increments and crash recovery.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "core/file.h"
#include "core/http_client.h"
#include "db/duckdb.h"
#include "lake/s3_test_server.h"
#include "testing.h"

namespace strata {
namespace {

using nlohmann::json;
using testing::RunCommand;
using testing::StrataBinary;

// Simulated sources shared by a test's projects (read-only once generated).
class Shop {
 public:
  Shop(const std::string& dir, double scale, int days) : dir_(dir) {
    auto r = RunCommand({StrataBinary(), "sim", "--out", SimDir(), "--scale", std::to_string(scale), "--days",
                         std::to_string(days), "--start", "2024-01-01"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    api_ = std::make_unique<testing::SimApi>(SimDir());
  }
  std::string SimDir() const { return dir_ + "/sim"; }
  // The environment of a run of the project in `project_dir`: the shared sources, the shop's
  // dbt project, and a warehouse of the project's own (the dbt target's path).
  std::vector<std::string> Env(const std::string& project_dir) const {
    return {"SHOP_DB=" + SimDir() + "/shop.db",
            "SHOP_EVENTS=" + SimDir() + "/events",
            "SHOP_API_URL=" + api_->url(),
            "SHOP_TRANSFORM=" + testing::SourceDir() + "/examples/shop/transform",
            "SHOP_QUALITY=" + testing::SourceDir() + "/examples/shop/quality",
            "STRATA_WAREHOUSE=" + project_dir + "/warehouse/shop.duckdb"};
  }
  // A fresh copy of examples/shop/strata.yml in `project_dir`.
  void MakeProject(const std::string& project_dir) const {
    std::filesystem::create_directories(project_dir);
    std::filesystem::copy_file(testing::SourceDir() + "/examples/shop/strata.yml", project_dir + "/strata.yml",
                               std::filesystem::copy_options::overwrite_existing);
  }
  testing::CommandResult Run(const std::string& project_dir, const std::vector<std::string>& args,
                             const std::vector<std::string>& extra_env = {}) const {
    std::vector<std::string> argv = {StrataBinary()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--project");
    argv.push_back(project_dir);
    std::vector<std::string> env = extra_env;  // extra_env wins over Env()
    for (const auto& kv : Env(project_dir)) {
      std::string name = kv.substr(0, kv.find('=') + 1);
      bool overridden = false;
      for (const auto& e : extra_env) overridden |= e.rfind(name, 0) == 0;
      if (!overridden) env.push_back(kv);
    }
    return RunCommand(argv, env);
  }

 private:
  std::string dir_;
  std::unique_ptr<testing::SimApi> api_;
};

// Row count and a content checksum of every table in `schemas` (bookkeeping columns that
// record when, not what, excluded: loaded_at, and the publication log).
std::map<std::string, std::string> Fingerprint(const std::string& project_dir, const std::vector<std::string>& schemas);

std::map<std::string, std::string> RawFingerprint(const std::string& project_dir) {
  return Fingerprint(project_dir, {"raw"});
}

std::map<std::string, std::string> Fingerprint(const std::string& project_dir,
                                               const std::vector<std::string>& schemas) {
  std::map<std::string, std::string> out;
  auto db = duck::Database::Open(project_dir + "/warehouse/shop.duckdb");
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  if (!db.ok()) return out;
  auto c = *(*db)->Connect();
  std::string in;
  for (const auto& s : schemas) in += (in.empty() ? "'" : ", '") + s + "'";
  auto tables = c->Query("SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name IN (" + in +
                         ") AND table_name <> '_strata_publications' ORDER BY 1, 2");
  for (const auto& row : tables->rows) {
    std::string t = schemas.size() == 1 ? *row[1] : *row[0] + "." + *row[1];
    std::string rel = duck::QuoteIdent(*row[0]) + "." + duck::QuoteIdent(*row[1]);
    std::string src = *row[1] == "_strata_loaded_files" ? "(SELECT * EXCLUDE (loaded_at) FROM " + rel + ")" : rel;
    auto r = c->Query(
        "SELECT count(*) || ' rows, md5 ' || coalesce(md5(string_agg(CAST(x AS VARCHAR), chr(10) "
        "ORDER BY CAST(x AS VARCHAR))), '-') FROM " +
        src + " x");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    out[t] = r.ok() ? r->Scalar().value_or("") : "error";
  }
  return out;
}

// The environment that puts a shop project's lake under `prefix` of the test S3 server, with
// its read cache in `cache` and the server's credentials.
std::vector<std::string> S3LakeEnv(const lake::S3TestServer& s3, const std::string& prefix, const std::string& cache,
                                   const std::string& extra_query = "") {
  return {"SHOP_LAKE=" + s3.Location(prefix) + "&cache=" + cache + extra_query,
          std::string("AWS_ACCESS_KEY_ID=") + lake::S3TestServer::kAccessKey,
          std::string("AWS_SECRET_ACCESS_KEY=") + lake::S3TestServer::kSecretKey};
}

int64_t SqliteCount(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  int64_t n = -1;
  if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

int64_t CountLines(const std::string& dir) {
  int64_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() != ".jsonl") continue;
    std::string s = testing::Slurp(e.path().string());
    for (char ch : s) n += ch == '\n';
  }
  return n;
}

json TableOf(const json& doc, const std::string& source, const std::string& table) {
  for (const auto& s : doc["sources"]) {
    for (const auto& t : s["tables"]) {
      if (t["source"] == source && t["table"] == table) return t;
    }
  }
  ADD_FAILURE() << "no " << source << "." << table << " in " << doc.dump();
  return json();
}

TEST(Pipeline, ReconcilesIsIdempotentAndExtractsOnlyChanges) {
  testing::TempDir tmp;
  Shop shop(tmp.path(), 0.2, 1);
  std::string project = tmp.Sub("project");
  shop.MakeProject(project);

  auto day1 = shop.Run(project, {"pipeline", "run", "--date", "2024-01-01", "--json"});
  ASSERT_EQ(day1.exit_code, 0) << day1.out << day1.err;
  json d1 = json::parse(day1.out);
  int64_t total_quarantined = 0;
  for (const auto& s : d1["sources"]) {
    EXPECT_TRUE(s["ok"].get<bool>()) << s.dump();
    for (const auto& t : s["tables"]) {
      EXPECT_TRUE(t["reconciled"].get<bool>()) << t.dump();
      EXPECT_EQ(t["received"].get<int64_t>(), t["landed"].get<int64_t>() + t["quarantined"].get<int64_t>());
      EXPECT_GT(t["received"].get<int64_t>(), 0) << t.dump();
      total_quarantined += t["quarantined"].get<int64_t>();
    }
  }
  EXPECT_GT(total_quarantined, 0) << "the simulator's dirt should reach the quarantine";
  const std::string db = shop.SimDir() + "/shop.db";
  for (const char* t : {"customers", "products", "orders", "order_items"}) {
    EXPECT_EQ(TableOf(d1, "shopdb", t)["received"].get<int64_t>(),
              SqliteCount(db, std::string("SELECT count(*) FROM ") + t))
        << t;
  }
  EXPECT_EQ(TableOf(d1, "clickstream", "events")["received"].get<int64_t>(), CountLines(shop.SimDir() + "/events"));
  EXPECT_EQ(TableOf(d1, "catalog", "products")["received"].get<int64_t>(),
            SqliteCount(db, "SELECT count(*) FROM products"));

  // The run is in the history, with its tasks, attempts and logs.
  auto runs = shop.Run(project, {"runs", "--json"});
  ASSERT_EQ(runs.exit_code, 0) << runs.err;
  json rj = json::parse(runs.out);
  ASSERT_EQ(rj["runs"].size(), 1u) << runs.out;
  EXPECT_EQ(rj["runs"][0]["run_id"], "daily__2024-01-01");
  EXPECT_EQ(rj["runs"][0]["state"], "success");
  auto show = shop.Run(project, {"runs", "show", "daily__2024-01-01", "--json"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  json sj = json::parse(show.out);
  std::map<std::string, std::string> states;
  for (const auto& t : sj["tasks"]) states[t["task"]] = t["state"];
  EXPECT_EQ(states, (std::map<std::string, std::string>{{"ingest_shopdb", "success"},
                                                        {"ingest_catalog", "success"},
                                                        {"ingest_clickstream", "success"},
                                                        {"load", "success"},
                                                        {"build", "success"},
                                                        {"check_raw", "success"},
                                                        {"publish", "success"}}));
  auto log = shop.Run(project, {"logs", "daily__2024-01-01", "load"});
  ASSERT_EQ(log.exit_code, 0) << log.err;
  EXPECT_NE(log.out.find("raw.shopdb_orders: +"), std::string::npos) << log.out;
  auto missing = shop.Run(project, {"runs", "show", "daily__1999-01-01"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("no run 'daily__1999-01-01'"), std::string::npos) << missing.err;

  // Rerun of the same day: nothing new anywhere.
  auto again = shop.Run(project, {"pipeline", "run", "--date", "2024-01-01", "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  json a = json::parse(again.out);
  for (const auto& s : a["sources"]) {
    for (const auto& t : s["tables"]) EXPECT_TRUE(t["batch_id"].is_null()) << t.dump();
  }
  for (const auto& t : a["load"]["tables"]) EXPECT_EQ(t["rows"], 0) << t.dump();
  auto before = RawFingerprint(project);

  // Day 2 extracts exactly the rows that changed on day 2.
  auto sim2 = RunCommand({StrataBinary(), "sim", "--out", shop.SimDir(), "--day", "2024-01-02"});
  ASSERT_EQ(sim2.exit_code, 0) << sim2.err;
  auto day2 = shop.Run(project, {"pipeline", "run", "--date", "2024-01-02", "--json"});
  ASSERT_EQ(day2.exit_code, 0) << day2.err;
  json d2 = json::parse(day2.out);
  for (const char* t : {"customers", "products", "orders", "order_items"}) {
    int64_t changed = SqliteCount(db, std::string("SELECT count(*) FROM ") + t +
                                          " WHERE updated_at >= '2024-01-02 00:00:00' AND updated_at < '2024-01-03'");
    EXPECT_EQ(TableOf(d2, "shopdb", t)["received"].get<int64_t>(), changed) << t;
    EXPECT_GT(changed, 0) << t;
  }
  // Orders that changed status on day 2 include orders placed on day 1.
  EXPECT_GT(
      SqliteCount(db, "SELECT count(*) FROM orders WHERE placed_at < '2024-01-02' AND updated_at >= '2024-01-02'"), 0);
  // The warehouse holds every version landed, and every order exactly once per version.
  auto wh = duck::Database::Open(project + "/warehouse/shop.duckdb");
  ASSERT_TRUE(wh.ok());
  auto c = *(*wh)->Connect();
  auto orders = c->Query("SELECT count(DISTINCT order_id), count(*) FROM raw.shopdb_orders");
  EXPECT_EQ(std::stoll(*orders->rows[0][0]), SqliteCount(db, "SELECT count(*) FROM orders"));
  EXPECT_EQ(std::stoll(*orders->rows[0][1]), TableOf(d1, "shopdb", "orders")["landed"].get<int64_t>() +
                                                 TableOf(d2, "shopdb", "orders")["landed"].get<int64_t>());
  EXPECT_NE(before, RawFingerprint(project));
}

// The same days on a lake in S3 (a real S3 protocol server, every request's signature
// verified) and on a local lake give the same raw tables and marts; the S3 lake verifies
// clean and has nothing to collect.
TEST(Pipeline, RunsTheSameOnAnS3Lake) {
  testing::TempDir tmp;
  Shop shop(tmp.path(), 0.1, 1);
  lake::S3TestServer s3;
  const std::string local = tmp.Sub("local"), remote = tmp.Sub("remote");
  shop.MakeProject(local);
  shop.MakeProject(remote);
  const std::vector<std::string> s3_env = S3LakeEnv(s3, "shop", tmp.Sub("s3cache"));
  for (const char* day : {"2024-01-01", "2024-01-02"}) {
    if (std::string(day) != "2024-01-01") {
      auto sim = RunCommand({StrataBinary(), "sim", "--out", shop.SimDir(), "--day", day});
      ASSERT_EQ(sim.exit_code, 0) << sim.err;
    }
    auto a = shop.Run(local, {"pipeline", "run", "--date", day});
    ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
    auto b = shop.Run(remote, {"pipeline", "run", "--date", day}, s3_env);
    ASSERT_EQ(b.exit_code, 0) << b.out << b.err;
  }
  // The marts are published to `analytics` (write-audit-publish); raw and analytics both.
  const auto want = Fingerprint(local, {"raw", "analytics"});
  EXPECT_GT(want.size(), 10u);
  EXPECT_EQ(want.count("analytics.fact_orders"), 1u);
  EXPECT_EQ(want, Fingerprint(remote, {"raw", "analytics"}));
  EXPECT_FALSE(std::filesystem::exists(remote + "/lake"));  // nothing landed locally

  auto batches = shop.Run(remote, {"lake", "ls", "--json"}, s3_env);
  ASSERT_EQ(batches.exit_code, 0) << batches.err;
  EXPECT_GT(json::parse(batches.out)["batches"].size(), 5u);
  auto verify = shop.Run(remote, {"lake", "verify", "--json"}, s3_env);
  ASSERT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_TRUE(json::parse(verify.out)["problems"].empty());
  auto gc = shop.Run(remote, {"lake", "gc", "--dry-run", "--json"}, s3_env);
  ASSERT_EQ(gc.exit_code, 0) << gc.err;
  EXPECT_TRUE(json::parse(gc.out)["removed"].empty()) << gc.out;
  // A wrong secret is refused by the store, and said so.
  auto bad = shop.Run(remote, {"lake", "verify"}, {s3_env[0], s3_env[1], "AWS_SECRET_ACCESS_KEY=wrong-secret-value"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("SignatureDoesNotMatch"), std::string::npos) << bad.err;
  EXPECT_EQ(bad.err.find("wrong-secret-value"), std::string::npos);
}

// The shop with its lake on S3 and its clickstream posted to `strata collect` (by `strata sim
// post-events`) instead of dropped as files: the pipeline runs day by day as with files, and
// the marts built from the database and the API equal the local run's. The events land once
// each: the raw table holds every distinct event id of the files, none twice (the collector
// drops the simulator's duplicate lines by id; the file path lands them and staging dedups).
TEST(Pipeline, EventsPostedToTheCollectorOnAnS3LakeBuildTheSameMarts) {
  testing::TempDir tmp;
  Shop shop(tmp.path(), 0.1, 1);
  lake::S3TestServer s3;
  const std::string local = tmp.Sub("local"), remote = tmp.Sub("remote");
  shop.MakeProject(local);
  shop.MakeProject(remote);
  const std::string token = "pipeline-collect-token";
  std::vector<std::string> env = S3LakeEnv(s3, "shop", tmp.Sub("s3cache"));
  for (std::string e : {"SHOP_EVENTS_VIA=collector", "SHOP_COLLECT_LISTEN=127.0.0.1:0"}) env.push_back(e);
  env.push_back("STRATA_COLLECT_TOKENS=" + token);
  std::vector<std::string> collect_env = shop.Env(remote);
  collect_env.insert(collect_env.end(), env.begin(), env.end());
  testing::ChildProcess collect({StrataBinary(), "collect", "-p", remote, "--port-file", tmp.Sub("port")}, collect_env,
                                tmp.Sub("collect.log"));
  int port = 0;
  for (int i = 0; i < 200 && port == 0; ++i) {
    port = std::atoi(testing::Slurp(tmp.Sub("port")).c_str());
    if (port == 0) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  ASSERT_NE(port, 0) << testing::Slurp(tmp.Sub("collect.log"));
  for (const char* day : {"2024-01-01", "2024-01-02"}) {
    if (std::string(day) != "2024-01-01") {
      auto sim = RunCommand({StrataBinary(), "sim", "--out", shop.SimDir(), "--day", day});
      ASSERT_EQ(sim.exit_code, 0) << sim.err;
    }
    auto a = shop.Run(local, {"pipeline", "run", "--date", day});
    ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
    auto posted = RunCommand({StrataBinary(), "sim", "post-events", "--out", shop.SimDir(), "--url",
                              "http://127.0.0.1:" + std::to_string(port), "--day", day},
                             {"STRATA_COLLECT_TOKEN=" + token});
    ASSERT_EQ(posted.exit_code, 0) << posted.out << posted.err;
    auto b = shop.Run(remote, {"pipeline", "run", "--date", day}, env);
    ASSERT_EQ(b.exit_code, 0) << b.out << b.err;
  }
  collect.Kill(SIGTERM);
  EXPECT_EQ(collect.Wait(), 0) << testing::Slurp(tmp.Sub("collect.log"));

  const auto want = Fingerprint(local, {"analytics"});
  const auto got = Fingerprint(remote, {"analytics"});
  for (const char* mart : {"fact_orders", "dim_customers", "dim_products"}) {  // one schema: bare names
    ASSERT_EQ(want.count(mart), 1u) << mart;
    EXPECT_EQ(want.at(mart), got.at(mart)) << mart;
  }
  auto count = [](const std::string& project, const std::string& sql) {
    auto db = duck::Database::Open(project + "/warehouse/shop.duckdb");
    auto c = *(*db)->Connect();
    return *c->Query(sql)->Scalar();
  };
  const std::string distinct = "SELECT count(DISTINCT event_id) FROM raw.clickstream_events";
  EXPECT_EQ(count(local, distinct), count(remote, distinct));
  EXPECT_EQ(count(remote, "SELECT count(*) - count(DISTINCT event_id) FROM raw.clickstream_events"), "0");
  EXPECT_EQ(count(local, "SELECT count(*) FROM marts.fct_sessions"),
            count(remote, "SELECT count(*) FROM marts.fct_sessions"));
}

// Kills the pipeline at named points (fault injection) and at random moments, reruns, and
// compares every raw table with an uninterrupted run over the same sources.
// Runs days 1 and 2 of the shop in `project` (with `env` over the shop's), asserting that every
// ingest and the load succeed.
void RunTwoDays(const Shop& shop, const std::string& project, const std::vector<std::string>& env = {}) {
  // The simulator is already at day 2 when day 1 runs, so day 1's marts may fail their
  // tests (items whose orders changed on day 2); what this checks is ingest and load.
  for (const char* day : {"2024-01-01", "2024-01-02"}) {
    auto r = shop.Run(project, {"pipeline", "run", "--date", day, "--json"}, env);
    ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.out << r.err;
    json doc = json::parse(r.out);
    // A rerun after a kill resumes: tasks the killed run finished are not run again, so
    // only the ones that ran report details; every ingest and the load must end successful
    // (the raw checkpoint runs after the build, so it waits on the build too).
    for (const auto& t : doc["tasks"]) {
      if (t["type"] != "build" && t["type"] != "publish" && t["type"] != "quality") {
        ASSERT_EQ(t["state"], "success") << t.dump();
      }
    }
    for (const auto& s : doc["sources"]) ASSERT_TRUE(s["ok"].get<bool>()) << s.dump();
    if (doc.contains("load")) {
      ASSERT_TRUE(doc["load"]["ok"].get<bool>()) << doc["load"].dump();
    }
  }
}

TEST(CrashRecovery, KilledRunsThenRerunEqualUninterrupted) {
  testing::TempDir tmp;
  Shop shop(tmp.path(), 0.3, 2);
  auto run_days = [&](const std::string& project) { RunTwoDays(shop, project); };
  std::string reference = tmp.Sub("reference");
  shop.MakeProject(reference);
  run_days(reference);
  auto want = RawFingerprint(reference);
  ASSERT_EQ(want.size(), 7u);  // six raw tables + the loaded-files record
  // And what was built from them: staging tables, the snapshot, the marts, and what was published.
  const std::vector<std::string> built = {"marts", "snapshots", "analytics"};
  auto want_built = Fingerprint(reference, built);
  ASSERT_GE(want_built.size(), 6u);

  const std::vector<std::string> points = {
      "sql_part_done:2",    "sql_part_done:3",      "before_manifest:1",    "before_manifest:5", "http_page_done:1",
      "events_file_done:2", "load_before_commit:1", "load_before_commit:4", "node_done:3",       "node_done:60"};
  for (const auto& point : points) {
    SCOPED_TRACE(point);
    std::string project = tmp.Sub("crash-" + point.substr(0, point.find(':')) + point.substr(point.find(':') + 1));
    shop.MakeProject(project);
    auto killed = shop.Run(project, {"pipeline", "run", "--date", "2024-01-01"}, {"STRATA_CRASH_AT=" + point});
    EXPECT_EQ(killed.exit_code, 128 + 9) << "expected a SIGKILL at " << point << "\n" << killed.out << killed.err;
    run_days(project);
    EXPECT_EQ(RawFingerprint(project), want);
    EXPECT_EQ(Fingerprint(project, built), want_built);
  }

  // SIGKILL at arbitrary moments, several times in a row, then let it finish.
  std::mt19937 rng(7);
  std::string project = tmp.Sub("random-kills");
  shop.MakeProject(project);
  int kills = 0;
  for (int attempt = 0; attempt < 6; ++attempt) {
    std::vector<std::string> env = shop.Env(project);
    testing::ChildProcess p({StrataBinary(), "pipeline", "run", "--date", "2024-01-01", "--project", project}, env);
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(20, 400)(rng)));
    if (p.Running()) {
      p.Kill(SIGKILL);
      ++kills;
    }
    p.Wait();
  }
  run_days(project);
  EXPECT_EQ(RawFingerprint(project), want) << "after " << kills << " random kills";
  EXPECT_EQ(Fingerprint(project, built), want_built) << "after " << kills << " random kills";
}

// The same on a lake in S3, every object uploaded in parts: kills at named points and at
// random moments (mid-upload among them), reruns, then the raw tables equal an undisturbed
// run's; `lake gc` then aborts the uploads the kills left unfinished and removes orphaned
// parts, and the lake verifies clean.
TEST(CrashRecovery, KilledRunsOnAnS3LakeThenRerunEqualUninterrupted) {
  testing::TempDir tmp;
  Shop shop(tmp.path(), 0.3, 2);
  lake::S3TestServer s3;
  std::string reference = tmp.Sub("reference");
  shop.MakeProject(reference);
  RunTwoDays(shop, reference);
  auto want = RawFingerprint(reference);
  ASSERT_EQ(want.size(), 7u);

  auto env_for = [&](const std::string& prefix) {
    return S3LakeEnv(s3, prefix, tmp.Sub("cache-" + prefix), "&multipart_mb=0");
  };
  // After the rerun: the same raw tables; gc leaves no unfinished upload and no orphan; the
  // lake verifies clean.
  auto check = [&](const std::string& project, const std::vector<std::string>& env) {
    RunTwoDays(shop, project, env);
    EXPECT_EQ(RawFingerprint(project), want);
    auto gc = shop.Run(project, {"lake", "gc", "--json"}, env);
    ASSERT_EQ(gc.exit_code, 0) << gc.err;
    EXPECT_TRUE(json::parse(shop.Run(project, {"lake", "gc", "--dry-run", "--json"}, env).out)["removed"].empty());
    auto verify = shop.Run(project, {"lake", "verify", "--json"}, env);
    ASSERT_EQ(verify.exit_code, 0) << verify.out << verify.err;
    EXPECT_TRUE(json::parse(verify.out)["problems"].empty());
  };
  int n = 0;
  for (const char* point : {"sql_part_done:2", "before_manifest:1", "events_file_done:2", "load_before_commit:1"}) {
    SCOPED_TRACE(point);
    const std::string prefix = "shop" + std::to_string(++n);
    std::string project = tmp.Sub(prefix);
    shop.MakeProject(project);
    auto env = env_for(prefix);
    auto crash_env = env;
    crash_env.push_back(std::string("STRATA_CRASH_AT=") + point);
    auto killed = shop.Run(project, {"pipeline", "run", "--date", "2024-01-01"}, crash_env);
    EXPECT_EQ(killed.exit_code, 128 + 9) << "expected a SIGKILL at " << point << "\n" << killed.out << killed.err;
    check(project, env);
  }
  // SIGKILL at arbitrary moments (mid-upload among them), several times in a row.
  std::string project = tmp.Sub("random");
  shop.MakeProject(project);
  auto env = env_for("random");
  std::vector<std::string> run_env = shop.Env(project);
  run_env.insert(run_env.end(), env.begin(), env.end());
  std::mt19937 rng(11);
  for (int attempt = 0; attempt < 5; ++attempt) {
    testing::ChildProcess p({StrataBinary(), "pipeline", "run", "--date", "2024-01-01", "--project", project}, run_env);
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 600)(rng)));
    if (p.Running()) p.Kill(SIGKILL);
    p.Wait();
  }
  check(project, env);
  EXPECT_NE(s3.Stats().find("\"uploads\":[]"), std::string::npos) << s3.Stats();
}

TEST(Cli, BadProjectFilesAndUnreachableSourcesGiveClearErrors) {
  testing::TempDir tmp;
  testing::WriteText(tmp.Sub("p/strata.yml"), "name: shop\nsources:\n  db:\n    type: sqll\n    path: x.db\n");
  auto r = RunCommand({StrataBinary(), "ingest", "--project", tmp.Sub("p")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("strata.yml:4:11: sources.db.type: unknown source type 'sqll' (did you mean 'sql'?)"),
            std::string::npos)
      << r.err;

  testing::WriteText(tmp.Sub("q/strata.yml"), "name: shop\nsources: [oops\n");
  r = RunCommand({StrataBinary(), "ingest", "--project", tmp.Sub("q")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("strata.yml:3:1: invalid YAML"), std::string::npos) << r.err;

  r = RunCommand({StrataBinary(), "pipeline", "run", "--project", tmp.Sub("missing"), "--json"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no strata.yml"), std::string::npos) << r.err;
  EXPECT_EQ(json::parse(r.out)["ok"], false);

  // An unreachable API fails its source, names it, and the other sources still land.
  Shop shop(tmp.path(), 0.05, 1);
  shop.MakeProject(tmp.Sub("shop"));
  auto env = std::vector<std::string>{"SHOP_API_URL=http://127.0.0.1:1"};
  r = shop.Run(tmp.Sub("shop"), {"pipeline", "run", "--date", "2024-01-01", "--json"}, env);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("source 'catalog'"), std::string::npos) << r.err;
  json doc = json::parse(r.out);
  for (const auto& s : doc["sources"]) EXPECT_EQ(s["ok"].get<bool>(), s["source"] != "catalog") << s.dump();

  r = shop.Run(tmp.Sub("shop"), {"ingest", "--date", "2024-02-30"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--date: invalid date '2024-02-30'"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace strata

namespace strata {
namespace {

// A publish killed just before its commit publishes nothing; the rerun resumes at publish
// (the build it audits is kept) and publishes.
// A write-audit-publish project in `dir`: a sql task writes the day's row, the dbt project
// builds `daily` from it (with a not_null test), and publish promotes it to analytics.
void WriteWapProject(const testing::TempDir& dir) {
  testing::WriteText(dir.Sub("transform/dbt_project.yml"), "name: wap\nprofile: wap\n");
  testing::WriteText(dir.Sub("transform/profiles.yml"),
                     "wap:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: ../wh.duckdb, schema: main}\n");
  testing::WriteText(dir.Sub("transform/models/daily.sql"), "select * from day_rows\n");
  testing::WriteText(
      dir.Sub("transform/models/daily.yml"),
      "version: 2\nmodels:\n  - name: daily\n    columns:\n      - name: d\n        tests: [not_null]\n");
  testing::WriteText(dir.Sub("strata.yml"),
                     "name: t\nwarehouse: {type: duckdb, path: wh.duckdb}\ntransform: transform\npipelines:\n  p:\n"
                     "    tasks:\n"
                     "      write: {type: sql, sql: \"create or replace table day_rows as select '{{ ds }}' as d\"}\n"
                     "      build: {type: build, after: [write]}\n"
                     "      publish: {type: publish, select: daily, schema: analytics}\n");
}

testing::CommandResult RunWap(const testing::TempDir& dir, const std::string& date,
                              const std::vector<std::string>& env = {}) {
  return RunCommand({StrataBinary(), "pipeline", "run", "-p", dir.path(), "--date", date}, env);
}

TEST(CrashRecovery, KilledPublishLeavesThePreviousVersion) {
  testing::TempDir dir;
  WriteWapProject(dir);
  auto run = [&](const std::string& date, const std::vector<std::string>& env = {}) { return RunWap(dir, date, env); };
  auto published = [&]() {
    auto q = RunCommand({StrataBinary(), "query", "-p", dir.path(), "SELECT d FROM analytics.daily"});
    return q.exit_code == 0 ? q.out : "error: " + q.err;
  };
  ASSERT_EQ(run("2024-05-01").exit_code, 0);
  EXPECT_NE(published().find("2024-05-01"), std::string::npos) << published();
  auto killed = run("2024-05-02", {"STRATA_CRASH_AT=publish_before_commit:1"});
  ASSERT_EQ(killed.exit_code, 128 + 9) << killed.out << killed.err;
  EXPECT_NE(published().find("2024-05-01"), std::string::npos) << "a killed publish changed the published data";
  auto rerun = run("2024-05-02");
  ASSERT_EQ(rerun.exit_code, 0) << rerun.out << rerun.err;
  EXPECT_NE(rerun.out.find("resum"), std::string::npos) << rerun.out;
  EXPECT_NE(published().find("2024-05-02"), std::string::npos) << published();
}

// Checkpoints gate the publish like dbt tests: a failing error-severity expectation keeps the
// published data as it was and fails the run; a warn-severity failure publishes and is
// reported; a quality task's results are stored and counted in the pass-rate report.
TEST(QualityGate, AFailingExpectationBlocksThePublish) {
  testing::TempDir dir;
  WriteWapProject(dir);
  // The day's row is the date; expectations on it: its year (error) and its month (warn).
  testing::WriteText(dir.Sub("strata.yml"),
                     "name: t\nwarehouse: {type: duckdb, path: wh.duckdb}\ntransform: transform\npipelines:\n  p:\n"
                     "    tasks:\n"
                     "      write: {type: sql, sql: \"create or replace table day_rows as select '{{ ds }}' as d\"}\n"
                     "      build: {type: build, after: [write]}\n"
                     "      check: {type: quality, checkpoint: daily}\n"
                     "      publish: {type: publish, select: daily, schema: analytics, checkpoints: [daily]}\n");
  testing::WriteText(dir.Sub("quality/expectations/daily.json"), R"({
  "expectation_suite_name": "daily",
  "expectations": [
    {"expectation_type": "expect_column_values_to_match_regex", "kwargs": {"column": "d", "regex": "^2024-"}},
    {"expectation_type": "expect_column_values_to_match_regex", "kwargs": {"column": "d", "regex": "-05-"},
     "meta": {"severity": "warn"}}
  ]
})");
  testing::WriteText(dir.Sub("quality/checkpoints/daily.yml"),
                     "name: daily\nclass_name: Checkpoint\nvalidations:\n"
                     "  - {batch_request: {datasource_name: warehouse, data_asset_name: daily}, "
                     "expectation_suite_name: daily}\n");
  auto published = [&]() {
    auto q = RunCommand({StrataBinary(), "query", "-p", dir.path(), "SELECT d FROM analytics.daily"});
    return q.exit_code == 0 ? q.out : "error: " + q.err;
  };
  auto may = RunWap(dir, "2024-05-01");
  ASSERT_EQ(may.exit_code, 0) << may.out << may.err;
  EXPECT_NE(published().find("2024-05-01"), std::string::npos);
  // June fails only the warn-severity expectation: published, with a warning.
  auto june = RunWap(dir, "2024-06-01");
  ASSERT_EQ(june.exit_code, 0) << june.out << june.err;
  EXPECT_NE(june.out.find("1 warning"), std::string::npos) << june.out;
  EXPECT_NE(published().find("2024-06-01"), std::string::npos);
  // 2025 fails the error-severity one: the quality task fails, publish does not run, and
  // analytics keeps June.
  auto next_year = RunWap(dir, "2025-07-01");
  EXPECT_NE(next_year.exit_code, 0) << next_year.out;
  EXPECT_NE(next_year.out.find("failed tasks: check"), std::string::npos) << next_year.out;
  EXPECT_NE(next_year.out.find("publish upstream_failed"), std::string::npos) << next_year.out;
  EXPECT_NE(published().find("2024-06-01"), std::string::npos) << published();
  // Without the quality task, the publish's own gate blocks: same result.
  testing::WriteText(dir.Sub("strata.yml"),
                     "name: t\nwarehouse: {type: duckdb, path: wh.duckdb}\ntransform: transform\npipelines:\n  p:\n"
                     "    tasks:\n"
                     "      write: {type: sql, sql: \"create or replace table day_rows as select '{{ ds }}' as d\"}\n"
                     "      build: {type: build, after: [write]}\n"
                     "      publish: {type: publish, select: daily, schema: analytics, checkpoints: [daily]}\n");
  auto gated = RunWap(dir, "2026-01-01");
  EXPECT_NE(gated.exit_code, 0) << gated.out;
  EXPECT_NE(gated.out.find("failed tasks: publish"), std::string::npos) << gated.out;
  auto log = RunCommand({StrataBinary(), "logs", "-p", dir.path(), "p__2026-01-01", "publish"});
  EXPECT_NE(log.out.find("fail daily: expect_column_values_to_match_regex d on daily"), std::string::npos) << log.out;
  EXPECT_NE(published().find("2024-06-01"), std::string::npos) << published();
  // Stored as GE stores validation results.
  EXPECT_TRUE(std::filesystem::exists(dir.Sub(".strata/quality/validations/daily/p__2025-07-01")))
      << "results are stored under the suite and the run";
  // The pass rate counts every check of every run: 1 dbt test + 2 expectations twice (check
  // and the publish gate) per published run, and the failing run's quality task alone.
  auto report = RunCommand({StrataBinary(), "quality", "report", "-p", dir.path(), "--json"});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  auto doc = nlohmann::json::parse(report.out);
  EXPECT_EQ(doc["runs"].size(), 4u) << report.out;
  EXPECT_EQ(doc["overall"]["failed"], 2) << report.out;  // 2025: the check; 2026: the gate
  EXPECT_EQ(doc["overall"]["warned"], 4) << report.out;  // June: the check and the gate; 2025, 2026: one each
}

// A kill between writing the serving copy and moving CURRENT leaves dashboards on the previous
// publication; the rerun publishes again and moves them to the new one.
TEST(CrashRecovery, KilledServingCopyKeepsDashboardsOnThePreviousPublication) {
  testing::TempDir dir;
  WriteWapProject(dir);
  auto run = [&](const std::string& date, const std::vector<std::string>& env = {}) { return RunWap(dir, date, env); };
  // What the serving copy CURRENT names holds.
  auto served = [&]() -> std::string {
    auto current = ReadFile(dir.Sub(".strata/published/CURRENT"));
    if (!current.ok()) return "no CURRENT";
    std::string name = *current;
    while (!name.empty() && name.back() == '\n') name.pop_back();
    auto db = duck::Database::Open(dir.Sub(".strata/published/" + name), {{"access_mode", "READ_ONLY"}});
    if (!db.ok()) return db.status().ToString();
    auto r = (*(*db)->Connect())->Query("SELECT d FROM analytics.daily");
    return r.ok() ? r->Scalar().value_or("NULL") : r.status().ToString();
  };
  auto day1 = run("2024-05-01");
  ASSERT_EQ(day1.exit_code, 0) << day1.out << day1.err;
  EXPECT_EQ(served(), "2024-05-01");
  auto killed = run("2024-05-02", {"STRATA_CRASH_AT=serving_copy_before_current:1"});
  ASSERT_EQ(killed.exit_code, 128 + 9) << killed.out << killed.err;
  EXPECT_EQ(served(), "2024-05-01") << "dashboards moved to a copy CURRENT does not name yet";
  auto rerun = run("2024-05-02");
  ASSERT_EQ(rerun.exit_code, 0) << rerun.out << rerun.err;
  EXPECT_EQ(served(), "2024-05-02");
}

// The issue's concurrency case: dashboards are read over HTTP while a pipeline run loads,
// builds and publishes the next day in another process. Every answer succeeds (no lock
// errors), shows one whole publication (the day before's or the new one's total, never a mix),
// never goes back, and shows the new day once its publish has committed.
TEST(Dashboards, ReadWhileAPipelinePublishes) {
  testing::TempDir dir;
  Shop shop(dir.Sub("src"), 1, 1);
  const std::string project = dir.Sub("p");
  shop.MakeProject(project);
  std::filesystem::copy(testing::SourceDir() + "/examples/shop/dashboards", project + "/dashboards");
  auto day1 = shop.Run(project, {"pipeline", "run", "--date", "2024-01-01"});
  ASSERT_EQ(day1.exit_code, 0) << day1.out << day1.err;
  // The revenue of everything published, computed from the warehouse itself.
  auto total = [&]() {
    auto db = duck::Database::Open(project + "/warehouse/shop.duckdb", {{"access_mode", "READ_ONLY"}});
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    auto r = (*(*db)->Connect())
                 ->Query("SELECT coalesce(sum(line_revenue), 0) FROM analytics.fact_orders WHERE NOT is_cancelled");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return std::stod(r->Scalar().value_or("0"));
  };
  const double first = total();
  ASSERT_GT(first, 0);
  // The shop's dashboards are valid on what was published.
  auto validate = shop.Run(project, {"dashboards", "validate"});
  EXPECT_EQ(validate.exit_code, 0) << validate.out << validate.err;
  // In the dbt project, the shop's dashboards are exposures: +exposure:overview lists what the
  // overview reads.
  auto ls = RunCommand({StrataBinary(), "ls", "--project-dir", testing::SourceDir() + "/examples/shop/transform", "-s",
                        "+exposure:overview,resource_type:model"},
                       shop.Env(project));
  ASSERT_EQ(ls.exit_code, 0) << ls.out << ls.err;
  for (const char* model : {"shop.marts.core.fact_orders", "shop.marts.core.dim_customers",
                            "shop.marts.funnel.mart_funnel_daily", "shop.staging.stg_shopdb__orders"}) {
    EXPECT_NE(ls.out.find(std::string(model) + "\n"), std::string::npos) << model << " in:\n" << ls.out;
  }
  EXPECT_EQ(ls.out.find("shop.marts.core.dim_date\n"), std::string::npos) << "the overview does not read dim_date:\n"
                                                                          << ls.out;

  std::vector<std::string> env = shop.Env(project);
  testing::ChildProcess server({StrataBinary(), "serve", "-p", project, "--port", "0", "--port-file", dir.Sub("port")},
                               env, dir.Sub("serve.log"));
  std::string port;
  for (int i = 0; i < 100 && port.empty(); ++i) {
    auto text = ReadFile(dir.Sub("port"));
    if (text.ok() && !text->empty()) port = text->substr(0, text->find('\n'));
    if (port.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_FALSE(port.empty()) << *ReadFile(dir.Sub("serve.log"));
  const std::string card =
      "http://127.0.0.1:" + port + "/api/dashboards/overview/cards/revenue?period=all_time&category=&segment=";
  HttpRetryPolicy once;
  once.max_attempts = 1;
  HttpClient http(once, 30000);
  struct Seen {
    double revenue;
    int version;
  };
  auto read = [&]() -> Result<Seen> {
    STRATA_ASSIGN_OR_RETURN(HttpResponse r, http.Get(card));
    json j = json::parse(r.body);
    return Seen{j["rows"][0][0].get<double>(), std::stoi(j["version"].get<std::string>())};
  };
  auto before = read();
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  EXPECT_NEAR(before->revenue, first, 0.005);

  auto sim = RunCommand({StrataBinary(), "sim", "--out", shop.SimDir(), "--day", "2024-01-02"});
  ASSERT_EQ(sim.exit_code, 0) << sim.err;
  std::vector<std::string> run_argv = {StrataBinary(), "pipeline", "run", "--date", "2024-01-02", "--project", project};
  testing::ChildProcess pipeline(run_argv, env, dir.Sub("run.log"));
  std::vector<Seen> seen;
  std::vector<std::string> errors;
  while (pipeline.Running()) {
    auto s = read();
    if (s.ok()) {
      seen.push_back(*s);
    } else {
      errors.push_back(s.status().ToString());
    }
    auto health = http.Get("http://127.0.0.1:" + port + "/api/dashboards/health/cards/latest_runs?period=all_time");
    if (!health.ok()) errors.push_back("health: " + health.status().ToString());
  }
  ASSERT_EQ(pipeline.Wait(), 0) << *ReadFile(dir.Sub("run.log"));
  const double second = total();
  ASSERT_GT(second, first);
  auto after = read();
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_NEAR(after->revenue, second, 0.005) << "the dashboard shows the new day once it is published";

  EXPECT_TRUE(errors.empty()) << errors.size() << " failed reads, first: " << errors.front();
  EXPECT_GT(seen.size(), 5u) << "the dashboard was read while the pipeline ran";
  int last_version = before->version;
  for (const auto& s : seen) {
    EXPECT_TRUE(std::abs(s.revenue - first) < 0.005 || std::abs(s.revenue - second) < 0.005)
        << "a half-published total: " << s.revenue << " (day 1: " << first << ", day 2: " << second << ")";
    EXPECT_GE(s.version, last_version) << "went back to an older publication";
    last_version = s.version;
  }
}

// `strata users`: passwords from the environment or stdin, stored only as argon2id hashes in
// a private file; bad roles and short passwords are usage errors that change nothing.
TEST(Cli, UsersAreKeptHashedInAPrivateFile) {
  testing::TempDir dir;
  testing::WriteText(dir.Sub("strata.yml"), "name: t\n");
  auto add = RunCommand({StrataBinary(), "users", "add", "ana", "--role", "editor", "-p", dir.path()},
                        {"STRATA_USER_PASSWORD=correct horse battery"});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  auto weak = RunCommand({StrataBinary(), "users", "add", "bo", "-p", dir.path()}, {"STRATA_USER_PASSWORD=short"});
  EXPECT_EQ(weak.exit_code, 2);
  EXPECT_NE(weak.err.find("at least 12 characters"), std::string::npos) << weak.err;
  auto root = RunCommand({StrataBinary(), "users", "add", "cy", "--role", "root", "-p", dir.path()},
                         {"STRATA_USER_PASSWORD=correct horse battery"});
  EXPECT_EQ(root.exit_code, 2);
  auto list = RunCommand({StrataBinary(), "users", "list", "-p", dir.path()});
  EXPECT_EQ(list.out, "ana\teditor\n");
  const std::string file = dir.Sub(".strata/users.json");
  EXPECT_EQ(std::filesystem::status(file).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  const std::string text = *ReadFile(file);
  EXPECT_EQ(text.find("horse"), std::string::npos);
  EXPECT_NE(text.find("$argon2id$"), std::string::npos);
  EXPECT_EQ(RunCommand({StrataBinary(), "users", "remove", "ana", "-p", dir.path()}).exit_code, 0);
  EXPECT_EQ(RunCommand({StrataBinary(), "users", "remove", "ana", "-p", dir.path()}).exit_code, 2);
}

TEST(Cli, TriggerQueuesARunThatTheSchedulerStarts) {
  testing::TempDir dir;
  testing::WriteText(
      dir.Sub("strata.yml"),
      "name: t\npipelines:\n  p:\n    tasks:\n      hello: {type: shell, command: 'echo hi from {{ ds }}'}\n");
  auto trigger =
      RunCommand({StrataBinary(), "pipeline", "trigger", "-p", dir.path(), "--date", "2024-02-03", "--json"});
  ASSERT_EQ(trigger.exit_code, 0) << trigger.out << trigger.err;
  json tj = json::parse(trigger.out);
  EXPECT_EQ(tj["run"]["state"], "queued");
  EXPECT_EQ(tj["run"]["run_id"], "p__2024-02-03");
  auto again = RunCommand({StrataBinary(), "pipeline", "trigger", "-p", dir.path(), "--date", "2024-02-03"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("already queued"), std::string::npos) << again.err;

  auto sched = RunCommand({StrataBinary(), "scheduler", "--once", "-p", dir.path()});
  ASSERT_EQ(sched.exit_code, 0) << sched.out << sched.err;
  EXPECT_NE(sched.out.find("p for 2024-02-03 was triggered"), std::string::npos) << sched.out;
  auto runs = RunCommand({StrataBinary(), "runs", "-p", dir.path(), "--json"});
  ASSERT_EQ(runs.exit_code, 0) << runs.err;
  json rj = json::parse(runs.out);
  ASSERT_EQ(rj["runs"].size(), 1u) << runs.out;
  EXPECT_EQ(rj["runs"][0]["state"], "success");
  EXPECT_EQ(rj["runs"][0]["trigger"], "manual");
  auto log = RunCommand({StrataBinary(), "logs", "-p", dir.path(), "p__2024-02-03", "hello"});
  EXPECT_NE(log.out.find("hi from 2024-02-03"), std::string::npos) << log.out << log.err;
}

}  // namespace
}  // namespace strata
