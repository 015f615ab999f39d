#include "transform/runner.h"

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "core/file.h"
#include "core/parallel.h"
#include "transform/artifacts.h"
#include "transform/materialize.h"
#include "transform/unit_test_runner.h"

namespace strata::transform {

using nlohmann::json;

const char* VerbName(Verb verb) {
  switch (verb) {
    case Verb::kCompile:
      return "compile";
    case Verb::kRun:
      return "run";
    case Verb::kBuild:
      return "build";
    case Verb::kTest:
      return "test";
    case Verb::kSeed:
      return "seed";
    case Verb::kSnapshot:
      return "snapshot";
    case Verb::kList:
      return "ls";
    case Verb::kFreshness:
      return "freshness";
  }
  return "?";
}

nlohmann::json ToJson(const NodeResult& r) {
  return {{"unique_id", r.unique_id},         {"status", r.status},    {"message", r.message}, {"seconds", r.seconds},
          {"rows_affected", r.rows_affected}, {"failures", r.failures}};
}

bool RunResults::success() const {
  for (const auto& r : results) {
    if (r.status == "error" || r.status == "fail") return false;
  }
  return true;
}

int RunResults::Count(const std::string& status) const {
  int n = 0;
  for (const auto& r : results) n += r.status == status;
  return n;
}

namespace {

bool VerbRuns(Verb verb, NodeType type) {
  switch (verb) {
    case Verb::kRun:
      return type == NodeType::kModel;
    case Verb::kTest:
      return type == NodeType::kTest || type == NodeType::kUnitTest;
    case Verb::kSeed:
      return type == NodeType::kSeed;
    case Verb::kSnapshot:
      return type == NodeType::kSnapshot;
    case Verb::kFreshness:
      return type == NodeType::kSource;
    case Verb::kCompile:
      return type == NodeType::kModel || type == NodeType::kTest || type == NodeType::kSnapshot;
    case Verb::kBuild:
      return type != NodeType::kSource && type != NodeType::kExposure;
    case Verb::kList:
      return type != NodeType::kSource;
  }
  return false;
}

double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

Result<std::set<std::string>> Runner::NodesToRun(const RunOptions& options) const {
  STRATA_ASSIGN_OR_RETURN(auto selected, SelectNodes(project_->manifest, project_->graph, options.selection));
  std::set<std::string> todo;
  for (const auto& id : selected) {
    const Node* n = project_->manifest.Find(id);
    if (n == nullptr || !VerbRuns(options.verb, n->type)) continue;
    // Freshness checks the sources that declare it (dbt skips the others).
    if (options.verb == Verb::kFreshness && (!n->config.contains("freshness") || n->config["freshness"].is_null())) {
      continue;
    }
    todo.insert(id);
  }
  return todo;
}

Plan Runner::PlanRun(const std::set<std::string>& todo, Verb verb) const {
  const Manifest& manifest = project_->manifest;
  const Graph& graph = project_->graph;
  Plan plan(todo);
  // A node waits for its selected parents. A unit test runs on fixtures before its model is
  // built: it waits for the model's parents (so their relations give the fixtures' column
  // types), and in build the model waits for it.
  for (const auto& id : todo) {
    const Node* n = manifest.Find(id);
    const std::string& anchor = n->type == NodeType::kUnitTest ? n->attached_node : id;
    for (const auto& p : graph.Parents(anchor)) {
      if (todo.count(p)) plan.Wait(id, p);
    }
    if (n->type == NodeType::kUnitTest && verb == Verb::kBuild && todo.count(n->attached_node)) {
      plan.Wait(n->attached_node, id);
    }
  }
  if (verb != Verb::kBuild) return plan;
  // In build, a node also waits for the tests of its ancestors, as dbt adds test edges: a
  // test gates a node when everything the test depends on is upstream of that node. So a
  // relationships test (or dbt_utils.equality) between two models gates only the nodes
  // downstream of both; a failing one skips those, and nothing that reads only one of them.
  std::map<std::string, std::set<std::string>> ancestors;  // memo
  auto ancestors_of = [&](const std::string& id) -> const std::set<std::string>& {
    auto it = ancestors.find(id);
    if (it == ancestors.end()) it = ancestors.emplace(id, graph.Ancestors(id)).first;
    return it->second;
  };
  for (const auto& id : todo) {
    const Node* t = manifest.Find(id);
    if (t->type != NodeType::kTest) continue;
    std::set<std::string> candidates;
    for (const auto& dep : t->depends_on) {
      for (const auto& d : graph.Descendants(dep)) candidates.insert(d);
    }
    const std::set<std::string>& test_ancestors = ancestors_of(id);
    for (const auto& node : candidates) {
      if (node == id || !todo.count(node) || test_ancestors.count(node)) continue;
      NodeType type = manifest.Find(node)->type;
      if (type == NodeType::kTest || type == NodeType::kUnitTest) continue;
      const std::set<std::string>& upstream = ancestors_of(node);
      bool gated = std::all_of(t->depends_on.begin(), t->depends_on.end(),
                               [&upstream](const std::string& dep) { return upstream.count(dep) > 0; });
      if (gated) plan.Wait(node, id);
    }
  }
  return plan;
}

NodeResult Runner::RunNode(const std::string& id, const RunOptions& options,
                           std::unique_ptr<warehouse::Session>* conn) const {
  const Node& node = *project_->manifest.Find(id);
  NodeResult r;
  r.unique_id = id;
  r.name = node.name;
  r.resource_type = NodeTypeName(node.type);
  auto t0 = std::chrono::steady_clock::now();
  if (options.verb == Verb::kCompile || options.verb == Verb::kList) {
    // Introspection while compiling (run_query, get_columns_in_relation) opens the worker's
    // session on first use, as dbt compile connects.
    auto session = [this, conn]() -> Result<warehouse::Session*> {
      if (db_ == nullptr) return Status::Unavailable("no warehouse is open for this command");
      if (!*conn) {
        STRATA_ASSIGN_OR_RETURN(*conn, db_->Connect());
      }
      return conn->get();
    };
    auto sql =
        options.verb == Verb::kCompile ? project_->Compile(node, false, nullptr, session) : Result<std::string>("");
    r.status = sql.ok() ? "success" : "error";
    if (sql.ok()) {
      r.compiled_sql = *sql;
    } else {
      r.message = sql.status().message();
    }
    r.seconds = Since(t0);
    return r;
  }
  Status s;
  if (!*conn) {
    auto c = db_->Connect();
    if (c.ok()) {
      *conn = std::move(*c);
    } else {
      s = c.status();
    }
  }
  std::optional<CancelScope> interrupt;
  if (*conn) interrupt.emplace(options.cancel, [c = conn->get()] { c->Interrupt(); });
  if (s.ok() && interrupt) s = interrupt->Check();
  if (s.ok()) {
    s = node.type == NodeType::kUnitTest   ? RunUnitTest(*project_, conn->get(), node, &r)
        : options.verb == Verb::kFreshness ? CheckFreshness(*project_, conn->get(), node, &r)
                                           : Materialize(*project_, conn->get(), node, options.full_refresh, &r);
  }
  if (!s.ok()) {
    r.status = "error";
    r.message = s.message();
  }
  CrashPoint("node_done");  // crash tests: the node's work is committed, nothing else
  r.seconds = Since(t0);
  return r;
}

Result<RunResults> Runner::Execute(const RunOptions& options) {
  auto start = std::chrono::steady_clock::now();
  const Manifest& manifest = project_->manifest;
  STRATA_ASSIGN_OR_RETURN(std::set<std::string> todo, NodesToRun(options));
  // selected_resources, for the renders to come (no render runs yet).
  project_->settings.selected->assign(todo.begin(), todo.end());
  Plan plan = PlanRun(todo, options.verb);

  // Every schema the run writes into is created once, up front: nodes of one schema that start
  // together would otherwise each create it, and DuckDB refuses concurrent creations of the
  // same catalog entry (a write-write conflict).
  const bool writes_nodes = options.verb == Verb::kRun || options.verb == Verb::kBuild || options.verb == Verb::kSeed ||
                            options.verb == Verb::kSnapshot;
  if (writes_nodes) {
    std::set<std::string> schemas;
    for (const auto& id : todo) {
      const Node* n = manifest.Find(id);
      const bool writes = n->type == NodeType::kSeed || n->type == NodeType::kSnapshot ||
                          (n->type == NodeType::kModel && n->materialized() != "ephemeral");
      if (writes && !n->schema.empty()) schemas.insert(n->schema);
    }
    if (!schemas.empty()) {
      STRATA_ASSIGN_OR_RETURN(auto conn, db_->Connect());
      for (const auto& schema : schemas) {
        STRATA_ASSIGN_OR_RETURN(std::string sql,
                                project_->CallMacro("create_schema", {jinja::Value(duck::QuoteIdent(schema))}));
        Status made = conn->Execute(sql);
        if (!made.ok()) return made.WithContext("creating schema " + schema);
      }
    }
  }

  // on-run-start hooks, before any node; one that fails ends the run before it starts.
  const bool runs_hooks = writes_nodes || options.verb == Verb::kTest;
  if (runs_hooks) {
    Status hooks = RunProjectHooks(project_->project.on_run_start, "on-run-start", todo, nullptr);
    if (!hooks.ok()) return hooks;
  }

  int threads = options.threads > 0 ? options.threads : std::max(1, project_->profile.threads);
  // Compiling touches no warehouse: every core helps (the profile's threads bound connections).
  if (options.verb == Verb::kCompile) threads = std::max(threads, CpuThreads());
  if (options.verb == Verb::kList) threads = 1;
  // No more workers than nodes (a profile may say threads: 100000).
  threads = std::max(1, std::min<int>({threads, static_cast<int>(todo.size()), 256}));

  RunResults results;
  std::mutex mu;  // guards everything below, and serializes on_result
  std::condition_variable cv;
  size_t running = 0;
  bool stop = false;
  // Nothing ready, nothing running, nodes left: their waits form a cycle. A planning bug, but
  // it must end the run with an error, never hang it.
  Status stalled;
  auto record = [&](const NodeResult& r) {
    results.results.push_back(r);
    if (options.on_result) options.on_result(r);
  };
  auto worker = [&](int thread) {
    std::unique_ptr<warehouse::Session> conn;
    for (;;) {
      std::string id;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return stop || plan.HasReady() || plan.remaining() == 0 || running == 0; });
        if (!stop && !plan.HasReady() && plan.remaining() > 0 && running == 0) {
          std::string left;
          for (const auto& t : plan.Unfinished()) left += (left.empty() ? "" : ", ") + manifest.Find(t)->name;
          stalled = Status::Internal("the run plan stalled with nodes waiting on each other: " + left);
          stop = true;
          cv.notify_all();
        }
        if (stop || plan.remaining() == 0) return;
        id = *plan.NextReady();
        ++running;
      }
      const auto started = std::chrono::system_clock::now();
      NodeResult r = RunNode(id, options, &conn);
      r.thread_id = "Thread-" + std::to_string(thread);
      r.started_at = started;
      r.completed_at = std::chrono::system_clock::now();
      const bool ok = r.status == "success" || r.status == "pass" || r.status == "warn";
      {
        std::lock_guard<std::mutex> lock(mu);
        // An ephemeral model is not executed (it is inlined where referenced): like dbt, the
        // run lists no result for it, unless it failed to compile.
        const Node* done = manifest.Find(id);
        const bool inlined = done->type == NodeType::kModel && done->materialized() == "ephemeral" &&
                             r.status == "success" && options.verb != Verb::kCompile;
        if (!inlined) record(r);
        for (const auto& [skipped, because] : plan.Finished(id, ok)) {
          const Node* n = manifest.Find(skipped);
          NodeResult skip;
          skip.unique_id = skipped;
          skip.name = n->name;
          skip.resource_type = NodeTypeName(n->type);
          skip.status = "skipped";
          skip.thread_id = r.thread_id;
          skip.message = "skipped: upstream '" + manifest.Find(because)->name + "' did not succeed";
          record(skip);
        }
        --running;
        if ((!ok && options.fail_fast) || (options.cancel != nullptr && options.cancel->cancelled())) stop = true;
      }
      cv.notify_all();
    }
  };
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) pool.emplace_back(worker, i + 1);
  for (auto& t : pool) t.join();
  if (!stalled.ok()) return stalled;
  // on-run-end hooks see every result; a failing one is the run's error result.
  if (runs_hooks && !project_->project.on_run_end.empty()) {
    Status hooks = RunProjectHooks(project_->project.on_run_end, "on-run-end", todo, &results);
    if (!hooks.ok()) {
      NodeResult r;
      r.unique_id = "operation." + project_->project.name + ".on-run-end";
      r.name = "on-run-end";
      r.resource_type = "operation";
      r.status = "error";
      r.message = hooks.message();
      record(r);
    }
  }
  results.elapsed = Since(start);
  return results;
}

Status Runner::RunProjectHooks(const std::vector<std::string>& hooks, const char* which,
                               const std::set<std::string>& todo, const RunResults* results) const {
  if (hooks.empty()) return Status::OK();
  std::set<std::string> schema_set;
  for (const auto& id : todo) {
    const Node* n = project_->manifest.Find(id);
    if (n != nullptr && !n->schema.empty() && n->type != NodeType::kSource) schema_set.insert(n->schema);
  }
  std::vector<jinja::Value> schemas;
  for (const auto& s : schema_set) schemas.emplace_back(s);
  std::map<std::string, jinja::Value> extra = {
      {"schemas", jinja::Value::MakeList(std::move(schemas))},
      {"database",
       jinja::Value(project_->profile.database.empty() ? std::string("main") : project_->profile.database)}};
  if (results != nullptr) {
    std::vector<jinja::Value> rs;
    for (const auto& r : results->results) {
      jinja::Value node = jinja::Value::MakeDict({{"unique_id", jinja::Value(r.unique_id)},
                                                  {"name", jinja::Value(r.name)},
                                                  {"resource_type", jinja::Value(r.resource_type)}});
      if (const Node* n = project_->manifest.Find(r.unique_id)) {
        node.as_dict().Set("schema", jinja::Value(n->schema));
        node.as_dict().Set("alias", jinja::Value(n->alias.empty() ? n->name : n->alias));
        node.as_dict().Set("package_name", jinja::Value(n->package));
        node.as_dict().Set("config", JsonToValue(n->config));
      }
      rs.push_back(jinja::Value::MakeDict(
          {{"node", node},
           {"status", jinja::Value(r.status)},
           {"message", r.message.empty() ? jinja::Value::None() : jinja::Value(r.message)},
           {"execution_time", jinja::Value(r.seconds)},
           {"failures", r.failures >= 0 ? jinja::Value(r.failures) : jinja::Value::None()},
           {"adapter_response",
            jinja::Value::MakeDict(
                {{"rows_affected", r.rows_affected >= 0 ? jinja::Value(r.rows_affected) : jinja::Value::None()}})}}));
    }
    extra["results"] = jinja::Value::MakeList(std::move(rs));
  }
  if (db_ == nullptr) return Status::Unavailable(std::string(which) + " hooks need a warehouse");
  STRATA_ASSIGN_OR_RETURN(auto conn, db_->Connect());
  warehouse::Session* c = conn.get();
  for (size_t i = 0; i < hooks.size(); ++i) {
    std::string where = project_->project.root + "/dbt_project.yml (" + which + " " + std::to_string(i + 1) + ")";
    auto sql =
        project_->RenderHook(hooks[i], where, nullptr, extra, [c]() -> Result<warehouse::Session*> { return c; });
    if (!sql.ok()) return sql.status();
    if (sql->find_first_not_of(" \t\r\n;") == std::string::npos) continue;
    Status ran = c->Execute(*sql);
    if (!ran.ok()) return ran.WithContext(std::string(which) + " hook " + std::to_string(i + 1));
  }
  return Status::OK();
}

Status Runner::WriteArtifacts(const RunResults* results, const RunOptions& options) const {
  return WriteDbtArtifacts(*project_, results, options);
}

}  // namespace strata::transform
