// The break-it campaign's cases against the `strata` binary (issue 12): secrets, names that
// become paths, exit codes, flags, killed runs. Each test failed before its fix.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <string>
#include <vector>

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
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec); !ec && it != std::filesystem::recursive_directory_iterator();
       it.increment(ec)) {
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
                     "      - command: cat >> " + tmp.Sub("alert.json") + "\n"
                     "    tasks:\n"
                     "      ingest: {type: ingest, source: api}\n");
  std::vector<std::string> env = {"API_PW=" + password, "API_TOKEN=" + token};
  auto run = RunCommand({StrataBinary(), "pipeline", "run", "-p", tmp.Sub("p"), "--date", "2024-01-01"}, env);
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  auto json = RunCommand({StrataBinary(), "pipeline", "run", "-p", tmp.Sub("p"), "--date", "2024-01-02", "--json"}, env);
  auto show = RunCommand({StrataBinary(), "runs", "show", "daily__2024-01-01", "-p", tmp.Sub("p")}, env);
  auto logs = RunCommand({StrataBinary(), "logs", "daily__2024-01-01", "ingest", "-p", tmp.Sub("p")}, env);
  auto ingest = RunCommand({StrataBinary(), "ingest", "-p", tmp.Sub("p"), "--json"}, env);
  const std::string alert = testing::Slurp(tmp.Sub("alert.json"));
  EXPECT_NE(alert.find("127.0.0.1:1"), std::string::npos) << "the alert names the failure: " << alert;
  EXPECT_NE(show.out.find("127.0.0.1:1"), std::string::npos) << show.out << show.err;
  const std::vector<std::pair<std::string, std::string>> places = {
      {"pipeline run stdout", run.out},  {"pipeline run stderr", run.err}, {"--json", json.out + json.err},
      {"runs show", show.out + show.err}, {"logs", logs.out + logs.err},   {"ingest", ingest.out + ingest.err},
      {"alert payload", alert},          {"runs.db", DumpSqlite(tmp.Sub("p/.strata/runs.db"))},
      {"state files and logs", DumpTree(tmp.Sub("p/.strata"))}};
  for (const auto& [where, text] : places) {
    EXPECT_EQ(text.find(password), std::string::npos) << where << ":\n" << text;
    EXPECT_EQ(text.find(token), std::string::npos) << where << ":\n" << text;
    EXPECT_EQ(text.find("cmVhZGVy"), std::string::npos) << where << ":\n" << text;  // base64 "reader:..."
  }
}

}  // namespace
}  // namespace strata
