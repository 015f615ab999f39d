// The operational side of one simulated day: which rows are created and changed.
//
// World is the cross-day state the database determines (loaded from shop.db when a simulation
// is resumed); PlanDay turns (world, state, day index) into a DayPlan and updates the world.
// Nothing here touches files: ShopDb applies a plan, EventGenerator derives the clickstream.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/internal/sim_state.h"

namespace strata::sim::internal {

inline constexpr uint8_t kNull8 = 0xff;  // "NULL" for small enum columns

// Random stream identifiers (the `a` of Rng::For(seed, a, b)).
enum Stream : uint64_t {
  kStreamProducts = 1,
  kStreamProductChanges = 2,
  kStreamCustomers = 3,
  kStreamSegments = 4,
  kStreamOrders = 5,
  kStreamLifecycle = 6,
  kStreamEvents = 7,
  kStreamDirt = 8,
  kStreamEventIds = 9,
  kStreamSessionIds = 10,
};

enum OrderStatus : uint8_t { kPlaced, kShipped, kDelivered, kCancelled, kReturned };
const char* OrderStatusName(uint8_t status);

struct CustomerRec {
  uint8_t segment = 0;
  uint8_t country = kNull8;
};
struct ProductRec {
  int64_t price_cents = 0;
  bool active = true;
};

struct World {
  std::vector<CustomerRec> customers;  // customer_id - 1
  std::vector<ProductRec> products;    // product_id - 1
};

struct NewProduct {
  int64_t id;
  std::string sku, name, brand;  // brand empty = NULL
  uint8_t category;
  int64_t price_cents;
  int64_t created;  // epoch seconds
};
struct ProductChange {
  int64_t id;
  int64_t ts;
  int64_t new_price_cents;  // < 0: no price change
  bool deactivate;
};
struct NewCustomer {
  int64_t id;
  std::string email, first_name, last_name;  // empty names = NULL
  uint8_t country;                           // kNull8 = NULL (city NULL too)
  uint8_t city;
  uint8_t segment;
  int64_t created;
};
struct SegmentChange {
  int64_t id;
  uint8_t segment;
  int64_t ts;
};
struct NewOrder {
  int64_t id;
  int64_t customer_id;
  int64_t total_cents;
  uint8_t payment;           // kNull8 = NULL
  uint8_t shipping_country;  // kNull8 = NULL
  int64_t placed;
  int32_t first_item;  // index into DayPlan::items
  int32_t num_items;
};
struct NewItem {
  int64_t id;
  int64_t order_id;
  int64_t product_id;
  int32_t quantity;
  int64_t unit_price_cents;
  int64_t discount_cents;
};
struct StatusChange {
  int64_t order_id;
  uint8_t status;
  int64_t ts;
};

struct DayPlan {
  int64_t day = 0;  // index
  Date date;
  int64_t customers_at_start = 0;        // customers that existed before this day
  std::vector<int64_t> active_at_start;  // ids of products active at the start of the day
  std::vector<NewProduct> products;
  std::vector<ProductChange> product_changes;  // by time
  std::vector<NewCustomer> customers;          // by id (= by created time)
  std::vector<SegmentChange> segment_changes;  // by customer id
  std::vector<NewOrder> orders;                // by id (= by placed time)
  std::vector<NewItem> items;                  // by id
  std::vector<StatusChange> status_changes;    // by order id
};

// quota for day index `day` of a total `total` per 30 days.
int64_t DayQuota(int64_t total, int64_t day);
// round(x * scale) totals per 30 days.
int64_t TotalFor(double per_30_days_at_scale_1, double scale);
int64_t ProductCount(double scale);

// A status transition of an order, due on `day` (index) at second `sec` of that day.
struct Transition {
  int64_t day;
  uint8_t status;
  int32_t sec;
};
// An order's whole lifecycle after placement (1 to 3 transitions), derived from its id alone.
int PlanOrderLifecycle(uint64_t seed, int64_t order_id, int64_t placed_day, Transition out[3]);
// The longest time (days) between placement and the last transition.
inline constexpr int64_t kLifecycleHorizonDays = 3 + 5 + 14;

// Plans day `state.days_simulated`; updates `world` (new rows, prices, segments, activity) and
// the id counters of `state` (next ids, day_first_order_id).
DayPlan PlanDay(World* world, SimState* state);

}  // namespace strata::sim::internal
