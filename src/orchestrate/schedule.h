// Schedule: when a pipeline runs. A 5-field cron expression evaluated in an IANA time zone,
// plus Airflow's data intervals (a run due at tick t processes [previous tick, t)).
//
// Syntax (Vixie cron): "minute hour day-of-month month day-of-week", each field a list
// (`,`) of `*`, `N`, `A-B`, with an optional step `/S` (`*/15`, `0-30/10`; `N/S` means
// `N-max/S`). Months may be named JAN-DEC and weekdays SUN-SAT, case-insensitively; 0 and
// 7 are both Sunday, and a weekday range may end at Sunday (`FRI-SUN`). When both
// day-of-month and day-of-week are restricted, a day matches if EITHER matches; a field
// that starts with `*` (including `*/2`) counts as unrestricted, and then both must match
// (Vixie's exact rule). Presets: @hourly (0 * * * *), @daily and @midnight (0 0 * * *),
// @weekly (0 0 * * 0), @monthly (0 0 1 * *), @yearly and @annually (0 0 1 1 *).
// `@once` and `none` parse to schedules that never tick (kind() tells them apart).
//
// Ticks and daylight saving time. The fields name local wall-clock minutes W. Which UTC
// instants are ticks depends on whether the hour field names all 24 hours:
//
//  * Wall-clock schedules (hour field names fewer than 24 hours, e.g. "30 2 * * *"):
//    every named local time w in W gives exactly one tick:
//      - w occurs once                      -> that instant;
//      - w does not occur (spring-forward gap) -> the instant the gap ends, i.e. the first
//        instant after it (02:30 in Europe/Berlin on 2024-03-31 -> 03:00 CEST = 01:00Z);
//        several named times in one gap give one tick;
//      - w occurs twice (fall-back overlap)  -> only its first occurrence (the earlier UTC
//        instant, still on the summer offset).
//    So a daily job runs once per local date, never skipped, never doubled.
//  * Elapsed-time schedules (hour field names every hour: `*`, `*/1`, `0-23`, ...): the
//    ticks are exactly the instants whose local reading, at the UTC offset in effect at
//    that instant, is a named time in W. Named times inside a gap are not ticks (that local
//    hour did not happen); named times inside an overlap tick at both occurrences. With a
//    one-hour shift, `0 * * * *` ticks once per real hour and `*/15 * * * *` every 15 real
//    minutes, across both transitions. Where the shift is not a whole hour
//    (Australia/Lord_Howe, 30 min) the local reading still decides: `0 * * * *` has one
//    90-minute step at each transition and `30 * * * *` one 30-minute step, while
//    `*/30 * * * *` keeps a steady 30-minute beat.
//
// Instants are UTC epoch seconds. Ticks are searched in local years 1..9999 and at most
// 400 years (one Gregorian cycle) from the argument; beyond that Next/Previous return
// nullopt. A Schedule is an immutable value: cheap to copy, safe to share between threads.
#pragma once

#include <absl/time/civil_time.h>
#include <absl/time/time.h>

#include <bit>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace strata::orchestrate {

// The data interval [start, end) of one run. `end` is the tick at which the run is due;
// `start` is the previous tick and is the run's logical date (Airflow's logical_date).
struct Interval {
  int64_t start = 0;
  int64_t end = 0;
  int64_t logical_date() const { return start; }
  bool operator==(const Interval&) const = default;
};

class Schedule {
 public:
  enum class Kind { kCron, kOnce, kNone };

  // A schedule that never ticks ("none" in UTC).
  Schedule();

  // Parses `expr` in the IANA zone `time_zone` ("" means UTC). Errors name the field, the
  // token, its 1-based column and the allowed range, e.g.
  //   cron "0 25 * * *": hour field: 25 is out of range 0-23 (column 3)
  // and schedules that can never run ("0 0 30 2 *") are rejected.
  static Result<Schedule> Parse(std::string_view expr, std::string_view time_zone = "UTC");

  Kind kind() const { return kind_; }
  // True for cron expressions and presets other than @once/none.
  bool recurring() const { return kind_ == Kind::kCron; }
  const std::string& expression() const { return expression_; }
  const std::string& time_zone() const { return zone_name_; }
  // True when the hour field names every hour (see "Ticks" above).
  bool elapsed_time() const { return hours_ == kAllHours; }
  // True when the schedule can tick more than once on a local day (several named minutes
  // or hours: @hourly, "*/15 * * * *", "0 6,18 * * *"); false for daily and coarser.
  bool sub_daily() const { return recurring() && std::popcount(minutes_) * std::popcount(hours_) > 1; }
  const absl::TimeZone& zone() const { return zone_; }

  // The first tick strictly after `after`; nullopt if none (or not recurring).
  std::optional<int64_t> Next(int64_t after) const;
  // The last tick strictly before `before`; nullopt if none (or not recurring).
  std::optional<int64_t> Previous(int64_t before) const;
  bool IsTick(int64_t t) const;

  // The data interval of the run due at `tick`: [Previous(tick), tick). Fails if `tick` is
  // not a tick of this schedule.
  Result<Interval> IntervalEndingAt(int64_t tick) const;
  // Every tick in [from, to), in order (a backfill's due times). Costs one Next() per tick.
  std::vector<int64_t> Ticks(int64_t from, int64_t to) const;
  // Every complete data interval inside [from, to]: consecutive ticks a < b with from <= a
  // and b <= to (Airflow's catch-up from a start date up to now).
  std::vector<Interval> Intervals(int64_t from, int64_t to) const;

  // `t` as local time in this schedule's zone: "2024-03-31 03:00:00+02:00".
  std::string FormatLocal(int64_t t) const;

 private:
  static constexpr uint32_t kAllHours = (1u << 24) - 1;

  std::optional<int64_t> NextWallClock(int64_t after) const;
  std::optional<int64_t> NextElapsed(int64_t after) const;
  std::optional<int64_t> PreviousWallClock(int64_t before) const;
  std::optional<int64_t> PreviousElapsed(int64_t before) const;
  // The first named local minute >= `from` (up to `hi`) / the last <= `from` (down to `lo`).
  std::optional<absl::CivilMinute> NextNamed(absl::CivilMinute from, absl::CivilMinute hi) const;
  std::optional<absl::CivilMinute> PreviousNamed(absl::CivilMinute from, absl::CivilMinute lo) const;
  // Matching days of a month as bits 1..31.
  uint32_t DayMask(int64_t year, int month) const;

  Kind kind_ = Kind::kNone;
  std::string expression_ = "none";
  std::string zone_name_ = "UTC";
  absl::TimeZone zone_;
  uint64_t minutes_ = 0;   // bits 0..59
  uint32_t hours_ = 0;     // bits 0..23
  uint32_t days_ = 0;      // bits 1..31
  uint32_t months_ = 0;    // bits 1..12
  uint32_t weekdays_ = 0;  // bits 0..6, 0 = Sunday
  bool days_or_ = false;   // both day fields restricted: a day matches if either does
  // dow_days_[w]: the days 1..31 of a month whose 1st is weekday w that match weekdays_.
  uint32_t dow_days_[7] = {};
};

}  // namespace strata::orchestrate
