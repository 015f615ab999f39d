// ShopSimulator: a deterministic simulation of an e-commerce company's data sources.
//
// A simulation lives in one folder (`out_dir`) and consists of:
//   <out_dir>/shop.db          the operational database (SQLite): customers, products, orders,
//                              order_items, each with created_at/updated_at and an index on
//                              updated_at. Timestamps are TEXT 'YYYY-MM-DD HH:MM:SS' (UTC).
//                              Also sim_segment_changes(customer_id, segment, changed_at): the
//                              simulator's own record of segments, for tests only (strata.yml
//                              does not ingest it). One row per customer at creation (changed_at
//                              = created_at) and one per segment change (changed_at = the
//                              updated_at written with it), committed in the same transaction as
//                              the day's rows; a customer's last row holds customers.segment.
//   <out_dir>/events/          the clickstream drop folder: per simulated day, four files
//                              events-YYYY-MM-DD-NN.jsonl (NN = 00..03, one per 6-hour block of
//                              the day a line *arrives*), each written atomically, possibly empty.
//   <out_dir>/sim_state.json   options and cross-day state (late events not yet delivered, id
//                              counters), written atomically after each simulated day.
//   <out_dir>/.sim.lock        held while a simulation runs; a second writer gets kAborted.
//
// Determinism: each day's randomness is derived from (seed, day index) and the state at the
// start of the day, so the same options give byte-identical event files and identical tables,
// and Generate(days = 30) equals Generate(days = 10) followed by AdvanceTo(start + 29).
//
// Volumes: with T(x) = round(x * scale), over every 30 days exactly T(1000) customers, T(5000)
// orders, T(10000) order items and T(50000) clean events are created; products =
// round(200 * sqrt(scale)) (at least 1), all on day 0. Day index i of a total T gets
// floor(T*(i%30+1)/30) - floor(T*(i%30)/30). The item quota is clamped to [orders, 5 * orders]
// per day and a day's purchase sessions need at least one event per order, so the totals are
// exact whenever every day has some orders (scale >= ~0.01).
//
// Database details: money columns are NUMERIC(12,2) values rounded to cents (SQLite stores them
// as REAL, or INTEGER when the amount is whole); every updated_at lies within the simulated day
// of the change and created_at <= updated_at. Orders go placed -> shipped (1-3 days later) ->
// delivered (2-5 days after shipping) -> sometimes returned (within 14 days), or placed ->
// cancelled (1-2 days later); each transition happens on its day, also for older orders.
//
// Events: one JSON object per line, keys in the fixed order event_id, event_type, occurred_at,
// session_id, customer_id, product_id, order_id, quantity, revenue, page_url, referrer, device,
// user_agent, app_version (keys that do not apply are absent). Known types: page_view,
// product_view, add_to_cart, checkout_started, purchase. Each order has a session of its
// customer ending in a purchase event (order_id, revenue = order_total, occurred_at = placed_at).
// Dirt (counts = round(rate * the day's clean events)): duplicate lines (same bytes, same or later
// file), late lines (arrive 1-3 days after occurred_at), malformed lines, events missing some of
// customer_id (never on purchases), page_url, referrer, device, user_agent, events of unknown
// types (own event ids), and from schema_drift_day on an extra "app_version" field.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/date.h"
#include "core/status.h"

namespace strata::sim {

// Rates are fractions of a day's clean events.
struct DirtOptions {
  double duplicate_rate = 0.01;         // an emitted event re-emitted in the same or a later file
  double late_rate = 0.02;              // delivered 1-3 days after it happened
  double malformed_rate = 0.002;        // extra lines that are not valid JSON
  double missing_optional_rate = 0.05;  // events with some optional fields omitted
  double unknown_type_rate = 0.002;     // extra events whose event_type is not a known one
  int schema_drift_day = 10;            // 0-based day index from which events carry "app_version"; -1 = never
  static DirtOptions None();            // all rates 0, no drift
};

struct SimOptions {
  std::string out_dir;  // where the sources go
  uint64_t seed = 42;
  double scale = 1.0;  // > 0
  Date start = Date::FromYmd(2024, 1, 1);
  int days = 30;  // >= 1
  DirtOptions dirt;
};

// What happened on one or more simulated days.
struct SimCounts {
  int64_t customers = 0;  // rows created
  int64_t products = 0;
  int64_t orders = 0;
  int64_t order_items = 0;
  int64_t events = 0;           // clean events generated (each once, late ones included)
  int64_t status_changes = 0;   // order status transitions applied
  int64_t segment_changes = 0;  // customer segment changes
  int64_t price_changes = 0;    // product price changes
  int64_t deactivations = 0;    // products deactivated
  // Dirt.
  int64_t duplicate_lines = 0;
  int64_t late_events = 0;  // events of these days held back for a later day
  int64_t malformed_lines = 0;
  int64_t missing_optional_events = 0;
  int64_t unknown_type_events = 0;
  int64_t drifted_events = 0;  // events carrying app_version (clean + unknown type)
  // Files.
  int64_t lines_written = 0;   // lines written to these days' event files (all kinds)
  int64_t late_delivered = 0;  // lines of earlier days delivered in these days' files

  void Add(const SimCounts& other);
};

struct DaySummary {
  Date date;
  int day_index = 0;  // 0-based, from the simulation's start
  SimCounts counts;
};

struct SimSummary {
  std::string out_dir;
  std::vector<DaySummary> days;  // the days simulated by this call, in order; may be empty
  SimCounts total;               // sum over `days`
  Date first_date;               // first and last day simulated by this call (if any)
  Date last_date;
  int64_t days_in_simulation = 0;  // days simulated in out_dir so far, this call included
  int64_t pending_late_lines = 0;  // lines held for days not simulated yet

  // A JSON object with the fields above ("days" as an array, counts as objects).
  std::string ToJson() const;
  // A few human-readable lines: counts per table, events and dirt, date range, paths.
  std::string ToText() const;
};

class ShopSimulator {
 public:
  // Creates a new simulation of options.days days in options.out_dir (created if needed).
  // kAlreadyExists if out_dir already holds a simulation (shop.db, sim_state.json or events/);
  // kInvalidArgument for bad options. `summary` (may be null) receives what was simulated.
  static Status Generate(const SimOptions& options, SimSummary* summary);

  // Extends the simulation in out_dir with every day after its last simulated day up to and
  // including `through`, using the options recorded in its state. If `through` is already
  // simulated: OK and nothing done (summary->days empty). kNotFound if out_dir holds no
  // simulation; kInvalidArgument if `through` is before its start; kCorruption if the database
  // and the state file disagree (e.g. a run was killed between the two writes of a day) or the
  // database predates the segment record (sim_segment_changes).
  static Status AdvanceTo(const std::string& out_dir, Date through, SimSummary* summary);

  // File names inside out_dir.
  static std::string DbPath(const std::string& out_dir);
  static std::string EventsDir(const std::string& out_dir);
  static std::string StatePath(const std::string& out_dir);
  // "<events dir>/events-YYYY-MM-DD-NN.jsonl"
  static std::string EventsFilePath(const std::string& out_dir, Date day, int block);
};

}  // namespace strata::sim
