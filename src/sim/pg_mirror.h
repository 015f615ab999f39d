// The simulated operational database on a PostgreSQL server: `strata sim --postgres` keeps a
// PostgreSQL copy of shop.db's tables (customers, products, orders, order_items), so that
// the shop's `sql` source can read PostgreSQL (driver: postgres) instead of SQLite.
#pragma once

#include <string>

#include "core/status.h"
#include "db/postgres.h"

namespace strata::sim {

struct MirrorStats {
  int tables = 0;
  int64_t rows = 0;
};

// Makes `schema` on `pg` hold exactly the rows of the shop tables in the SQLite database at
// `shop_db`, with PostgreSQL types (bigint keys, numeric(12,2) money, timestamps) and
// primary keys. One transaction: readers see the previous state or the new one.
Result<MirrorStats> MirrorToPostgres(const std::string& shop_db, pg::Connection* pg, const std::string& schema);

}  // namespace strata::sim
