// The `strata` command line: each family of sub-commands registers itself on the app.
// Commands are thin: they parse flags, call a module, and print (plain, progress or --json).
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"

namespace strata::cli {

// Exit codes shared by every command.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the work failed (bad data, source down, ...)
inline constexpr int kExitUsage = 2;    // bad flags or bad project file

// Strata's version, as `strata --version` prints it (main.cc) and `strata debug` reports it.
inline constexpr const char* kStrataVersion = "0.1.0";

// The most --threads a command accepts.
inline constexpr int kMaxThreads = 256;

class Output;
// Reports `s` (on stderr, and as {"ok": false, ...} with --json) and exits with `code`.
[[noreturn]] void Fail(Output& out, const Status& s, int code = kExitFailure);
// kExitUsage for bad input (invalid argument, not found), kExitFailure otherwise.
int UsageCode(const Status& s);

void RegisterSimCommands(CLI::App* app);        // strata sim, strata sim serve-api
void RegisterIngestCommands(CLI::App* app);     // strata ingest
void RegisterPipelineCommands(CLI::App* app);   // strata pipeline run | backfill
void RegisterRunCommands(CLI::App* app);        // strata runs [show], strata logs
void RegisterSchedulerCommand(CLI::App* app);   // strata scheduler
void RegisterWarehouseCommands(CLI::App* app);  // strata load, strata query
void RegisterLakeCommands(CLI::App* app);       // strata lake ls | verify | gc | quarantine-batch
void RegisterCollectCommand(CLI::App* app);     // strata collect: the HTTP event collector
void RegisterTransformCommands(CLI::App* app);  // compile, run, build, test, seed, snapshot, ls, retry
void RegisterDbtVerbs(CLI::App* app);           // debug, run-operation, show, parse, clean, init
void RegisterServeCommand(CLI::App* app);       // strata serve, dashboards validate, users
void RegisterQualityCommands(CLI::App* app);    // strata quality run | validate | profile | report | docs | types
void RegisterDepsCommand(CLI::App* app);        // strata deps: dbt packages into dbt_packages/

}  // namespace strata::cli
