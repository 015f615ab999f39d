// strata: one program for the whole analytics platform. Sub-commands register themselves
// (see commands.h); this file only wires them up.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string>

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
  strata::cli::RegisterCollectCommand(&app);
  strata::cli::RegisterTransformCommands(&app);
  strata::cli::RegisterDbtVerbs(&app);
  strata::cli::RegisterServeCommand(&app);
  strata::cli::RegisterQualityCommands(&app);
  strata::cli::RegisterDepsCommand(&app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // An unknown command: say which exist (CLI11 would only say that one is required).
    bool known = false;
    for (const CLI::App* sub : app.get_subcommands({})) known = known || (argc > 1 && sub->check_name(argv[1]));
    if (argc > 1 && argv[1][0] != '-' && !known) {
      std::string names, close;
      size_t best = 3;
      const std::string given = argv[1];
      for (const CLI::App* sub : app.get_subcommands({})) {
        const std::string& name = sub->get_name();
        names += (names.empty() ? "" : ", ") + name;
        // "did you mean": the name sharing the longest prefix with the one given (3 or more).
        size_t common = 0;
        while (common < name.size() && common < given.size() && name[common] == given[common]) ++common;
        if (common >= best) {
          best = common;
          close = name;
        }
      }
      std::fprintf(stderr, "error: unknown command '%s'%s\nstrata's commands: %s (strata COMMAND --help)\n",
                   given.c_str(), close.empty() ? "" : (" (did you mean " + close + "?)").c_str(), names.c_str());
      return strata::cli::kExitUsage;
    }
    const int code = app.exit(e);  // prints the message (or the help)
    // CLI11's own codes for bad flags (100 and up) become ours: 2, a usage error.
    return code >= 100 ? strata::cli::kExitUsage : code;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: internal error (a bug in strata): %s\n", e.what());
    return strata::cli::kExitFailure;
  }
  return 0;
}
