// The golden corpus: small dbt projects in testdata/corpus/*.test, each case run on DuckDB and
// on PostgreSQL through LoadedProject::Load and Runner, as `strata build` would. The format is
// in testdata/corpus/README.md:
//
//   === case: a title
//   --- file: models/a.sql          (the project's files; dbt_project.yml defaults to c/c)
//   select 1 as x
//   --- run: build -s a             (then what the run must give:)
//   --- status: a success
//   --- query: select x from {S}.a  ({S}: the target schema, in files, SQL and rows)
//   1
//
// Every case is a test of its own per engine; a failure names the file, line and title. A case
// marked `--- xfail: reason` is reported as skipped while it fails, and fails once it passes.
// PostgreSQL cases build in schemas of their own, dropped afterwards.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "pg_testing.h"
#include "testing.h"
#include "transform/dbt_test_project.h"
#include "transform/loader.h"
#include "transform/runner.h"
#include "transform/target.h"
#include "warehouse/session.h"
#include "warehouse/target.h"

namespace strata::transform {
namespace {

namespace fs = std::filesystem;
using strata::testing::TempDir;
using strata::testing::WriteText;

// ---- the format ---------------------------------------------------------------------------------

struct Step {
  std::string kind;  // file, delete, package, run, status, message, query, error, warning, output, exec, ran
  std::string arg;   // the rest of the directive's line
  std::vector<std::string> body;
  int line = 0;
  bool capture = false;  // run: an `output` check follows, so stdout and stderr are captured
  std::string engine;    // "": every engine
};

struct CorpusCase {
  std::string file;  // "packages.test"
  int line = 0;
  std::string title;
  std::set<std::string> engines = {"duckdb", "postgres"};
  std::map<std::string, std::string> xfail;  // engine -> why the case fails there
  std::vector<Step> steps;
  int index = 0;   // in the corpus, for a PostgreSQL schema of its own
  std::string id;  // gtest-safe: file stem and title
};

// Directives whose lines that follow are their body; the others are one line.
const std::set<std::string> kWithBody = {"file", "query", "error", "exec", "output", "warning"};
const std::set<std::string> kKinds = {"file",  "delete",  "package", "run",  "status", "message", "query",
                                      "error", "warning", "output",  "exec", "ran",    "engines", "xfail"};

std::string CorpusDir() { return ::strata::testing::SourceDir() + "/src/transform/testdata/corpus"; }

std::string Trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r");
  if (a == std::string::npos) return "";
  size_t b = s.find_last_not_of(" \t\r");
  return s.substr(a, b - a + 1);
}

std::vector<std::string> Words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::string Slug(const std::string& s, size_t max) {
  std::string out;
  for (char ch : s) {
    bool ok = std::isalnum(static_cast<unsigned char>(ch));
    if (ok) {
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
    } else if (!out.empty() && out.back() != '_') {
      out.push_back('_');
    }
    if (out.size() >= max) break;
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

struct CaseSet {
  std::vector<CorpusCase> cases;
  std::vector<std::string> problems;  // format errors, reported by CorpusFiles.ParseWithoutProblems
};

CaseSet ParseCorpus() {
  CaseSet corpus;
  std::vector<std::string> paths;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(CorpusDir(), ec)) {
    if (entry.path().extension() == ".test") paths.push_back(entry.path().string());
  }
  std::sort(paths.begin(), paths.end());
  std::set<std::string> ids;
  for (const std::string& path : paths) {
    std::ifstream in(path);
    const std::string file = fs::path(path).filename().string();
    const std::string stem = fs::path(path).stem().string();
    CorpusCase* c = nullptr;
    Step* step = nullptr;
    int lineno = 0;
    auto problem = [&](const std::string& what) {
      corpus.problems.push_back(file + ":" + std::to_string(lineno) + ": " + what);
    };
    auto close_step = [&]() {
      if (step != nullptr) {
        while (!step->body.empty() && Trim(step->body.back()).empty()) step->body.pop_back();
      }
      step = nullptr;
    };
    for (std::string line; std::getline(in, line);) {
      ++lineno;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.rfind("=== ", 0) == 0) {
        close_step();
        std::string title = Trim(line.substr(4));
        if (title.rfind("case:", 0) != 0) {
          problem("a case starts with '=== case: <title>'");
          c = nullptr;
          continue;
        }
        corpus.cases.emplace_back();
        c = &corpus.cases.back();
        c->file = file;
        c->line = lineno;
        c->title = Trim(title.substr(5));
        c->index = static_cast<int>(corpus.cases.size());
        std::string id = stem + "_" + Slug(c->title, 70);
        for (int k = 2; ids.count(id); ++k) id = stem + "_" + Slug(c->title, 70) + "_" + std::to_string(k);
        ids.insert(id);
        c->id = id;
        continue;
      }
      if (line.rfind("--- ", 0) == 0 && c != nullptr) {
        close_step();
        std::string rest = line.substr(4);
        size_t colon = rest.find(':');
        std::string kind = Trim(rest.substr(0, colon));
        std::string arg = colon == std::string::npos ? "" : Trim(rest.substr(colon + 1));
        // `query(postgres):` — a step for one engine only.
        std::string only;
        if (size_t open = kind.find('('); open != std::string::npos && kind.back() == ')') {
          only = kind.substr(open + 1, kind.size() - open - 2);
          kind = kind.substr(0, open);
          if (only != "duckdb" && only != "postgres") problem("unknown engine '" + only + "'");
        }
        if (colon == std::string::npos || !kKinds.count(kind)) {
          problem("unknown directive '" + line + "'");
          continue;
        }
        if (kind == "engines") {
          c->engines.clear();
          for (const auto& e : Words(arg)) {
            if (e != "duckdb" && e != "postgres") problem("unknown engine '" + e + "'");
            c->engines.insert(e);
          }
          continue;
        }
        if (kind == "xfail") {
          if (arg.empty()) problem("xfail needs a reason");
          for (const char* e : {"duckdb", "postgres"}) {
            if (only.empty() || only == e) c->xfail[e] = arg;
          }
          continue;
        }
        c->steps.push_back(Step{kind, arg, {}, lineno, false, only});
        if (kWithBody.count(kind)) step = &c->steps.back();
        if (kind == "output") {
          // The run it checks captures its output.
          for (auto it = c->steps.rbegin(); it != c->steps.rend(); ++it) {
            if (it->kind == "run") {
              it->capture = true;
              break;
            }
          }
        }
        continue;
      }
      if (step != nullptr) {
        // Comments are text inside files; elsewhere a line starting with '#' is a comment.
        if (step->kind != "file" && line.rfind("#", 0) == 0) continue;
        // SQL has no '#' comments: such a line is a comment meant for the case, misplaced.
        if (step->kind == "file" && line.rfind("#", 0) == 0 && step->arg.size() > 4 &&
            step->arg.compare(step->arg.size() - 4, 4, ".sql") == 0) {
          problem("a '#' line inside the SQL file " + step->arg + ": put case comments outside files");
        }
        step->body.push_back(line);
        continue;
      }
      if (Trim(line).empty() || line.rfind("#", 0) == 0) continue;
      problem("text outside a case's file, query, exec or error: '" + line + "'");
    }
    close_step();
  }
  return corpus;
}

const CaseSet& TheCorpus() {
  static const CaseSet* corpus = new CaseSet(ParseCorpus());
  return *corpus;
}

struct Param {
  int case_index;  // into TheCorpus().cases
  std::string engine;
};

std::vector<Param> Params() {
  std::vector<Param> out;
  const auto& cases = TheCorpus().cases;
  for (size_t i = 0; i < cases.size(); ++i) {
    for (const char* e : {"duckdb", "postgres"}) {
      if (cases[i].engines.count(e)) out.push_back(Param{static_cast<int>(i), e});
    }
  }
  return out;
}

void PrintTo(const Param& p, std::ostream* os) {
  const CorpusCase& c = TheCorpus().cases[p.case_index];
  *os << c.file << ":" << c.line << " [" << c.title << "] on " << p.engine;
}

// ---- running a case ------------------------------------------------------------------------------

std::string Join(const std::vector<std::string>& lines, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) out += (i ? sep : "") + lines[i];
  return out;
}

class Corpus : public ::testing::TestWithParam<Param> {
 protected:
  const CorpusCase& Case() const { return TheCorpus().cases[GetParam().case_index]; }
  bool Pg() const { return GetParam().engine == "postgres"; }

  void SetUp() override {
    if (Pg()) {
      pg_ = testing::Postgres();
      ASSERT_NE(pg_, nullptr);
      // PgTestSchema hashes the test's name without its parameter, the same for every case:
      // the case's number makes it the case's own.
      char suffix[16];
      std::snprintf(suffix, sizeof(suffix), "c%04d", Case().index);
      schema_ = testing::PgTestSchema("k") + suffix;
    }
    WriteText(dir_.Sub("dbt_project.yml"), "name: c\nprofile: c\n");
  }

  void TearDown() override {
    db_.reset();
    project_.reset();
    if (!Pg() || pg_ == nullptr) return;
    // Every schema the case made (the target's and <target>_suffix ones).
    warehouse::Target t;
    t.kind = warehouse::Target::Kind::kPostgres;
    t.postgres = testing::PgOptions(*pg_);
    auto engine = warehouse::OpenEngine(t);
    if (!engine.ok()) return;
    auto c = (*engine)->Connect();
    if (!c.ok()) return;
    auto schemas = (*c)->Query("SELECT nspname FROM pg_namespace WHERE nspname LIKE '" + schema_ + "%'");
    if (!schemas.ok()) return;
    for (const auto& row : schemas->rows) (void)(*c)->Execute("DROP SCHEMA IF EXISTS \"" + *row[0] + "\" CASCADE");
  }

  std::string Subst(std::string s) const {
    for (size_t pos; (pos = s.find("{S}")) != std::string::npos;) s.replace(pos, 3, schema_);
    return s;
  }

  // profiles.yml for the profile dbt_project.yml names, else its project name (read again
  // before every run).
  void WriteProfile() {
    std::string profile, name = "c";
    std::ifstream in(dir_.Sub("dbt_project.yml"));
    auto value = [](const std::string& line, size_t key) {
      std::string v = Trim(line.substr(key));
      if (v.size() >= 2 && (v[0] == '\'' || v[0] == '"')) v = v.substr(1, v.size() - 2);
      return v;
    };
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("profile:", 0) == 0) profile = value(line, 8);
      if (line.rfind("name:", 0) == 0) name = value(line, 5);
    }
    if (profile.empty()) profile = name;
    std::string target =
        Pg() ? testing::PgProfileTarget(*pg_, schema_, 2) : "{type: duckdb, path: wh.duckdb, threads: 2}";
    WriteText(dir_.Sub("profiles.yml"), profile + ":\n  target: dev\n  outputs:\n    dev: " + target + "\n");
  }

  // The warehouse, for queries and statements outside a run.
  Status OpenDb() {
    if (db_) return Status::OK();
    WriteProfile();
    LoadOptions lo;
    lo.project_dir = dir_.path();
    STRATA_ASSIGN_OR_RETURN(Profile profile, LoadTargetProfile(lo));
    STRATA_ASSIGN_OR_RETURN(db_, warehouse::OpenEngine(TargetOf(profile)));
    return Status::OK();
  }

  Result<std::vector<std::string>> Rows(const std::string& sql) {
    STRATA_RETURN_IF_ERROR(OpenDb());
    STRATA_ASSIGN_OR_RETURN(auto c, db_->Connect());
    STRATA_ASSIGN_OR_RETURN(auto r, c->Query(Subst(sql)));
    return testing::RowLines(r);
  }

  // One `--- run:` step: "build -s a b --exclude c --full-refresh --at 2024-01-01T10:00:00".
  struct RunOutcome {
    bool ok = false;
    std::string error;  // the load's or the run's
    RunResults results;
    std::vector<std::string> warnings;
    std::string output;  // stdout and stderr, when captured
    int line = 0;
    std::set<std::string> checked;  // node names a status step named
    bool error_checked = false;
  };

  Status ParseRun(const std::string& arg, RunOptions* ro, LoadOptions* lo) {
    static const std::map<std::string, Verb> kVerbs = {{"run", Verb::kRun},           {"build", Verb::kBuild},
                                                       {"test", Verb::kTest},         {"seed", Verb::kSeed},
                                                       {"snapshot", Verb::kSnapshot}, {"compile", Verb::kCompile}};
    std::vector<std::string> w = Words(arg);
    if (w.empty() || !kVerbs.count(w[0])) return Status::InvalidArgument("run: unknown verb in '" + arg + "'");
    ro->verb = kVerbs.at(w[0]);
    lo->which = w[0];
    std::vector<std::string>* list = nullptr;
    for (size_t i = 1; i < w.size(); ++i) {
      if (w[i] == "-s" || w[i] == "--select") {
        list = &ro->selection.select;
      } else if (w[i] == "--exclude") {
        list = &ro->selection.exclude;
      } else if (w[i] == "--full-refresh") {
        ro->full_refresh = lo->full_refresh = true;
        list = nullptr;
      } else if (w[i] == "--at" && i + 1 < w.size()) {
        lo->run_started_at = w[++i];
        std::replace(lo->run_started_at.begin(), lo->run_started_at.end(), 'T', ' ');
        list = nullptr;
      } else if (list != nullptr) {
        list->push_back(w[i]);
      } else {
        return Status::InvalidArgument("run: unexpected '" + w[i] + "' in '" + arg + "'");
      }
    }
    return Status::OK();
  }

  RunOutcome DoRun(const Step& step) {
    RunOutcome out;
    out.line = step.line;
    RunOptions ro;
    LoadOptions lo;
    lo.project_dir = dir_.path();
    if (Status s = ParseRun(step.arg, &ro, &lo); !s.ok()) {
      out.error = s.message();
      return out;
    }
    WriteProfile();
    db_.reset();  // DuckDB: one open database per file
    project_.reset();
    if (step.capture) {
      ::testing::internal::CaptureStdout();
      ::testing::internal::CaptureStderr();
    }
    auto p = LoadedProject::Load(lo);
    if (!p.ok()) {
      out.error = p.status().ToString();
    } else {
      project_ = std::move(*p);
      out.warnings = project_->warnings;
      auto db = warehouse::OpenEngine(TargetOf(project_->profile));
      if (!db.ok()) {
        out.error = db.status().ToString();
      } else {
        db_ = std::move(*db);
        Runner runner(project_.get(), db_.get());
        auto r = runner.Execute(ro);
        if (r.ok()) {
          out.ok = true;
          out.results = std::move(*r);
        } else {
          out.error = r.status().ToString();
        }
      }
    }
    if (step.capture) {
      std::fflush(stdout);
      out.output = ::testing::internal::GetCapturedStdout();
      out.output += ::testing::internal::GetCapturedStderr();
    }
    return out;
  }

  // Runs the case; every mismatch is a message naming the step's line.
  std::vector<std::string> RunCase() {
    const CorpusCase& c = Case();
    std::vector<std::string> failures;
    auto fail = [&](int line, const std::string& what) {
      failures.push_back(c.file + ":" + std::to_string(line) + ": " + what);
    };
    std::optional<RunOutcome> run;
    const NodeResult* last = nullptr;  // of the last status step, for message
    // After a run: an unexpected error, or a node that did not succeed and no step named.
    auto finish_run = [&]() {
      if (!run) return;
      if (!run->ok && !run->error_checked) fail(run->line, "the run failed: " + run->error);
      for (const auto& r : run->results.results) {
        if (r.status == "success" || r.status == "pass" || run->checked.count(r.name)) continue;
        fail(run->line, "'" + r.name + "' ended " + r.status + " and no status step expects it" +
                            (r.message.empty() ? "" : ": " + r.message));
      }
      run.reset();
      last = nullptr;
    };
    for (const Step& s : c.steps) {
      if (!s.engine.empty() && s.engine != GetParam().engine) continue;
      if (s.kind == "file") {
        WriteText(dir_.Sub(s.arg), Subst(Join(s.body, "\n")) + (s.body.empty() ? "" : "\n"));
      } else if (s.kind == "delete") {
        std::error_code ec;
        fs::remove_all(dir_.Sub(s.arg), ec);
      } else if (s.kind == "package") {
        std::string shared = SharedPackagesDir();
        if (shared.empty() || !fs::exists(shared + "/" + s.arg)) {
          fail(s.line, "no shared package '" + s.arg + "' (set STRATA_DBT_PACKAGES_DIR)");
          return failures;
        }
        std::string name = s.arg.substr(0, s.arg.rfind('-'));
        fs::create_directories(dir_.Sub("dbt_packages"));
        fs::create_directory_symlink(shared + "/" + s.arg, dir_.Sub("dbt_packages/" + name));
      } else if (s.kind == "exec") {
        std::string sql = Subst(s.arg.empty() ? Join(s.body, "\n") : s.arg);
        Status st = OpenDb();
        if (st.ok()) {
          auto conn = db_->Connect();
          st = conn.ok() ? (*conn)->Execute(sql) : conn.status();
        }
        if (!st.ok()) fail(s.line, "exec failed: " + st.ToString());
      } else if (s.kind == "run") {
        finish_run();
        run = DoRun(s);
      } else if (s.kind == "query") {
        auto rows = Rows(s.arg);
        if (!rows.ok()) {
          fail(s.line, "query failed: " + rows.status().ToString());
          continue;
        }
        std::vector<std::string> want;
        for (const auto& l : s.body) want.push_back(Subst(Trim(l)));
        if (*rows != want) {
          fail(s.line, "query " + Subst(s.arg) + "\n  expected:\n    " + Join(want, "\n    ") + "\n  actual:\n    " +
                           Join(*rows, "\n    "));
        }
      } else if (!run) {
        fail(s.line, "'" + s.kind + "' before any run");
      } else if (s.kind == "error") {
        run->error_checked = true;
        std::vector<std::string> want = s.body;
        if (!s.arg.empty()) want.insert(want.begin(), s.arg);
        if (run->ok) {
          fail(s.line, "the run succeeded; expected it to fail with: " + Join(want, " / "));
          continue;
        }
        for (const auto& w : want) {
          if (Trim(w).empty()) continue;
          if (run->error.find(Trim(w)) == std::string::npos) {
            fail(s.line, "the error lacks '" + Trim(w) + "':\n" + run->error);
          }
        }
      } else if (s.kind == "status") {
        std::vector<std::string> w = Words(s.arg);
        if (w.size() < 2 || w.size() > 3) {
          fail(s.line, "status: <node> <status> [failures]");
          continue;
        }
        run->checked.insert(w[0]);
        last = nullptr;
        for (const auto& r : run->results.results) {
          if (r.name == w[0] || r.unique_id == w[0]) last = &r;
        }
        if (last == nullptr) {
          std::string ran;
          for (const auto& r : run->results.results) ran += " " + r.name;
          fail(s.line,
               "'" + w[0] + "' did not run (ran:" + ran + ")" + (run->ok ? "" : "; the run failed: " + run->error));
          continue;
        }
        if (last->status != w[1]) {
          fail(s.line, "'" + w[0] + "' ended " + last->status + ", expected " + w[1] +
                           (last->message.empty() ? "" : ": " + last->message));
        }
        if (w.size() == 3 && std::to_string(last->failures) != w[2]) {
          fail(s.line, "'" + w[0] + "' has " + std::to_string(last->failures) + " failure(s), expected " + w[2]);
        }
      } else if (s.kind == "message") {
        if (last == nullptr) {
          fail(s.line, "message: no node from a status step before it");
        } else if (last->message.find(s.arg) == std::string::npos) {
          fail(s.line, "the message of '" + last->name + "' lacks '" + s.arg + "':\n" + last->message);
        }
      } else if (s.kind == "ran") {
        std::vector<std::string> want = Words(s.arg), got;
        for (const auto& r : run->results.results) got.push_back(r.name);
        std::sort(want.begin(), want.end());
        std::sort(got.begin(), got.end());
        if (want != got) fail(s.line, "ran: expected [" + Join(want, " ") + "], got [" + Join(got, " ") + "]");
      } else if (s.kind == "warning") {
        std::vector<std::string> want = s.body;
        if (!s.arg.empty()) want.insert(want.begin(), s.arg);
        for (const auto& w : want) {
          bool found = std::any_of(run->warnings.begin(), run->warnings.end(),
                                   [&](const std::string& x) { return x.find(Trim(w)) != std::string::npos; });
          if (!found) fail(s.line, "no warning has '" + Trim(w) + "'; warnings:\n  " + Join(run->warnings, "\n  "));
        }
      } else if (s.kind == "output") {
        std::vector<std::string> want = s.body;
        if (!s.arg.empty()) want.insert(want.begin(), s.arg);
        for (const auto& w : want) {
          if (run->output.find(Trim(w)) == std::string::npos) {
            fail(s.line, "the run's output lacks '" + Trim(w) + "':\n" + run->output);
          }
        }
      }
    }
    finish_run();
    return failures;
  }

  const testing::PgServer* pg_ = nullptr;
  TempDir dir_;
  std::string schema_ = "main";
  std::unique_ptr<LoadedProject> project_;
  std::unique_ptr<warehouse::Engine> db_;
};

TEST_P(Corpus, Case) {
  const CorpusCase& c = Case();
  const std::string where = c.file + ":" + std::to_string(c.line) + " [" + c.title + "] on " + GetParam().engine;
  std::vector<std::string> failures = RunCase();
  if (auto x = c.xfail.find(GetParam().engine); x != c.xfail.end()) {
    if (failures.empty()) {
      ADD_FAILURE() << where << ": marked xfail (" << x->second << ") but passes: remove the xfail";
      return;
    }
    GTEST_SKIP() << where << ": xfail: " << x->second << "\n  " << Join(failures, "\n  ");
  }
  for (const auto& f : failures) ADD_FAILURE() << where << "\n  " << f;
}

INSTANTIATE_TEST_SUITE_P(Cases, Corpus, ::testing::ValuesIn(Params()), [](const ::testing::TestParamInfo<Param>& i) {
  return TheCorpus().cases[i.param.case_index].id + "_" + i.param.engine;
});

TEST(CorpusFiles, ParseWithoutProblems) {
  const CaseSet& corpus = TheCorpus();
  for (const auto& p : corpus.problems) ADD_FAILURE() << p;
  // Guards against a format change that silently drops cases.
  EXPECT_GE(corpus.cases.size(), 40u);
  for (const auto& c : corpus.cases) {
    bool runs = std::any_of(c.steps.begin(), c.steps.end(), [](const Step& s) { return s.kind == "run"; });
    EXPECT_TRUE(runs) << c.file << ":" << c.line << " [" << c.title << "] has no run step";
  }
}

}  // namespace
}  // namespace strata::transform
