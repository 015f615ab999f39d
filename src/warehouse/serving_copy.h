// Serving copies: what `strata serve` reads while pipelines write (ADR 0012).
//
// DuckDB lets one process write a database file, and while it does no other process can
// open that file, not even to read. Dashboards therefore cannot read a DuckDB warehouse
// while a pipeline runs. Instead, each publication into a DuckDB warehouse also writes the
// published schema into a new DuckDB file of its own, and then names that file in CURRENT
// (an atomic rename, as LevelDB's CURRENT names the live manifest):
//
//   <dir>/published-000007.duckdb   the publication, never changed once written
//   <dir>/CURRENT                   "published-000007.duckdb\n"
//
// A reader opens the file CURRENT names, read-only: it sees one publication whole, never a
// half-written one, and holds no lock a writer needs. A crash before CURRENT moves leaves the
// previous publication current (and a stray file the next copy removes).
//
// Each copy also holds `<schema>._strata_serving` (relation, row_count, fingerprint): an
// order-independent hash of each table's rows, so a reader can tell exactly which relations
// a new publication changed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/status.h"

namespace strata::duck {
class Connection;
}

namespace strata::warehouse {

struct ServingCopy {
  std::string file;     // the DuckDB file's path
  int64_t version = 0;  // 1, 2, ...: one per copy written in this folder
};

// Copies every table of `schema` in the database `conn` is connected to (which must not be
// in a transaction) into a new file in `dir`, then makes it CURRENT. Copies older than the
// previous one are deleted (a reader that still has one open keeps reading it). A failure
// leaves CURRENT as it was.
Result<ServingCopy> WriteServingCopy(duck::Connection* conn, const std::string& schema, const std::string& dir);

// The copy CURRENT names; nullopt when nothing was published there yet. A CURRENT that is
// malformed or names a missing file is kCorruption, naming it.
Result<std::optional<ServingCopy>> CurrentServingCopy(const std::string& dir);

}  // namespace strata::warehouse
