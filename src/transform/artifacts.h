// Artifacts: the files dbt writes to target/ for the tools that read them (dbt docs,
// state comparison, observability packages, catalogs), in dbt 1.8+'s schemas.
//
//   manifest.json     (manifest v12): every node, source, exposure, unit test, macro and docs
//                     block; disabled nodes apart; parent and child maps. Nodes compiled in
//                     the run carry their compiled code.
//   run_results.json  (run-results v6): one result per node run, with its worker thread,
//                     compile and execute timing, adapter response and compiled code.
//   sources.json      (sources v3): instead of run_results.json for `source freshness`.
//
// Both large files are written straight to text (JsonWriter): a 1,000-model project's manifest
// through a JSON DOM cost more than compiling it. Each file is replaced atomically, so a reader
// sees the previous version or the new one.
//
// A node's checksum is the SHA-256 of its file (a seed's: of its CSV), as dbt's state
// comparison reads it. What Strata does not know is written as dbt writes an absent value: macros a node calls
// (depends_on.macros lists only the test macros of generic tests), a docs block's file, YAML
// patch paths. Strata compiles and executes a node in one step: a run's `compile` timing is the
// instant the node started, its `execute` timing the whole node.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "core/status.h"
#include "transform/loader.h"
#include "transform/runner.h"

namespace strata::transform {

// What a command line adds to run_results.json beyond RunOptions: its other arguments, added
// to `args` (its `select` and `exclude` replace the runner's: `retry` records the invocation's
// selection, not the exact one it runs), and --warn-error, under which results that warned
// are written as failures.
struct ArtifactExtras {
  nlohmann::json args = nlohmann::json::object();
  bool warn_error = false;
};

// Writes target/manifest.json, and with `results` target/run_results.json (sources.json for
// the freshness verb) and each compiled node's SQL under target/compiled/ (compile) or
// target/run/ (other verbs). `results` may be null: the manifest alone. The two files are
// written concurrently; the first failure is returned.
Status WriteDbtArtifacts(const LoadedProject& project, const RunResults* results, const RunOptions& options,
                         const ArtifactExtras& extras = {});

// target/manifest.json. `results` (may be null) gives the compiled code of the nodes `verb`
// compiled.
Status WriteManifest(const LoadedProject& project, const RunResults* results, Verb verb, const std::string& target);

// target/run_results.json (or sources.json) and the compiled SQL files.
Status WriteRunResults(const LoadedProject& project, const RunResults& results, const RunOptions& options,
                       const std::string& target, const ArtifactExtras& extras = {});

// A node's checksum as the manifest records it, {name, checksum}: the SHA-256 of its file (a
// seed's: of its CSV, or {"path", path} past 1 MiB), which state:modified compares.
std::pair<std::string, std::string> NodeChecksum(const Node& node);

// "2024-05-01T12:34:56.123456Z": UTC, microseconds, as dbt's artifacts write times.
std::string IsoTimestamp(std::chrono::system_clock::time_point t);

}  // namespace strata::transform
