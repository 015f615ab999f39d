// strata: one program for the whole analytics platform. Sub-commands register themselves
// (see commands.h); this file only wires them up.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"strata: ingestion, lake, warehouse and transformation in one native program"};
  app.set_version_flag("--version", "strata 0.1.0");
  app.require_subcommand(1);
  strata::cli::RegisterSimCommands(&app);
  strata::cli::RegisterIngestCommands(&app);
  strata::cli::RegisterPipelineCommands(&app);
  strata::cli::RegisterRunCommands(&app);
  strata::cli::RegisterSchedulerCommand(&app);
  strata::cli::RegisterWarehouseCommands(&app);
  strata::cli::RegisterLakeCommands(&app);
  strata::cli::RegisterTransformCommands(&app);
  strata::cli::RegisterServeCommand(&app);
  strata::cli::RegisterQualityCommands(&app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints the message (or the help)
    // CLI11's own codes for bad flags (100 and up) become ours: 2, a usage error.
    return code >= 100 ? strata::cli::kExitUsage : code;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: internal error (a bug in strata): %s\n", e.what());
    return strata::cli::kExitFailure;
  }
  return 0;
}
