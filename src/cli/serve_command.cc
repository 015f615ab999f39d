// strata serve: the dashboards of a project in a browser.
#include <arpa/inet.h>

#include <cstdlib>
#include <ctime>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/signals.h"
#include "core/file.h"
#include "core/project.h"
#include "orchestrate/pipeline.h"
#include "quality/checkpoint.h"
#include "serve/api.h"
#include "serve/auth.h"
#include "serve/embed.h"
#include "serve/server.h"
#include "serve/system_tables.h"
#include "serve/validate.h"
#include "transform/loader.h"

namespace strata::cli {

namespace {

struct ServeFlags {
  std::string project = ".";
  std::string host = "127.0.0.1";
  int port = 8080;
  int threads = 64;  // connections served at once (each keep-alive connection holds one)
  int queries = 0;   // queries run at once (0: the number of cores)
  std::string schema = "analytics";
  std::string web_dir;
  std::string port_file;
  bool auth = false;
  std::vector<std::string> embed_origins;
};

// The embed secret from the environment ("" when unset); a short one stops with a usage error.
std::string EmbedSecret(Output& out) {
  const char* env = std::getenv("STRATA_EMBED_SECRET");
  if (env == nullptr || *env == '\0') return "";
  Status ok = serve::CheckEmbedSecret(env);
  if (!ok.ok()) Fail(out, ok, kExitUsage);
  return env;
}

// Whether `host` is a loopback address (only this machine can connect).
bool IsLoopback(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

struct ValidateFlags {
  std::string project = ".";
  std::string schema = "analytics";
  bool json = false;
};

struct EmbedFlags {
  std::string project = ".";
  std::string dashboard;
  std::vector<std::string> params;  // filter=value
  std::string expires = "10m";
  std::string url = "http://127.0.0.1:8080";
};

// strata dashboards embed: a signed embed URL (serve/embed.h), as an application's server
// would make it, for trying embeds and for scripts.
void RegisterEmbedCommand(CLI::App* group) {
  auto f = std::make_shared<EmbedFlags>();
  CLI::App* sub = group->add_subcommand(
      "embed", "Print a signed URL that shows one dashboard without a login (needs STRATA_EMBED_SECRET)");
  sub->add_option("dashboard", f->dashboard, "The dashboard's id (its file name without .yml)")->required();
  sub->add_option("--param", f->params, "Fix a filter: NAME=VALUE (repeat it for several values or filters)");
  sub->add_option("--expires", f->expires, "How long the URL works: 10m, 2h, 7d, ...")->capture_default_str();
  sub->add_option("--url", f->url, "Where strata serve answers")->capture_default_str();
  sub->add_option("-p,--project", f->project, "Project file or directory holding strata.yml")->capture_default_str();
  sub->callback([f] {
    Output out(false);
    const std::string secret = EmbedSecret(out);
    if (secret.empty()) {
      Fail(out,
           Status::InvalidArgument("STRATA_EMBED_SECRET is not set: it signs embed tokens, and strata serve "
                                   "needs the same value (make one with: openssl rand -hex 32)"),
           kExitUsage);
    }
    auto project = Project::Load(f->project);
    if (!project.ok()) Fail(out, project.status(), UsageCode(project.status()));
    auto d = serve::LoadDashboard(JoinPath(project->dir, "dashboards/" + f->dashboard + ".yml"));
    if (!d.ok()) Fail(out, d.status(), kExitUsage);
    if (!d->embed.enabled) {
      Fail(out, Status::InvalidArgument(d->file + " has no `embed:`: add `embed: true` to let it be embedded"),
           kExitUsage);
    }
    serve::EmbedToken token;
    token.dashboard = d->id;
    for (const auto& p : f->params) {
      const size_t eq = p.find('=');
      if (eq == std::string::npos || eq == 0) {
        Fail(out, Status::InvalidArgument("--param takes NAME=VALUE, not '" + p + "'"), kExitUsage);
      }
      const std::string name = p.substr(0, eq);
      if (d->FindFilter(name) == nullptr) {
        Fail(out, Status::InvalidArgument("dashboard '" + d->id + "' has no filter '" + name + "'"), kExitUsage);
      }
      if (p.size() > eq + 1)
        token.params[name].push_back(p.substr(eq + 1));
      else
        token.params[name];  // NAME=: explicitly none
    }
    for (const auto& name : d->embed.locked) {
      if (!token.params.contains(name)) {
        Fail(out,
             Status::InvalidArgument("dashboard '" + d->id + "' locks filter '" + name + "' in embeds: give --param " +
                                     name + "=VALUE"),
             kExitUsage);
      }
    }
    auto seconds = orchestrate::ParseDuration(f->expires);
    if (!seconds.ok() || *seconds <= 0) {
      Fail(out,
           Status::InvalidArgument("--expires: " +
                                   (seconds.ok() ? std::string("must be positive") : seconds.status().message())),
           kExitUsage);
    }
    token.expires = static_cast<int64_t>(std::time(nullptr)) + static_cast<int64_t>(*seconds);
    std::string base = f->url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    out.Line(base + "/embed/" + serve::SignEmbedToken(token, secret));
  });
}

void RegisterDashboardsCommand(CLI::App* app) {
  CLI::App* group = app->add_subcommand("dashboards", "Check the project's dashboards (dashboards/*.yml)");
  group->require_subcommand(1);
  auto f = std::make_shared<ValidateFlags>();
  CLI::App* sub = group->add_subcommand(
      "validate", "Check every dashboard: files, filters, models, and that each query runs on what is published");
  sub->add_option("-p,--project", f->project, "Project file or directory holding strata.yml")->capture_default_str();
  sub->add_option("--schema", f->schema, "The published schema the dashboards read")->capture_default_str();
  sub->add_flag("--json", f->json, "Print one JSON document for machines");
  RegisterEmbedCommand(group);
  sub->callback([f] {
    Output out(f->json);
    auto project = Project::Load(f->project);
    if (!project.ok()) Fail(out, project.status(), UsageCode(project.status()));
    const std::string dir = JoinPath(project->dir, "dashboards");
    auto dashboards = serve::LoadDashboards(dir);
    if (!dashboards.ok()) Fail(out, dashboards.status(), kExitUsage);
    serve::ValidateOptions options;
    auto loaded = transform::LoadTransformOf(*project);
    if (!loaded.ok()) Fail(out, loaded.status());
    std::unique_ptr<transform::LoadedProject> dbt = std::move(*loaded);
    if (dbt) options.model_exists = [&dbt](const std::string& m) { return dbt->manifest.FindRefable(m) != nullptr; };
    std::vector<std::string> notes;
    auto publications = serve::Publications::ForProject(*project, f->schema, 1);
    std::shared_ptr<serve::Publication> pub;
    if (publications.ok()) {
      auto current = (*publications)->Current();
      if (current.ok()) pub = *current;
      if (!current.ok()) notes.push_back("cannot read the publication: " + current.status().message());
    } else {
      notes.push_back(publications.status().message());
    }
    if (pub == nullptr) notes.push_back("nothing is published yet: the SQL of published models was not run");
    options.publication = pub.get();
    serve::SystemTables system_tables(*project, 1);
    auto system = system_tables.Current();
    if (system.ok()) options.system = system->get();
    nlohmann::json doc = nlohmann::json::array();
    int problems = 0;
    for (const auto& d : *dashboards) {
      auto found = serve::Validate(d, options);
      problems += static_cast<int>(found.size());
      nlohmann::json list = nlohmann::json::array();
      for (const auto& p : found) {
        list.push_back({{"where", p.where}, {"message", p.message}});
        out.Error(p.where + ": " + p.message);
      }
      doc.push_back({{"dashboard", d.id}, {"file", d.file}, {"cards", d.cards.size()}, {"problems", list}});
      if (found.empty()) out.Line("ok  " + d.id + " (" + std::to_string(d.cards.size()) + " cards)");
    }
    for (const auto& n : notes) out.Line("note: " + n);
    if (f->json) out.Json({{"ok", problems == 0}, {"dashboards", doc}, {"notes", notes}});
    if (problems > 0) {
      if (!f->json) out.Error(std::to_string(problems) + " problem(s) in " + dir);
      throw CLI::RuntimeError(kExitFailure);
    }
  });
}

struct UsersFlags {
  std::string project = ".";
  std::string name;
  std::string role = "viewer";
};

// strata users add | list | remove: who may log in to `strata serve` (serve/auth.h).
void RegisterUsersCommand(CLI::App* app) {
  CLI::App* group = app->add_subcommand("users", "Who may log in to strata serve (<state_dir>/users.json)");
  group->require_subcommand(1);
  auto f = std::make_shared<UsersFlags>();
  auto users_path = [](Output& out, const UsersFlags& flags) {
    auto project = Project::Load(flags.project);
    if (!project.ok()) Fail(out, project.status(), UsageCode(project.status()));
    return JoinPath(project->state_dir, "users.json");
  };
  auto load = [](Output& out, const std::string& path) {
    auto users = serve::Users::Load(path);
    if (!users.ok()) Fail(out, users.status());
    return std::move(*users);
  };
  CLI::App* add = group->add_subcommand(
      "add", "Add a user, or set their role and password; the password comes from $STRATA_USER_PASSWORD or stdin");
  add->add_option("name", f->name, "The user's name")->required();
  add->add_option("--role", f->role, "viewer, editor (also the SQL explorer) or admin")->capture_default_str();
  add->add_option("-p,--project", f->project, "Project file or directory holding strata.yml")->capture_default_str();
  add->callback([f, users_path, load] {
    Output out(false);
    auto role = serve::ParseRole(f->role);
    if (!role.ok()) Fail(out, role.status(), kExitUsage);
    std::string password;
    if (const char* env = std::getenv("STRATA_USER_PASSWORD"); env != nullptr) {
      password = env;
    } else {
      std::getline(std::cin, password);
      if (!password.empty() && password.back() == '\r') password.pop_back();
    }
    const std::string path = users_path(out, *f);
    serve::Users users = load(out, path);
    Status set = users.Set(f->name, *role, password);
    if (!set.ok()) Fail(out, set, UsageCode(set));
    Status saved = users.Save(path);
    if (!saved.ok()) Fail(out, saved);
    out.Line("user " + f->name + " (" + f->role + ") saved in " + path);
  });
  CLI::App* list = group->add_subcommand("list", "The users and their roles");
  list->add_option("-p,--project", f->project, "Project file or directory holding strata.yml")->capture_default_str();
  list->callback([f, users_path, load] {
    Output out(false);
    serve::Users users = load(out, users_path(out, *f));
    for (const auto& u : users.list()) out.Line(u.name + "\t" + serve::RoleName(u.role));
  });
  CLI::App* remove = group->add_subcommand("remove", "Remove a user");
  remove->add_option("name", f->name, "The user's name")->required();
  remove->add_option("-p,--project", f->project, "Project file or directory holding strata.yml")->capture_default_str();
  remove->callback([f, users_path, load] {
    Output out(false);
    const std::string path = users_path(out, *f);
    serve::Users users = load(out, path);
    if (!users.Remove(f->name)) Fail(out, Status::NotFound("no user '" + f->name + "' in " + path), kExitUsage);
    Status saved = users.Save(path);
    if (!saved.ok()) Fail(out, saved);
    out.Line("user " + f->name + " removed");
  });
}

}  // namespace

void RegisterServeCommand(CLI::App* app) {
  RegisterUsersCommand(app);
  RegisterDashboardsCommand(app);
  auto f = std::make_shared<ServeFlags>();
  CLI::App* sub = app->add_subcommand("serve", "Serve the project's dashboards (dashboards/*.yml) and their API");
  sub->add_option("-p,--project", f->project, "Project file or directory holding strata.yml")->capture_default_str();
  sub->add_option("--host", f->host, "Address to listen on")->capture_default_str();
  sub->add_option("--port", f->port, "Port to listen on (0: any free port)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  sub->add_option("--threads", f->threads, "Connections served at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  sub->add_option("--queries", f->queries, "Queries run at once (default: the number of cores)")
      ->check(CLI::Range(0, 256));
  sub->add_option("--schema", f->schema, "The published schema the dashboards read")->capture_default_str();
  sub->add_flag("--auth", f->auth,
                "Require logins (users from `strata users add`) also on loopback; on by itself on other addresses");
  sub->add_option("--port-file", f->port_file, "Write the port to this file once listening (with --port 0)");
  sub->add_option("--web-dir", f->web_dir, "Serve the web app's files from this folder (to work on them)");
  sub->add_option("--embed-origin", f->embed_origins,
                  "Only pages of this origin may frame embeds (https://shop.example.com; repeatable; default any)");
  sub->callback([f] {
    Output out(false);
    const std::string embed_secret = EmbedSecret(out);
    for (const auto& o : f->embed_origins) {
      // It goes into a Content-Security-Policy header: a scheme and a host, nothing else.
      const bool ok = (o.rfind("https://", 0) == 0 || o.rfind("http://", 0) == 0) &&
                      o.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:/[]*") ==
                          std::string::npos &&
                      o.find('/', o.find("//") + 2) == std::string::npos;
      if (!ok) {
        Fail(out,
             Status::InvalidArgument("--embed-origin takes an origin like https://shop.example.com, not '" + o + "'"),
             kExitUsage);
      }
    }
    auto project = Project::Load(f->project);
    if (!project.ok()) Fail(out, project.status(), UsageCode(project.status()));
    // Beyond loopback, only with logins.
    const std::string users_file = JoinPath(project->state_dir, "users.json");
    std::optional<serve::Users> users;
    if (f->auth || !IsLoopback(f->host)) {
      auto loaded = serve::Users::Load(users_file);
      if (!loaded.ok()) Fail(out, loaded.status());
      if (loaded->list().empty()) {
        Fail(out,
             Status::InvalidArgument(std::string(f->auth ? "--auth" : "listening on '" + f->host + "'") +
                                     " needs logins, and " + users_file +
                                     " has no users: add one with `strata users add NAME --role admin`"),
             kExitUsage);
      }
      users = std::move(*loaded);
    }
    const int queries =
        f->queries > 0 ? f->queries : std::max(2, static_cast<int>(std::thread::hardware_concurrency()));
    auto publications = serve::Publications::ForProject(*project, f->schema, queries);
    if (!publications.ok()) Fail(out, publications.status(), UsageCode(publications.status()));
    serve::ApiOptions api_options;
    api_options.dashboards_dir = JoinPath(project->dir, "dashboards");
    api_options.embed_secret = embed_secret;
    serve::SystemTables system(*project, queries);
    serve::Api api(publications->get(), api_options, &system);
    serve::ServerOptions options;
    options.host = f->host;
    options.port = f->port;
    options.threads = f->threads;
    options.web_dir = f->web_dir;
    options.users = users ? &*users : nullptr;
    options.embed_origins = f->embed_origins;
    options.docs_dir = quality::PathsOf(*project).docs;
    SignalStop signals;  // before the server's threads start, so they inherit the mask
    serve::Server server(&api, options);
    Status bound = server.Bind();
    if (!bound.ok()) Fail(out, bound);
    CancelScope stop(&signals.token, [&server] { server.Stop(); });
    if (!f->port_file.empty()) {
      Status written = WriteFileAtomic(f->port_file, std::to_string(server.port()) + "\n");
      if (!written.ok()) Fail(out, written);
    }
    const std::string host = f->host.find(':') != std::string::npos ? "[" + f->host + "]" : f->host;
    out.Line("strata serve: http://" + host + ":" + std::to_string(server.port()) + "/ (" +
             (users ? "logins of " + std::to_string(users->list().size()) + " user(s); " : std::string()) +
             (embed_secret.empty() ? "" : "signed embeds on; ") + "dashboards in " + api_options.dashboards_dir +
             "; data from " + (*publications)->Describe() + "; Ctrl-C stops)");
    Status s = server.Run();
    if (!s.ok() && !signals.token.cancelled()) Fail(out, s);
  });
}

}  // namespace strata::cli
