#include "transform/deps.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "core/config.h"
#include "core/file.h"
#include "testing.h"

namespace strata::transform {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using strata::testing::Slurp;
using strata::testing::TempDir;
using strata::testing::WriteText;

const char* kShared = "/work/shared/dbt-packages";

std::string Which(const std::string& program) {
  for (const char* dir : {"/usr/bin", "/bin", "/usr/local/bin"}) {
    std::string p = std::string(dir) + "/" + program;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return program;
}

// Runs a program (by name) and fails the test when it fails; its stdout.
std::string Must(std::vector<std::string> argv) {
  argv[0] = Which(argv[0]);
  auto r = strata::testing::RunCommand(argv);
  EXPECT_EQ(r.exit_code, 0) << argv[0] << " " << (argv.size() > 1 ? argv[1] : "") << ": " << r.err;
  while (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
  return r.out;
}

std::string GitIn(const std::string& repo, std::vector<std::string> args) {
  std::vector<std::string> argv = {"git", "-C", repo, "-c", "user.email=t@example.com", "-c", "user.name=T"};
  argv.insert(argv.end(), args.begin(), args.end());
  return Must(argv);
}

// The hub's side: a small HTTP/1.1 server on 127.0.0.1 answering GETs from a path -> body map
// (404 otherwise), one connection at a time. The transform tests do not link cpp-httplib.
class TestServer {
 public:
  TestServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "cannot listen on 127.0.0.1";
    }
    url_ = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
    thread_ = std::thread([this] { Loop(); });
  }
  ~TestServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  const std::string& url() const { return url_; }
  void Set(const std::string& path, std::string body) {
    std::lock_guard<std::mutex> l(mu_);
    routes_[path] = std::move(body);
  }
  void Remove(const std::string& path) {
    std::lock_guard<std::mutex> l(mu_);
    routes_.erase(path);
  }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> l(mu_);
    return requests_;
  }

 private:
  void Loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      std::string req;
      char buf[4096];
      while (req.find("\r\n\r\n") == std::string::npos && req.size() < 65536) {
        ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
      }
      const size_t sp = req.find(' '), sp2 = req.find(' ', sp + 1);
      const std::string path = sp2 == std::string::npos ? "" : req.substr(sp + 1, sp2 - sp - 1);
      std::string status = "404 Not Found", body = "no such thing here";
      {
        std::lock_guard<std::mutex> l(mu_);
        requests_.push_back(path);
        if (auto it = routes_.find(path); it != routes_.end()) {
          status = "200 OK";
          body = it->second;
        }
      }
      std::string resp = "HTTP/1.1 " + status + "\r\nContent-Length: " + std::to_string(body.size()) +
                         "\r\nConnection: close\r\n\r\n" + body;
      for (size_t sent = 0; sent < resp.size();) {
        ssize_t n = ::send(c, resp.data() + sent, resp.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
      }
      ::close(c);
    }
  }
  int fd_ = -1;
  std::string url_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::map<std::string, std::string> routes_;
  std::vector<std::string> requests_;
};

// A URL nobody answers: a port that was free a moment ago.
std::string ClosedUrl() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
}

void WriteProject(const std::string& dir, const std::string& packages_yml, const std::string& extra = "") {
  WriteText(dir + "/dbt_project.yml", "name: my_project\nprofile: my_project\n" + extra);
  if (!packages_yml.empty()) WriteText(dir + "/packages.yml", packages_yml);
}

struct Runner {
  std::string log;
  std::vector<std::string> warnings;
  Result<DepsResult> operator()(const std::string& dir, const std::string& hub, bool upgrade = false) {
    DepsOptions o;
    o.project_dir = dir;
    o.hub_url = hub;
    o.upgrade = upgrade;
    o.log = [this](const std::string& s) { log += s + "\n"; };
    o.warn = [this](const std::string& s) { warnings.push_back(s); };
    return InstallPackages(o);
  }
};

std::vector<std::string> Names(const DepsResult& r) {
  std::vector<std::string> out;
  for (const auto& p : r.packages) out.push_back(p.name + "@" + p.version);
  return out;
}

bool HasWorkDirs(const std::string& install) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(install, ec)) {
    if (e.path().filename().string().rfind(".strata-deps-", 0) == 0) return true;
  }
  return false;
}

// A hub built in the test from the real packages in /work/shared/dbt-packages (their folder
// suffix is their hub version), plus fake dbt_utils 0.9.6 and 2.0.0: copies holding a
// FAKE_VERSION file and no dependencies.
class DepsHub : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::is_directory(kShared)) << kShared;
    Fake("dbt_utils-1.3.3", "0.9.6");
    Add("dbt-labs", "dbt_utils", "0.9.6", tmp_.Sub("fake/dbt_utils-0.9.6"));
    Add("dbt-labs", "dbt_utils", "1.3.3", std::string(kShared) + "/dbt_utils-1.3.3");
    Fake("dbt_utils-1.3.3", "2.0.0");
    Add("dbt-labs", "dbt_utils", "2.0.0", tmp_.Sub("fake/dbt_utils-2.0.0"));
    Add("calogica", "dbt_date", "0.17.1", std::string(kShared) + "/dbt_date-0.17.1");
    Add("calogica", "dbt_expectations", "0.10.3", std::string(kShared) + "/dbt_expectations-0.10.3");
    Add("dbt-labs", "audit_helper", "0.12.2", std::string(kShared) + "/audit_helper-0.12.2");
    for (const auto& [id, doc] : index_) hub_.Set("/api/v1/" + id + ".json", doc.dump());
  }

  void Fake(const std::string& from, const std::string& version) {
    const std::string dir = tmp_.Sub("fake/dbt_utils-" + version);
    fs::create_directories(dir);
    fs::copy(std::string(kShared) + "/" + from, dir, fs::copy_options::recursive);
    WriteText(dir + "/FAKE_VERSION", version);
  }

  // Publishes the folder `src` as org/name at `version`: a tarball with one top-level folder
  // and the hub's JSON entry (dependencies from its packages.yml, require_dbt_version from its
  // dbt_project.yml). Versions are added oldest first; the last is `latest`.
  void Add(const std::string& org, const std::string& name, const std::string& version, const std::string& src) {
    const std::string file = name + "-" + version + ".tar.gz";
    fs::create_directories(tmp_.Sub("tarballs"));
    Must({"tar", "-czf", tmp_.Sub("tarballs/" + file), "-C", fs::path(src).parent_path().string(),
          fs::path(src).filename().string()});
    hub_.Set("/tarballs/" + file, Slurp(tmp_.Sub("tarballs/" + file)));
    json deps = json::array();
    if (fs::exists(src + "/packages.yml")) {
      auto doc = ConfigNode::Load(src + "/packages.yml");
      ASSERT_TRUE(doc.ok()) << doc.status().ToString();
      deps = doc->ToJson()["packages"];
    }
    auto project = ConfigNode::Load(src + "/dbt_project.yml");
    ASSERT_TRUE(project.ok()) << project.status().ToString();
    json& doc = index_[org + "/" + name];
    doc["name"] = name;
    doc["namespace"] = org;
    doc["latest"] = version;
    doc["versions"][version] = {{"name", name},
                                {"packages", deps},
                                {"downloads", {{"tarball", hub_.url() + "/tarballs/" + file}}},
                                {"require_dbt_version", (*project)["require-dbt-version"].ToJson()}};
  }

  int Requests(const std::string& path) {
    int n = 0;
    for (const auto& r : hub_.requests()) n += r == path ? 1 : 0;
    return n;
  }

  TempDir tmp_;
  TestServer hub_;
  std::map<std::string, json> index_;
};

TEST_F(DepsHub, ResolvesTransitiveRangesAndWritesTheLock) {
  TempDir dir;
  WriteProject(dir.path(), R"(packages:
  - package: calogica/dbt_expectations
    version: [">=0.10.0", "<0.11.0"]
  - package: dbt-labs/audit_helper
    version: 0.12.2
)");
  Runner run;
  auto r = run(dir.path(), hub_.url());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // The project's entries first, then what they need: dbt_date from dbt_expectations
  // (>=0.9.0 <1.0.0), dbt_utils from audit_helper (>=0.9.0 <2.0.0 rules out 2.0.0).
  EXPECT_EQ(Names(*r), (std::vector<std::string>{"dbt_expectations@0.10.3", "audit_helper@0.12.2", "dbt_date@0.17.1",
                                                 "dbt_utils@1.3.3"}));
  EXPECT_TRUE(r->resolved);
  EXPECT_FALSE(r->up_to_date);
  // sha1 of the two specs, sorted, one per line (computed with sha1sum by hand):
  // {"package":"calogica/dbt_expectations","version":[">=0.10.0","<0.11.0"]}
  // {"package":"dbt-labs/audit_helper","version":"0.12.2"}
  EXPECT_EQ(Slurp(dir.Sub("package-lock.yml")), R"(packages:
  - name: dbt_expectations
    package: calogica/dbt_expectations
    version: 0.10.3
  - name: audit_helper
    package: dbt-labs/audit_helper
    version: 0.12.2
  - name: dbt_date
    package: calogica/dbt_date
    version: 0.17.1
  - name: dbt_utils
    package: dbt-labs/dbt_utils
    version: 1.3.3
sha1_hash: dacd02d86e3f1403833af3efe5943c57f497baff
)");
  const std::string pk = dir.Sub("dbt_packages");
  EXPECT_TRUE(fs::exists(pk + "/dbt_utils/macros/sql/date_spine.sql"));
  EXPECT_FALSE(fs::exists(pk + "/dbt_utils/FAKE_VERSION"));  // the real 1.3.3, not a fake
  EXPECT_TRUE(fs::exists(pk + "/dbt_date/macros/calendar_date/day_name.sql"));
  EXPECT_TRUE(fs::exists(pk + "/dbt_expectations/macros/schema_tests"));
  EXPECT_TRUE(fs::exists(pk + "/audit_helper/macros/compare_relations.sql"));
  EXPECT_EQ(json::parse(Slurp(pk + "/dbt_utils/.strata-installed.json"))["lock"]["version"], "1.3.3");
  std::vector<std::string> entries;
  for (const auto& e : fs::directory_iterator(pk)) entries.push_back(e.path().filename().string());
  std::sort(entries.begin(), entries.end());
  EXPECT_EQ(entries, (std::vector<std::string>{".strata-deps.lock", "audit_helper", "dbt_date", "dbt_expectations",
                                               "dbt_utils"}));
  EXPECT_EQ(Requests("/tarballs/dbt_utils-1.3.3.tar.gz"), 1);
  EXPECT_EQ(Requests("/tarballs/dbt_utils-2.0.0.tar.gz"), 0);
  // dbt_date 0.17.1 asks for dbt >=1.10.5, which the dbt version Strata follows satisfies:
  // nothing warns.
  EXPECT_TRUE(run.warnings.empty()) << run.log;
  EXPECT_NE(run.log.find("Installing dbt-labs/dbt_utils\n  Installed from version 1.3.3\n  Updated version "
                         "available: 2.0.0\n"),
            std::string::npos)
      << run.log;
}

TEST_F(DepsHub, ExactPinInsideATransitiveRangeWinsOutsideItIsAConflict) {
  TempDir dir;
  WriteProject(dir.path(), R"(packages:
  - package: dbt-labs/dbt_utils
    version: "0.9.6"
  - package: dbt-labs/audit_helper
    version: 0.12.2
)");
  Runner run;
  auto r = run(dir.path(), hub_.url());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Names(*r), (std::vector<std::string>{"dbt_utils@0.9.6", "audit_helper@0.12.2"}));
  EXPECT_EQ(Slurp(dir.Sub("dbt_packages/dbt_utils/FAKE_VERSION")), "0.9.6");
  const std::string lock = Slurp(dir.Sub("package-lock.yml"));

  WriteProject(dir.path(), R"(packages:
  - package: dbt-labs/dbt_utils
    version: "2.0.0"
  - package: dbt-labs/audit_helper
    version: 0.12.2
)");
  r = run(dir.path(), hub_.url());
  ASSERT_FALSE(r.ok());
  const std::string& m = r.status().message();
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(m.find("version conflict for dbt-labs/dbt_utils"), std::string::npos) << m;
  EXPECT_NE(m.find("[\"2.0.0\"] from my_project at " + dir.Sub("packages.yml") + ":3:14: packages[0].version\n"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("[\">=0.9.0\",\"<2.0.0\"] from dbt-labs/audit_helper 0.12.2"), std::string::npos) << m;
  // The earlier install and its lock stand.
  EXPECT_EQ(Slurp(dir.Sub("dbt_packages/dbt_utils/FAKE_VERSION")), "0.9.6");
  EXPECT_EQ(Slurp(dir.Sub("package-lock.yml")), lock);
  EXPECT_FALSE(HasWorkDirs(dir.Sub("dbt_packages")));
}

TEST_F(DepsHub, MatchingLockIsANoOpWithoutNetworkChangesResolveAgain) {
  TempDir dir;
  WriteProject(dir.path(), "packages:\n  - package: dbt-labs/dbt_utils\n    version: [\">=1.0.0\", \"<3.0.0\"]\n");
  Runner run;
  auto r = run(dir.path(), hub_.url());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Names(*r), std::vector<std::string>{"dbt_utils@2.0.0"});
  const std::string marker = dir.Sub("dbt_packages/dbt_utils/.strata-installed.json");
  const std::string stamp = FileStamp(marker);
  const std::string lock = Slurp(dir.Sub("package-lock.yml"));
  const size_t asked = hub_.requests().size();

  // Nobody listens at the hub's URL now: the lock matches and everything is installed.
  r = run(dir.path(), ClosedUrl());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->up_to_date);
  EXPECT_FALSE(r->resolved);
  ASSERT_EQ(r->packages.size(), 1u);
  EXPECT_TRUE(r->packages[0].reused);
  EXPECT_EQ(FileStamp(marker), stamp);
  EXPECT_EQ(Slurp(dir.Sub("package-lock.yml")), lock);
  EXPECT_EQ(hub_.requests().size(), asked);

  // A changed spec resolves again, which needs the hub.
  WriteProject(dir.path(), "packages:\n  - package: dbt-labs/dbt_utils\n    version: [\">=0.9.0\", \"<1.0.0\"]\n");
  r = run(dir.path(), ClosedUrl());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("reading dbt-labs/dbt_utils from the package hub"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(FileStamp(marker), stamp);
  r = run(dir.path(), hub_.url());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->resolved);
  EXPECT_EQ(Names(*r), std::vector<std::string>{"dbt_utils@0.9.6"});
  EXPECT_EQ(Slurp(dir.Sub("dbt_packages/dbt_utils/FAKE_VERSION")), "0.9.6");
  EXPECT_NE(Slurp(dir.Sub("package-lock.yml")).find("version: 0.9.6"), std::string::npos);

  // --upgrade resolves again (and reinstalls) although the lock matches.
  r = run(dir.path(), ClosedUrl(), /*upgrade=*/true);
  ASSERT_FALSE(r.ok());
  const size_t before = hub_.requests().size();
  r = run(dir.path(), hub_.url(), /*upgrade=*/true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->resolved);
  EXPECT_FALSE(r->packages.at(0).reused);
  EXPECT_EQ(hub_.requests().size(), before + 2);  // the package's JSON and its tarball
}

TEST_F(DepsHub, FailedDownloadLeavesThePreviousInstallAlone) {
  TempDir dir;
  WriteProject(dir.path(), "packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.3.3\n");
  Runner run;
  auto r = run(dir.path(), hub_.url());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const std::string marker = dir.Sub("dbt_packages/dbt_utils/.strata-installed.json");
  const std::string stamp = FileStamp(marker);
  const std::string lock = Slurp(dir.Sub("package-lock.yml"));

  // dbt_expectations downloads; dbt_date, the second package, is gone from the server.
  WriteProject(dir.path(), "packages:\n  - package: calogica/dbt_expectations\n    version: 0.10.3\n");
  hub_.Remove("/tarballs/dbt_date-0.17.1.tar.gz");
  r = run(dir.path(), hub_.url());
  ASSERT_FALSE(r.ok());
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("downloading calogica/dbt_date 0.17.1"), std::string::npos) << m;
  EXPECT_NE(m.find(hub_.url() + "/tarballs/dbt_date-0.17.1.tar.gz"), std::string::npos) << m;
  EXPECT_NE(m.find("HTTP 404"), std::string::npos) << m;
  EXPECT_EQ(Requests("/tarballs/dbt_expectations-0.10.3.tar.gz"), 1);
  EXPECT_EQ(FileStamp(marker), stamp);
  EXPECT_FALSE(fs::exists(dir.Sub("dbt_packages/dbt_expectations")));
  EXPECT_FALSE(fs::exists(dir.Sub("dbt_packages/dbt_date")));
  EXPECT_FALSE(HasWorkDirs(dir.Sub("dbt_packages")));
  EXPECT_EQ(Slurp(dir.Sub("package-lock.yml")), lock);
}

TEST_F(DepsHub, HubUrlFromTheEnvironmentAsInDbt) {
  TempDir dir;
  WriteProject(dir.path(), "packages:\n  - package: dbt-labs/dbt_utils\n    version: \"<2.0.0\"\n");
  ::setenv("DBT_PACKAGE_HUB_URL", (hub_.url() + "/").c_str(), 1);  // dbt's form ends in a slash
  auto r = Runner()(dir.path(), "");
  ::unsetenv("DBT_PACKAGE_HUB_URL");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Names(*r), std::vector<std::string>{"dbt_utils@1.3.3"});
  EXPECT_EQ(Requests("/api/v1/dbt-labs/dbt_utils.json"), 1);
}

TEST_F(DepsHub, UnknownPackageSaysSo) {
  TempDir dir;
  WriteProject(dir.path(), "packages:\n  - package: dbt-labs/no_such_package\n    version: 1.0.0\n");
  auto r = Runner()(dir.path(), hub_.url());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
  EXPECT_NE(r.status().message().find(dir.Sub("packages.yml") +
                                      ":2:5: packages[0]: package dbt-labs/no_such_package was not found on the "
                                      "package hub"),
            std::string::npos)
      << r.status().message();
  EXPECT_FALSE(fs::exists(dir.Sub("dbt_packages")));  // created by the run, removed when it failed
}

TEST_F(DepsHub, TheProjectsOwnEntryWinsOverADependencysOtherSource) {
  TempDir dir;
  fs::create_directories(dir.Sub("my_utils/macros"));
  WriteText(dir.Sub("my_utils/dbt_project.yml"), "name: dbt_utils\n");
  WriteText(dir.Sub("my_utils/macros/star.sql"), "{% macro star() %}*{% endmacro %}\n");
  fs::create_directories(dir.Sub("proj"));
  WriteProject(dir.Sub("proj"), R"(packages:
  - local: ../my_utils
  - package: dbt-labs/audit_helper
    version: 0.12.2
)");
  Runner run;
  auto r = run(dir.Sub("proj"), hub_.url());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Names(*r), (std::vector<std::string>{"dbt_utils@", "audit_helper@0.12.2"}));
  EXPECT_TRUE(fs::is_symlink(dir.Sub("proj/dbt_packages/dbt_utils")));
  EXPECT_EQ(fs::read_symlink(dir.Sub("proj/dbt_packages/dbt_utils")).string(), dir.Sub("my_utils"));
  EXPECT_EQ(Requests("/api/v1/dbt-labs/dbt_utils.json"), 0);
  ASSERT_EQ(run.warnings.size(), 1u);
  EXPECT_NE(run.warnings[0].find("dbt-labs/audit_helper 0.12.2 asks for dbt_utils as hub package dbt-labs/dbt_utils; "
                                 "the project's own local entry ../my_utils"),
            std::string::npos)
      << run.warnings[0];
}

TEST_F(DepsHub, DependenciesYmlTarballAndLocalPackagesBringTheirOwnDependencies) {
  TempDir dir;
  fs::create_directories(dir.Sub("my_pkg"));
  WriteText(dir.Sub("my_pkg/dbt_project.yml"), "name: my_pkg\n");
  WriteText(dir.Sub("my_pkg/packages.yml"), "packages:\n  - package: calogica/dbt_date\n    version: \">=0.9.0\"\n");
  fs::create_directories(dir.Sub("proj"));
  WriteProject(dir.Sub("proj"), "");
  const std::string tarball = hub_.url() + "/tarballs/audit_helper-0.12.2.tar.gz";
  WriteText(dir.Sub("proj/dependencies.yml"),
            "projects:\n  - name: other_team\npackages:\n  - local: ../my_pkg\n"
            "  - tarball: " +
                tarball + "\n    name: audit_helper\n");
  Runner run;
  auto r = run(dir.Sub("proj"), hub_.url());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // my_pkg asks for dbt_date; the tarball's own packages.yml (audit_helper's) for dbt_utils.
  EXPECT_EQ(Names(*r), (std::vector<std::string>{"my_pkg@", "audit_helper@", "dbt_date@0.17.1", "dbt_utils@1.3.3"}));
  EXPECT_TRUE(fs::exists(dir.Sub("proj/dbt_packages/audit_helper/macros/compare_relations.sql")));
  EXPECT_NE(Slurp(dir.Sub("proj/package-lock.yml"))
                .find("  - name: audit_helper\n    tarball: " + tarball + "\n  - name: dbt_date\n"),
            std::string::npos)
      << Slurp(dir.Sub("proj/package-lock.yml"));
  r = run(dir.Sub("proj"), ClosedUrl());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->up_to_date);

  WriteText(dir.Sub("proj/packages.yml"), "packages:\n  - local: ../my_pkg\n");
  r = run(dir.Sub("proj"), ClosedUrl());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("list packages; keep them in one of the two"), std::string::npos)
      << r.status().message();
}

// A repository with sub/ holding package git_pkg: tag v1.0 says "v1", the branch head "v2".
std::string MakeRepo(const TempDir& dir) {
  const std::string repo = dir.Sub("repo");
  fs::create_directories(repo + "/sub/macros");
  Must({"git", "init", "--quiet", repo});
  WriteText(repo + "/sub/dbt_project.yml", "name: git_pkg\n");
  WriteText(repo + "/sub/macros/m.sql", "v1");
  WriteText(repo + "/README.md", "not a package");
  GitIn(repo, {"add", "-A"});
  GitIn(repo, {"commit", "--quiet", "-m", "one"});
  GitIn(repo, {"tag", "v1.0"});
  WriteText(repo + "/sub/macros/m.sql", "v2");
  GitIn(repo, {"commit", "--quiet", "-am", "two"});
  return repo;
}

TEST(DepsSources, LocalAndGitPackagesAreInstalledAndLocked) {
  TempDir dir;
  const std::string repo = MakeRepo(dir);
  const std::string sha = GitIn(repo, {"rev-parse", "v1.0^{commit}"});
  fs::create_directories(dir.Sub("local_pkg"));
  WriteText(dir.Sub("local_pkg/dbt_project.yml"), "name: local_pkg\n");
  fs::create_directories(dir.Sub("proj/dbt_packages/old_pkg"));
  WriteText(dir.Sub("proj/dbt_packages/old_pkg/x.sql"), "select 1");
  WriteProject(dir.Sub("proj"), "packages:\n  - local: ../local_pkg\n  - git: \"file://" + repo +
                                    "\"\n    revision: v1.0\n    subdirectory: sub\n");
  Runner run;
  auto r = run(dir.Sub("proj"), ClosedUrl());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Names(*r), (std::vector<std::string>{"local_pkg@", "git_pkg@" + sha}));
  const std::string pk = dir.Sub("proj/dbt_packages");
  EXPECT_TRUE(fs::is_symlink(pk + "/local_pkg"));
  EXPECT_EQ(fs::read_symlink(pk + "/local_pkg").string(), dir.Sub("local_pkg"));
  EXPECT_EQ(Slurp(pk + "/git_pkg/macros/m.sql"), "v1");  // the tag, not the branch head
  EXPECT_FALSE(fs::exists(pk + "/git_pkg/.git"));
  EXPECT_FALSE(fs::exists(pk + "/git_pkg/README.md"));  // only the subdirectory
  EXPECT_FALSE(fs::exists(pk + "/old_pkg"));            // no longer listed
  EXPECT_EQ(r->removed, std::vector<std::string>{pk + "/old_pkg"});

  // The hash: sha1 of the specs, sorted, one per line; worked out here with sha1sum.
  WriteText(
      dir.Sub("specs.txt"),
      "{\"git\":\"file://" + repo + "\",\"revision\":\"v1.0\",\"subdirectory\":\"sub\"}\n{\"local\":\"../local_pkg\"}");
  const std::string hash = Must({"sha1sum", dir.Sub("specs.txt")}).substr(0, 40);
  EXPECT_EQ(Slurp(dir.Sub("proj/package-lock.yml")),
            "packages:\n  - local: ../local_pkg\n    name: local_pkg\n"
            "  - git: file://" +
                repo + "\n    name: git_pkg\n    revision: " + sha + "\n    subdirectory: sub\nsha1_hash: " + hash +
                "\n");

  // Installed as locked: a second run needs neither the repository nor the hub.
  fs::rename(repo, dir.Sub("repo-away"));
  r = run(dir.Sub("proj"), ClosedUrl());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->up_to_date);
  // Without the installed copy, the lock's sha is what gets cloned.
  fs::rename(dir.Sub("repo-away"), repo);
  fs::remove_all(pk + "/git_pkg");
  r = run(dir.Sub("proj"), ClosedUrl());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->resolved);
  EXPECT_EQ(Slurp(pk + "/git_pkg/macros/m.sql"), "v1");
}

TEST(DepsSources, GitFailuresShowGitsMessage) {
  TempDir dir;
  const std::string repo = MakeRepo(dir);
  WriteProject(dir.path(), "packages:\n  - git: \"" + repo + "\"\n    revision: no-such-tag\n    subdirectory: sub\n");
  auto r = Runner()(dir.path(), ClosedUrl());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("packages.yml:2:5: packages[0]: revision 'no-such-tag' is not a branch, tag "
                                      "or commit of " +
                                      repo),
            std::string::npos)
      << r.status().message();
  WriteProject(dir.path(), "packages:\n  - git: \"" + dir.Sub("nothing-here") + "\"\n");
  r = Runner()(dir.path(), ClosedUrl());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("git clone " + dir.Sub("nothing-here") + " failed (exit code 128):\nfatal: "),
            std::string::npos)
      << r.status().message();
  EXPECT_FALSE(fs::exists(dir.Sub("dbt_packages/git_pkg")));
}

TEST(DepsSources, EnvVarsRenderAndSecretsStayOutOfTheLockAndMessages) {
  TempDir dir;
  const std::string repo = MakeRepo(dir);
  ::setenv("DBT_ENV_SECRET_STRATA_TEST_REPO", repo.c_str(), 1);
  ::unsetenv("STRATA_TEST_DEPS_REVISION");
  fs::create_directories(dir.Sub("proj"));
  WriteProject(dir.Sub("proj"), R"(packages:
  - git: "file://{{ env_var('DBT_ENV_SECRET_STRATA_TEST_REPO') }}"
    revision: "{{ env_var('STRATA_TEST_DEPS_REVISION', 'v1.0') }}"
    subdirectory: sub
)");
  Runner run;
  auto r = run(dir.Sub("proj"), ClosedUrl());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Slurp(dir.Sub("proj/dbt_packages/git_pkg/macros/m.sql")), "v1");
  const std::string lock = Slurp(dir.Sub("proj/package-lock.yml"));
  EXPECT_NE(lock.find("  - git: \"file://{{ env_var('DBT_ENV_SECRET_STRATA_TEST_REPO') }}\"\n"), std::string::npos)
      << lock;
  EXPECT_EQ(lock.find(repo), std::string::npos) << lock;
  EXPECT_EQ(run.log.find(repo), std::string::npos) << run.log;
  EXPECT_EQ(r->packages.at(0).id, "file://{{ env_var('DBT_ENV_SECRET_STRATA_TEST_REPO') }}");
  // The lock renders too: a second run is a no-op.
  r = run(dir.Sub("proj"), ClosedUrl());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->up_to_date);

  WriteProject(dir.Sub("proj"), "packages:\n  - git: \"{{ env_var('STRATA_TEST_DEPS_UNSET') }}\"\n");
  ::unsetenv("STRATA_TEST_DEPS_UNSET");
  r = run(dir.Sub("proj"), ClosedUrl());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(dir.Sub("proj/packages.yml") +
                                      ":2:10: packages[0].git: env var required but not provided: "
                                      "'STRATA_TEST_DEPS_UNSET'"),
            std::string::npos)
      << r.status().message();
  WriteProject(dir.Sub("proj"), "packages:\n  - git: \"{{ var('x') }}\"\n");
  r = run(dir.Sub("proj"), ClosedUrl());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("renders only {{ env_var('NAME') }}"), std::string::npos) << r.status().message();
  ::unsetenv("DBT_ENV_SECRET_STRATA_TEST_REPO");
}

TEST(DepsSpec, BadEntriesNameFileAndLine) {
  TempDir dir;
  const std::string file = dir.Sub("packages.yml");
  struct Case {
    std::string yml, expected;
  } cases[] = {
      {"packages:\n  - package: dbt-labs/dbt_utils\n    versoin: 1.3.3\n",
       file + ":3:5: packages[0].versoin: unknown key 'versoin' (did you mean 'version'?)"},
      {"packages:\n  - package: dbt-labs/dbt_utils\n",
       file + ":2:5: packages[0]: dbt-labs/dbt_utils is missing the version. When installing from the Hub package "
              "index, version is a required property"},
      {"packages:\n  - package: dbt-labs/dbt_utils\n    version: [\">=1.0.0\", \"about 2\"]\n",
       file + ":3:26: packages[0].version[1]: 'about 2' is not a version range"},
      {"packages:\n  - package: dbt_utils\n    version: 1.0.0\n",
       file + ":2:14: packages[0].package: a hub package is named org/name"},
      {"packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.0.0\n    git: https://example.com/x.git\n",
       file + ":2:5: packages[0]: a package needs exactly one of package, git, local or tarball"},
      {"packages:\n  - local: ../x\npackages_extra: 1\n", file + ":3:1: packages_extra: unknown key"},
  };
  for (const auto& c : cases) {
    WriteProject(dir.path(), c.yml);
    auto r = Runner()(dir.path(), ClosedUrl());
    ASSERT_FALSE(r.ok()) << c.yml;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << c.yml;
    EXPECT_NE(r.status().message().find(c.expected), std::string::npos) << r.status().message();
    EXPECT_FALSE(fs::exists(dir.Sub("dbt_packages"))) << c.yml;
  }
}

TEST(DepsSpec, InstallPathFromTheProjectAndNeverTheProjectItself) {
  TempDir dir;
  fs::create_directories(dir.Sub("pkg"));
  WriteText(dir.Sub("pkg/dbt_project.yml"), "name: pkg\n");
  fs::create_directories(dir.Sub("proj"));
  WriteProject(dir.Sub("proj"), "packages:\n  - local: ../pkg\n", "packages-install-path: vendor/packages\n");
  auto r = Runner()(dir.Sub("proj"), ClosedUrl());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(fs::is_symlink(dir.Sub("proj/vendor/packages/pkg")));
  EXPECT_EQ(r->install_path, dir.Sub("proj/vendor/packages"));

  WriteProject(dir.Sub("proj"), "packages:\n  - local: ../pkg\n", "packages-install-path: .\n");
  r = Runner()(dir.Sub("proj"), ClosedUrl());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("must not be the project folder or hold it"), std::string::npos)
      << r.status().message();
  EXPECT_TRUE(fs::exists(dir.Sub("proj/dbt_project.yml")));
}

TEST(DepsVersions, PickHighestAllowedWithDbtsPrereleaseRule) {
  const std::vector<std::string> utils = {"0.9.6", "1.3.3", "2.0.0"};
  EXPECT_EQ(*PickVersion({">=0.9.0", "<2.0.0"}, utils), "1.3.3");
  EXPECT_EQ(*PickVersion({">=0.9.0,<2.0.0"}, utils), "1.3.3");
  EXPECT_EQ(*PickVersion({"0.9.6"}, utils), "0.9.6");
  EXPECT_EQ(*PickVersion({"=2.0.0"}, utils), "2.0.0");
  EXPECT_EQ(*PickVersion({">1.3.3"}, utils), "2.0.0");
  EXPECT_EQ(*PickVersion({"<=1.3.3"}, utils), "1.3.3");
  EXPECT_EQ(*PickVersion({">=3.0.0"}, utils), "");  // satisfiable, but nothing published
  EXPECT_EQ(*PickVersion({"<2"}, utils), "1.3.3");
  EXPECT_FALSE(PickVersion({">=2.0.0", "<1.0.0"}, utils).ok());
  EXPECT_FALSE(PickVersion({"2.0.0", "<2.0.0"}, utils).ok());
  EXPECT_FALSE(PickVersion({">1.0.0", "<=1.0.0"}, utils).ok());
  EXPECT_TRUE(PickVersion({">=1.0.0", "<=1.0.0"}, utils).ok());
  EXPECT_FALSE(PickVersion({"about 2"}, utils).ok());

  const std::vector<std::string> pre = {"0.9.0", "1.0.0-rc.2", "1.0.0-rc.10", "1.1.0-b1"};
  EXPECT_EQ(*PickVersion({">=0.9.0"}, pre), "0.9.0");          // prereleases only when asked
  EXPECT_EQ(*PickVersion({"1.0.0-rc.2"}, pre), "1.0.0-rc.2");  // pinned exactly
  EXPECT_EQ(*PickVersion({">=0.9.0"}, pre, /*prerelease=*/true), "1.1.0-b1");
  EXPECT_EQ(*PickVersion({"<1.0.0"}, pre, true), "1.0.0-rc.10");  // rc.10 > rc.2 < 1.0.0
}

}  // namespace
}  // namespace strata::transform
