// strata: one program for the whole analytics platform. Sub-commands register themselves
// (see commands.h); this file only wires them up.
#include <CLI/CLI.hpp>

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
  strata::cli::RegisterTransformCommands(&app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return 0;
}
