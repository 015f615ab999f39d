// Run calendar: how a pipeline's runs are named, and which data interval each covers.
//
// Every run has a key (its logical date or time: the run id is "<pipeline>__<key>"), a `ds`
// (the local date of its interval's start: the lake partition it lands in) and a data
// interval [start, end). "Local" is the pipeline's `timezone`.
//
//  * Schedules that tick at most once a day (@daily, "0 6 * * *", @weekly, ...): runs are
//    named by date, "2024-01-01" (key == ds). A date's interval runs from the schedule's
//    tick on that local date to the next tick (Airflow's data interval: "0 6 * * *" covers
//    [D 06:00, D+1 06:00)). A date on which the schedule does not tick — a Wednesday of a
//    weekly pipeline, run by hand — covers its local calendar day.
//  * Schedules that tick several times a day (@hourly, "*/15 * * * *", "0 6,18 * * *"):
//    runs are named by the UTC instant their interval starts, "2024-01-01T06:00Z" (UTC, so
//    that the hour repeated when clocks fall back still names two distinct runs), and cover
//    [that tick, the next tick). Every run of a day lands in that day's `ds` partition.
//  * Pipelines without a recurring schedule (manual only, @once): runs are local calendar
//    days.
//
// Where a command takes a logical date or time (`--date`, `--from`, `--to`):
//   YYYY-MM-DD                       a date;
//   YYYY-MM-DDTHH:MM[:SS]            a local time (a space may replace the T; in a repeated
//                                    hour, its first occurrence);
//   ... followed by Z or +HH:MM      an instant.
// A time must be a tick of the schedule (the start of an interval).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/date.h"
#include "core/status.h"
#include "orchestrate/pipeline.h"
#include "orchestrate/schedule.h"

namespace strata::orchestrate {

struct LogicalRun {
  std::string key;    // the run's logical date or time (see above)
  std::string ds;     // local date of the interval start, YYYY-MM-DD
  int64_t start = 0;  // data interval [start, end), epoch seconds
  int64_t end = 0;
  bool operator==(const LogicalRun&) const = default;
};

class RunCalendar {
 public:
  // Fails on a schedule or time zone the pipeline parser would reject.
  static Result<RunCalendar> For(const PipelineSpec& pipeline);

  // Runs are named by time (the schedule ticks several times a day), not by date.
  bool by_time() const { return schedule_.sub_daily(); }
  const Schedule& schedule() const { return schedule_; }

  // The run `when` names (see above). "" is the run in progress at `now`: today's date, or
  // for a schedule that ticks several times a day, the interval containing `now`. A date
  // given for such a schedule is an error that suggests a time or a backfill.
  Result<LogicalRun> Resolve(std::string_view when, int64_t now) const;
  // Every run whose interval starts in [from, to], oldest first: dates cover whole local
  // days (inclusive), times are instants. Fails past `limit` runs.
  Result<std::vector<LogicalRun>> Between(std::string_view from, std::string_view to, size_t limit = 100000) const;
  // The run of one schedule interval.
  LogicalRun ForInterval(const Interval& interval) const;

  // The local date of instant `t`; the instant local date `d` starts.
  Date LocalDate(int64_t t) const;
  int64_t DayStart(Date d) const;

 private:
  explicit RunCalendar(std::string pipeline, Schedule s) : pipeline_(std::move(pipeline)), schedule_(std::move(s)) {}

  // The run named by date `d` (schedules that tick at most daily, or none).
  LogicalRun ForDate(Date d) const;
  // A parsed date or time: `at` in epoch seconds (a date: the instant its local day starts).
  struct When {
    int64_t at = 0;
    std::optional<Date> date;  // set when the text was a date
  };
  Result<When> ParseWhen(std::string_view text) const;

  std::string pipeline_;
  Schedule schedule_;
};

}  // namespace strata::orchestrate
