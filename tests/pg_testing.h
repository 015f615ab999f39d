// Connection settings for the PostgreSQL test cluster (testing::Postgres()), for tests that
// talk to it through warehouse/postgres.h. Header-only: strata_testing itself does not link
// the warehouse library.
#pragma once

#include <string>

#include "db/postgres.h"
#include "testing.h"

namespace strata::testing {

// The cluster as user `strata`, in `dbname` ("" = the test database, strata_test).
inline pg::ConnectOptions PgOptions(const PgServer& server, const std::string& dbname = "") {
  pg::ConnectOptions o;
  o.host = server.host;
  o.port = server.port;
  o.user = server.user;
  o.password = server.password;
  o.dbname = dbname.empty() ? server.dbname : dbname;
  return o;
}

}  // namespace strata::testing
