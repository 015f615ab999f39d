// What dashboards read: the newest publication of the project's published schema (ADR 0012).
//
// With a DuckDB warehouse it is the serving copy CURRENT names (warehouse/serving_copy.h),
// opened read-only with no access to other files; a new copy is picked up on the next
// request. With PostgreSQL it is the published schema on the server, read in read-only
// transactions. Either way queries run on a bounded set of connections, with a row limit and
// a statement timeout, and can be cancelled.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "core/cancel.h"
#include "core/project.h"
#include "core/status.h"
#include "db/query_result.h"
#include "serve/card_sql.h"

namespace strata::duck {
class Database;
}
namespace strata::pg {
struct ConnectOptions;
}

namespace strata::serve {

struct QueryLimits {
  int64_t max_rows = 10000;  // more rows: the result says it is truncated
  int timeout_ms = 30000;
};

struct QueryOutput {
  sql::QueryResult result;
  bool truncated = false;
  double seconds = 0;
};

class Publication {
 public:
  virtual ~Publication() = default;
  // A database made in memory (the system tables), read like a publication: each query runs
  // in a transaction that is rolled back, so nothing a query does stays.
  static std::shared_ptr<Publication> InMemory(std::unique_ptr<duck::Database> db, std::string version,
                                               std::string schema, std::map<std::string, std::string> fingerprints,
                                               int connections);
  // Changes with every publication ("7" for the 7th serving copy).
  const std::string& version() const { return version_; }
  // The published relation of a model, quoted ("analytics"."fact_orders"); "" when the
  // publication has no such relation.
  std::string Relation(const std::string& model) const;
  // Changes exactly when the relation's rows change ("" when not published).
  std::string Fingerprint(const std::string& model) const;
  const std::map<std::string, std::string>& fingerprints() const { return fingerprints_; }
  const std::string& schema() const { return schema_; }

  // Runs one read-only statement. Waits for a free connection; `cancel` (may be null) stops
  // the query, as does the timeout (kAborted).
  virtual Result<QueryOutput> Run(const BoundQuery& q, const QueryLimits& limits, CancelToken* cancel) = 0;

 protected:
  std::string version_;
  std::string schema_;
  std::map<std::string, std::string> fingerprints_;  // relation -> fingerprint
};

class Publications {
 public:
  virtual ~Publications() = default;
  // The project's publications: its PostgreSQL publish target or warehouse when it has one,
  // else its DuckDB serving copies. `schema` is the published schema.
  static Result<std::unique_ptr<Publications>> ForProject(const Project& project, const std::string& schema,
                                                          int connections);
  // The published schema on a PostgreSQL server, read in READ ONLY transactions.
  static std::unique_ptr<Publications> Postgres(const pg::ConnectOptions& options, const std::string& schema,
                                                int connections);
  // The serving copies in `dir` (tests).
  static std::unique_ptr<Publications> ServingCopies(const std::string& dir, const std::string& schema,
                                                     int connections);

  // The newest publication; nullptr while nothing is published. Cheap: one stat per call.
  virtual Result<std::shared_ptr<Publication>> Current() = 0;
  // Where it reads, for messages ("serving copies in .strata/published").
  virtual std::string Describe() const = 0;
};

}  // namespace strata::serve
