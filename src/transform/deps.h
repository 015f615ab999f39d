// Package installation: `strata deps`, dbt 1.7+'s package installer.
//
// Reads the `packages:` list of packages.yml (or dependencies.yml) in a dbt project and installs
// every package, with the packages they depend on, into dbt_packages/ (or dbt_project.yml's
// `packages-install-path`). Entries are hub packages (`package: org/name`, `version:` a range or
// a list of ranges, resolved through the package hub's JSON API), `git:` repositories (with
// `revision:` and `subdirectory:`, run through the `git` program), `local:` folders (symlinked,
// as dbt does) and `tarball:` URLs (with `name:`). String values may use
// `{{ env_var('NAME') }}` and `{{ env_var('NAME', 'default') }}`; values of DBT_ENV_SECRET_*
// variables never appear in messages, in the lock file or in its hash.
//
// The outcome is recorded in package-lock.yml beside packages.yml (dbt's format: the resolved
// packages and the sha1_hash of the packages spec). While the hash matches and `upgrade` is
// off, the lock is installed as it stands, without resolving; packages already installed as
// the lock says are left alone, so a second run touches no network. Every package is staged
// in a folder inside the install path and renamed into place only after all of them were
// fetched: a failed run leaves the previous install path (and lock) as they were. Folders of
// packages no longer listed are removed. Entries of the install path named `.strata-*` are
// Strata's (the run's lock file, staging folders, and `.strata-installed.json` inside each
// installed package).
//
// Not thread-safe; concurrent runs on one project wait for each other (a file lock).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/status.h"

namespace strata::transform {

struct DepsOptions {
  std::string project_dir = ".";  // the dbt project (folder with dbt_project.yml)
  // The package hub's base URL; "" = $DBT_PACKAGE_HUB_URL, else https://hub.getdbt.com.
  std::string hub_url;
  bool upgrade = false;                          // resolve again although the lock matches, and reinstall everything
  std::function<void(const std::string&)> log;   // progress lines for people (may be empty)
  std::function<void(const std::string&)> warn;  // warnings; empty = log("warning: ...")
};

struct InstalledPackage {
  std::string name;          // the package's project name: its folder in the install path
  std::string source;        // "hub", "git", "local" or "tarball"
  std::string id;            // org/name, the git or tarball URL, the local path (secrets unrendered)
  std::string version;       // hub: the version; git: the commit sha; otherwise ""
  std::string subdirectory;  // git only
  std::string path;          // where it is installed
  bool reused = false;       // was already installed as locked, and left alone
};

struct DepsResult {
  std::vector<InstalledPackage> packages;  // in resolution order: the project's entries first
  std::vector<std::string> removed;        // folders removed because no package needs them now
  std::vector<std::string> warnings;
  bool resolved = false;    // versions were resolved (no lock, a changed spec, or `upgrade`)
  bool up_to_date = false;  // nothing was fetched or changed
  std::string install_path;
  std::string lock_path;  // "" when the project lists no packages
};

// Installs the packages of `options.project_dir`. Errors name the file and line of a bad
// entry, the URL and HTTP status of a failed download, the package and every version range
// (with who asked for it) of an unsatisfiable requirement, git's own message when git fails.
Result<DepsResult> InstallPackages(const DepsOptions& options);

// The highest of `available` versions allowed by every range in `ranges` (">=1.0.0", "<2",
// "1.3.3", "=1.3.3"; a string may list several, comma-separated). Prereleases are considered
// only with `prerelease` or when a range names one. "" when none fits; an error for a range or
// set of ranges that cannot be satisfied by any version, or a range that does not parse.
Result<std::string> PickVersion(const std::vector<std::string>& ranges, const std::vector<std::string>& available,
                                bool prerelease = false);

}  // namespace strata::transform
