// Strata's own tables, for the data-health dashboard: `{{ strata('runs') }}` in card SQL.
//
//   runs          one row per pipeline run: state, trigger, attempt, start, end, seconds
//   task_runs     one row per task of each run (its latest attempt)
//   test_results  every test and audit check of each run's build and publish tasks, with
//                 its status (pass, fail, warn, error, skipped) and failing rows
//   lake_batches  every batch landed in the lake: source, table, logical date, commit time,
//                 records received, landed and quarantined, files and bytes
//
// They are read from the run history (runs.db, which allows readers beside the writing
// pipeline) and the lake's manifests, never from the warehouse, so a failed run shows even
// though it published nothing. They are rebuilt in memory when either changes (looked at
// most every `refresh_ms`), and queried in transactions that are rolled back.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "core/project.h"
#include "serve/publication.h"

namespace strata::serve {

class SystemTables {
 public:
  SystemTables(const Project& project, int connections, int refresh_ms = 2000);
  ~SystemTables();
  // The tables as of now (rebuilt if the history or the lake changed).
  Result<std::shared_ptr<Publication>> Current();

 private:
  struct Sources;
  Project project_;
  int connections_;
  int refresh_ms_;
  std::mutex mu_;
  std::unique_ptr<Sources> sources_;
  std::shared_ptr<Publication> current_;
  std::string stamp_;
  int64_t checked_ms_ = 0;
  int64_t version_ = 0;
};

}  // namespace strata::serve
