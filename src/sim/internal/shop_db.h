// ShopDb: the simulator's writer of <out>/shop.db (schema, loading the world, applying days).
#pragma once

#include <string>

#include "core/status.h"
#include "db/sqlite.h"
#include "sim/internal/day_plan.h"

namespace strata::sim::internal {

using db::SqliteDb;
using db::SqliteStmt;

class ShopDb {
 public:
  // Creates a new database with the four tables and their updated_at indexes, and the
  // simulator's own record of segments (sim_segment_changes, see shop_simulator.h).
  static Result<ShopDb> Create(const std::string& path);
  // Opens an existing database for writing. kCorruption if it has no segment record.
  static Result<ShopDb> Open(const std::string& path);

  // Days applied so far (PRAGMA user_version, committed with each day).
  Result<int64_t> DaysApplied();
  // Reads customers and products into `world` (which must be empty).
  Status LoadWorld(World* world);
  // Max ids, to check the state file against the database.
  Result<int64_t> MaxId(const char* table, const char* key);

  // Applies one day in a single transaction, which also sets user_version to plan.day + 1,
  // then fsyncs the file. (Transactions run with synchronous=OFF: a killed process leaves the
  // database consistent, a power loss in the middle of a day may not.)
  Status ApplyDay(const DayPlan& plan);

 private:
  Status Configure();
  Status PrepareStatements();
  // Appends (customer, segment, at) to sim_segment_changes (inside ApplyDay's transaction).
  Status RecordSegment(int64_t customer_id, uint8_t segment, const std::string& at);
  std::string path_;
  SqliteDb db_;
  SqliteStmt insert_product_, update_product_price_, deactivate_product_, insert_customer_, update_segment_,
      record_segment_, insert_order_, insert_item_, update_status_;
};

}  // namespace strata::sim::internal
