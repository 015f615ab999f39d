// Write-audit-publish: promotes audited relations to the schema that users and dashboards
// read.
//
// The project builds into its own schemas as usual; those are the staging area ("write").
// Publish then runs every test of the selected relations there ("audit"; unit tests are
// left out: they do not look at the data) and, only when no error-severity test failed or
// errored, copies each selected relation into the published schema in ONE transaction
// ("publish"): readers of the published schema see the previous version or the new one,
// never a mix. A blocked publish changes nothing and names the tests that blocked it;
// warn-severity failures publish and are reported. Each publication is recorded in
// <schema>._strata_publications (relation, rows, run, logical date, time). With a PostgreSQL
// publish target, the published schema is on that server (see PublishOptions::postgres).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "core/status.h"
#include "transform/loader.h"
#include "transform/runner.h"
#include "transform/selector.h"
#include "warehouse/session.h"

namespace strata::transform {

struct PublishOptions;

// An audit that must pass before anything is published. Each check it runs is reported as a
// NodeResult: `fail`, `error` and `skipped` block the publish, `warn` is reported and
// publishes. The dbt tests of the selected relations are the built-in gate; quality suites
// join as further gates.
class PublishGate {
 public:
  virtual ~PublishGate() = default;
  virtual std::string name() const = 0;
  virtual Result<std::vector<NodeResult>> Audit(const LoadedProject& project, warehouse::Engine* db,
                                                const PublishOptions& options) = 0;
};

// Every test of the selected relations, run on the data just built.
std::unique_ptr<PublishGate> DbtTestsGate();

struct PublishOptions {
  SelectOptions selection;           // what to publish: models, seeds, snapshots (not ephemeral)
  std::string schema = "analytics";  // the published schema
  bool audit = true;                 // run the gates first (false: publish unaudited)
  // The gates, in order; empty: DbtTestsGate() alone. Not owned.
  std::vector<PublishGate*> gates;
  // Recorded with each publication. A logical date older than the newest one published in
  // `schema` publishes nothing (see PublishReport::superseded_by).
  std::string run_id, logical_date;
  CancelToken* cancel = nullptr;
  std::function<void(const NodeResult&)> on_result;  // each audit test as it finishes

  // The lakehouse mode: publish to this PostgreSQL server instead of inside the warehouse
  // (which must then be DuckDB). Each relation streams over binary COPY into a fresh table,
  // gets its indexes (the model's `indexes` config, as dbt-postgres's, and one per column
  // with a `unique` test) and comments (from descriptions) and is analyzed; then all are
  // swapped in under their names and the transaction commits. Until that commit readers
  // see the previous version, and a failure anywhere (the server lost mid-copy included)
  // leaves it as it was.
  const pg::ConnectOptions* postgres = nullptr;
  // Inside a DuckDB warehouse: after the commit, the published schema is also written as a
  // serving copy in this folder, for `strata serve` (warehouse/serving_copy.h). "" = none.
  std::string serving_dir;
  // Called after each relation is copied to PostgreSQL, before the swap (for tests).
  std::function<void(const std::string& relation)> on_copied;
};

struct PublishedRelation {
  std::string unique_id;
  std::string from;  // the built relation
  std::string to;    // the published one
  int64_t rows = 0;
};

struct PublishReport {
  bool published = false;
  // A rerun of a past date does not move the published data back: when the schema already
  // holds a publication of a later logical date, nothing is audited or published and this
  // names that date (`published` is false, `blocking` empty).
  std::string superseded_by;
  std::vector<NodeResult> blocking;  // error-severity tests that failed, or errored
  std::vector<NodeResult> warnings;  // warn-severity failures (published anyway)
  int audited = 0;                   // tests run
  std::vector<PublishedRelation> relations;
  std::string serving_copy;  // the serving copy written, if any
  // "published 4 relations (12,345 rows); 1 warning" or "blocked by 2 failing checks: ...".
  std::string Summary() const;
};

// Audits then publishes. An error (kInvalidArgument: nothing selected, a selected relation
// not built yet; kAborted: cancelled; others: the warehouse) leaves the published schema
// as it was. A blocked publish is not an error: check `published`. When the publication
// committed but its serving copy could not be written, the error says so; publishing again
// writes it.
Result<PublishReport> Publish(const LoadedProject& project, warehouse::Engine* db, const PublishOptions& options);

}  // namespace strata::transform
