#include "sim/shop_simulator.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <system_error>
#include <thread>

#include "core/file.h"
#include "sim/internal/day_plan.h"
#include "sim/internal/event_generator.h"
#include "sim/internal/shop_db.h"
#include "sim/internal/sim_state.h"

namespace strata::sim {
namespace {

using internal::DayPlan;
using internal::ShopDb;
using internal::SimState;
using internal::World;

constexpr int64_t kMaxDaysPerCall = 36500;

Status ValidateDirt(const DirtOptions& d) {
  const std::pair<const char*, double> rates[] = {{"duplicate_rate", d.duplicate_rate},
                                                  {"late_rate", d.late_rate},
                                                  {"malformed_rate", d.malformed_rate},
                                                  {"missing_optional_rate", d.missing_optional_rate},
                                                  {"unknown_type_rate", d.unknown_type_rate}};
  for (const auto& [name, rate] : rates) {
    if (!std::isfinite(rate) || rate < 0 || rate > 1) {
      return Status::InvalidArgument(std::string(name) + " must be between 0 and 1");
    }
  }
  if (d.schema_drift_day < -1) {
    return Status::InvalidArgument("schema_drift_day must be a day index >= 0, or -1 for never");
  }
  return Status::OK();
}

Status ValidateOptions(const SimOptions& o) {
  if (o.out_dir.empty()) return Status::InvalidArgument("an output folder is required");
  if (!std::isfinite(o.scale) || o.scale <= 0 || o.scale > 100000) {
    return Status::InvalidArgument("scale must be > 0 and <= 100000");
  }
  if (o.days < 1 || o.days > kMaxDaysPerCall) {
    return Status::InvalidArgument("days must be between 1 and " + std::to_string(kMaxDaysPerCall));
  }
  return ValidateDirt(o.dirt);
}

Status SaveState(const std::string& out_dir, const SimState& state) {
  return WriteFileAtomic(ShopSimulator::StatePath(out_dir), state.ToJson());
}

// Simulates days state->days_simulated .. last_day (inclusive), persisting each day: the event
// files and the database transaction (concurrently: they only read the day's plan), then the
// state file. A crash before the state file is written leaves the database ahead of the state,
// which AdvanceTo detects.
Status RunDays(const std::string& out_dir, ShopDb* db, World* world, SimState* state, int64_t last_day,
               SimSummary* summary) {
  internal::DayEvents events;
  while (state->days_simulated <= last_day) {
    const DayPlan plan = internal::PlanDay(world, state);
    Status db_status;
    std::thread db_writer([&] { db_status = db->ApplyDay(plan); });
    internal::GenerateDayEvents(plan, state, &events);
    Status files_status;
    for (int block = 0; block < 4 && files_status.ok(); ++block) {
      files_status = WriteFileAtomic(ShopSimulator::EventsFilePath(out_dir, plan.date, block), events.files[block]);
    }
    db_writer.join();
    STRATA_RETURN_IF_ERROR(files_status);
    STRATA_RETURN_IF_ERROR(db_status);
    state->days_simulated = plan.day + 1;
    STRATA_RETURN_IF_ERROR(SaveState(out_dir, *state));

    DaySummary day;
    day.date = plan.date;
    day.day_index = static_cast<int>(plan.day);
    day.counts = events.counts;
    day.counts.customers = static_cast<int64_t>(plan.customers.size());
    day.counts.products = static_cast<int64_t>(plan.products.size());
    day.counts.orders = static_cast<int64_t>(plan.orders.size());
    day.counts.order_items = static_cast<int64_t>(plan.items.size());
    day.counts.status_changes = static_cast<int64_t>(plan.status_changes.size());
    day.counts.segment_changes = static_cast<int64_t>(plan.segment_changes.size());
    for (const auto& ch : plan.product_changes) {
      if (ch.new_price_cents >= 0) ++day.counts.price_changes;
      if (ch.deactivate) ++day.counts.deactivations;
    }
    if (summary != nullptr) {
      if (summary->days.empty()) summary->first_date = plan.date;
      summary->last_date = plan.date;
      summary->total.Add(day.counts);
      summary->days.push_back(day);
    }
  }
  if (summary != nullptr) {
    summary->days_in_simulation = state->days_simulated;
    summary->pending_late_lines = static_cast<int64_t>(state->pending.size());
  }
  return Status::OK();
}

Result<FileLock> LockSimulation(const std::string& out_dir) {
  Result<FileLock> lock = FileLock::Acquire(JoinPath(out_dir, ".sim.lock"), /*wait=*/false);
  if (!lock.ok() && lock.status().code() == Status::Code::kAborted) {
    return Status::Aborted("another simulation is running in '" + out_dir + "'");
  }
  return lock;
}

void ResetSummary(const std::string& out_dir, SimSummary* summary) {
  if (summary == nullptr) return;
  *summary = SimSummary();
  summary->out_dir = out_dir;
}

}  // namespace

DirtOptions DirtOptions::None() {
  DirtOptions d;
  d.duplicate_rate = 0;
  d.late_rate = 0;
  d.malformed_rate = 0;
  d.missing_optional_rate = 0;
  d.unknown_type_rate = 0;
  d.schema_drift_day = -1;
  return d;
}

void SimCounts::Add(const SimCounts& o) {
  customers += o.customers;
  products += o.products;
  orders += o.orders;
  order_items += o.order_items;
  events += o.events;
  status_changes += o.status_changes;
  segment_changes += o.segment_changes;
  price_changes += o.price_changes;
  deactivations += o.deactivations;
  duplicate_lines += o.duplicate_lines;
  late_events += o.late_events;
  malformed_lines += o.malformed_lines;
  missing_optional_events += o.missing_optional_events;
  unknown_type_events += o.unknown_type_events;
  drifted_events += o.drifted_events;
  lines_written += o.lines_written;
  late_delivered += o.late_delivered;
}

std::string ShopSimulator::DbPath(const std::string& out_dir) { return JoinPath(out_dir, "shop.db"); }
std::string ShopSimulator::EventsDir(const std::string& out_dir) { return JoinPath(out_dir, "events"); }
std::string ShopSimulator::StatePath(const std::string& out_dir) { return JoinPath(out_dir, "sim_state.json"); }
std::string ShopSimulator::EventsFilePath(const std::string& out_dir, Date day, int block) {
  char name[48];
  std::snprintf(name, sizeof name, "events-%s-%02d.jsonl", day.ToString().c_str(), block);
  return JoinPath(EventsDir(out_dir), name);
}

Status ShopSimulator::Generate(const SimOptions& options, SimSummary* summary) {
  ResetSummary(options.out_dir, summary);
  STRATA_RETURN_IF_ERROR(ValidateOptions(options));
  const std::string& out = options.out_dir;
  std::error_code ec;
  for (const std::string& p : {DbPath(out), StatePath(out), EventsDir(out)}) {
    if (std::filesystem::exists(p, ec)) {
      return Status::AlreadyExists("'" + out + "' already holds a simulation (" + p +
                                   " exists); use --day to extend it or choose another folder");
    }
  }
  STRATA_RETURN_IF_ERROR(MakeDirs(EventsDir(out)));
  STRATA_ASSIGN_OR_RETURN(FileLock lock, LockSimulation(out));

  SimState state;
  state.seed = options.seed;
  state.scale = options.scale;
  state.start = options.start;
  state.dirt = options.dirt;
  STRATA_ASSIGN_OR_RETURN(ShopDb db, ShopDb::Create(DbPath(out)));
  STRATA_RETURN_IF_ERROR(SaveState(out, state));
  World world;
  return RunDays(out, &db, &world, &state, options.days - 1, summary).WithContext("simulating into '" + out + "'");
}

Status ShopSimulator::AdvanceTo(const std::string& out_dir, Date through, SimSummary* summary) {
  ResetSummary(out_dir, summary);
  if (out_dir.empty()) return Status::InvalidArgument("an output folder is required");
  const std::string state_path = StatePath(out_dir);
  Result<std::string> text = ReadFile(state_path);
  if (!text.ok()) {
    if (text.status().code() == Status::Code::kNotFound) {
      return Status::NotFound("'" + out_dir + "' holds no simulation (no sim_state.json)");
    }
    return text.status();
  }
  STRATA_ASSIGN_OR_RETURN(FileLock lock, LockSimulation(out_dir));
  // Re-read under the lock: another writer may have finished in between.
  STRATA_ASSIGN_OR_RETURN(std::string locked_text, ReadFile(state_path));
  STRATA_ASSIGN_OR_RETURN(SimState state, SimState::FromJson(locked_text, state_path));
  STRATA_RETURN_IF_ERROR(ValidateDirt(state.dirt).WithContext(state_path));
  if (through < state.start) {
    return Status::InvalidArgument("day " + through.ToString() + " is before the simulation's start " +
                                   state.start.ToString());
  }
  const int64_t last_day = through - state.start;
  if (summary != nullptr) summary->days_in_simulation = state.days_simulated;
  if (last_day < state.days_simulated) {
    if (summary != nullptr) summary->pending_late_lines = static_cast<int64_t>(state.pending.size());
    return Status::OK();
  }
  if (last_day - state.days_simulated >= kMaxDaysPerCall) {
    return Status::InvalidArgument("cannot simulate more than " + std::to_string(kMaxDaysPerCall) + " days at once");
  }

  STRATA_ASSIGN_OR_RETURN(ShopDb db, ShopDb::Open(DbPath(out_dir)));
  STRATA_ASSIGN_OR_RETURN(int64_t applied, db.DaysApplied());
  if (applied != state.days_simulated) {
    return Status::Corruption("'" + out_dir + "': shop.db has " + std::to_string(applied) +
                              " simulated days but sim_state.json has " + std::to_string(state.days_simulated) +
                              " (an earlier run was interrupted); regenerate the simulation");
  }
  STRATA_ASSIGN_OR_RETURN(int64_t max_order, db.MaxId("orders", "order_id"));
  STRATA_ASSIGN_OR_RETURN(int64_t max_item, db.MaxId("order_items", "order_item_id"));
  if (max_order + 1 != state.next_order_id || max_item + 1 != state.next_item_id) {
    return Status::Corruption("'" + out_dir + "': shop.db and sim_state.json disagree on ids");
  }
  World world;
  STRATA_RETURN_IF_ERROR(db.LoadWorld(&world));
  return RunDays(out_dir, &db, &world, &state, last_day, summary).WithContext("simulating into '" + out_dir + "'");
}

namespace {

nlohmann::ordered_json CountsJson(const SimCounts& c) {
  return {{"customers", c.customers},
          {"products", c.products},
          {"orders", c.orders},
          {"order_items", c.order_items},
          {"events", c.events},
          {"status_changes", c.status_changes},
          {"segment_changes", c.segment_changes},
          {"price_changes", c.price_changes},
          {"deactivations", c.deactivations},
          {"duplicate_lines", c.duplicate_lines},
          {"late_events", c.late_events},
          {"malformed_lines", c.malformed_lines},
          {"missing_optional_events", c.missing_optional_events},
          {"unknown_type_events", c.unknown_type_events},
          {"drifted_events", c.drifted_events},
          {"lines_written", c.lines_written},
          {"late_delivered", c.late_delivered}};
}

}  // namespace

std::string SimSummary::ToJson() const {
  nlohmann::ordered_json j;
  j["out_dir"] = out_dir;
  j["database"] = ShopSimulator::DbPath(out_dir);
  j["events_dir"] = ShopSimulator::EventsDir(out_dir);
  j["days_simulated"] = days.size();
  if (!days.empty()) {
    j["first_date"] = first_date.ToString();
    j["last_date"] = last_date.ToString();
  } else {
    j["first_date"] = nullptr;
    j["last_date"] = nullptr;
  }
  j["days_in_simulation"] = days_in_simulation;
  j["pending_late_lines"] = pending_late_lines;
  j["total"] = CountsJson(total);
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  for (const DaySummary& d : days) {
    nlohmann::ordered_json day;
    day["date"] = d.date.ToString();
    day["day_index"] = d.day_index;
    day["counts"] = CountsJson(d.counts);
    arr.push_back(std::move(day));
  }
  j["days"] = std::move(arr);
  return j.dump(2);
}

std::string SimSummary::ToText() const {
  std::string s;
  char buf[512];
  if (days.empty()) {
    std::snprintf(buf, sizeof buf, "nothing to simulate: '%s' already holds %lld days\n", out_dir.c_str(),
                  static_cast<long long>(days_in_simulation));
    return buf;
  }
  const SimCounts& c = total;
  std::snprintf(buf, sizeof buf, "simulated %zu day%s, %s .. %s (%lld days in the simulation)\n", days.size(),
                days.size() == 1 ? "" : "s", first_date.ToString().c_str(), last_date.ToString().c_str(),
                static_cast<long long>(days_in_simulation));
  s += buf;
  std::snprintf(buf, sizeof buf,
                "  customers    %9lld new  (%lld segment changes)\n"
                "  products     %9lld new  (%lld price changes, %lld deactivated)\n"
                "  orders       %9lld new  (%lld status changes)\n"
                "  order_items  %9lld new\n",
                static_cast<long long>(c.customers), static_cast<long long>(c.segment_changes),
                static_cast<long long>(c.products), static_cast<long long>(c.price_changes),
                static_cast<long long>(c.deactivations), static_cast<long long>(c.orders),
                static_cast<long long>(c.status_changes), static_cast<long long>(c.order_items));
  s += buf;
  std::snprintf(buf, sizeof buf,
                "  events       %9lld clean, %lld lines written\n"
                "  dirt: %lld duplicates, %lld late (%lld lines still pending), %lld malformed, "
                "%lld missing fields, %lld unknown types, %lld with app_version\n",
                static_cast<long long>(c.events), static_cast<long long>(c.lines_written),
                static_cast<long long>(c.duplicate_lines), static_cast<long long>(c.late_events),
                static_cast<long long>(pending_late_lines), static_cast<long long>(c.malformed_lines),
                static_cast<long long>(c.missing_optional_events), static_cast<long long>(c.unknown_type_events),
                static_cast<long long>(c.drifted_events));
  s += buf;
  s += "database: " + ShopSimulator::DbPath(out_dir) + "\n";
  s += "events:   " + ShopSimulator::EventsDir(out_dir) + "/ (4 files per day)\n";
  return s;
}

}  // namespace strata::sim
