// How runs are named and which interval each covers. Expected instants are worked out by hand
// in the comments (Europe/Berlin: CET = UTC+1, CEST = UTC+2; 2024-03-31 02:00 CET jumps to
// 03:00 CEST, 2024-10-27 03:00 CEST falls back to 02:00 CET; America/New_York: EST = UTC-5,
// EDT = UTC-4, 2024-03-10 02:00 EST jumps to 03:00 EDT).
#include "orchestrate/calendar.h"

#include <gtest/gtest.h>

#include <set>

namespace strata::orchestrate {
namespace {

int64_t At(const std::string& utc) { return *ParseTimestamp(utc); }

RunCalendar Make(const std::string& schedule, const std::string& zone = "UTC") {
  PipelineSpec p;
  p.name = "p";
  p.schedule = schedule;
  p.timezone = zone;
  auto c = RunCalendar::For(p);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return *c;
}

LogicalRun Expected(const std::string& key, const std::string& ds, const std::string& start, const std::string& end) {
  return LogicalRun{key, ds, At(start), At(end)};
}

LogicalRun MustResolve(const RunCalendar& c, const std::string& when, int64_t now = 0) {
  auto r = c.Resolve(when, now);
  EXPECT_TRUE(r.ok()) << when << ": " << r.status().ToString();
  return r.ok() ? *r : LogicalRun{};
}

std::string ResolveError(const RunCalendar& c, const std::string& when) {
  auto r = c.Resolve(when, 0);
  EXPECT_FALSE(r.ok()) << when << " resolved to " << (r.ok() ? r->key : "");
  return r.ok() ? "" : r.status().message();
}

TEST(RunCalendarTest, DailyRunsAreDatesCoveringTickToNextTick) {
  RunCalendar c = Make("0 6 * * *");
  EXPECT_FALSE(c.by_time());
  const LogicalRun jan1 = Expected("2024-01-01", "2024-01-01", "2024-01-01 06:00:00", "2024-01-02 06:00:00");
  EXPECT_EQ(MustResolve(c, "2024-01-01"), jan1);
  EXPECT_EQ(MustResolve(c, "2024-01-01T06:00"), jan1);      // its tick, as a local time
  EXPECT_EQ(MustResolve(c, "2024-01-01 06:00:00Z"), jan1);  // or an instant
  EXPECT_NE(ResolveError(c, "2024-01-01T07:00").find("not the start of an interval"), std::string::npos);
  // "" is today's run: at 2024-05-01 03:00Z, the run of 05-01 (whose tick is still ahead).
  EXPECT_EQ(MustResolve(c, "", At("2024-05-01 03:00:00")).key, "2024-05-01");
}

TEST(RunCalendarTest, DailyInBerlinAcrossTheSpringGap) {
  // "30 2" does not exist on 03-31: the tick is 03:00 CEST = 01:00Z; the next, 04-01 02:30
  // CEST = 00:30Z.
  RunCalendar c = Make("30 2 * * *", "Europe/Berlin");
  EXPECT_EQ(MustResolve(c, "2024-03-31"),
            Expected("2024-03-31", "2024-03-31", "2024-03-31 01:00:00", "2024-04-01 00:30:00"));
  // Late on 05-01 in UTC is already 05-02 in Berlin.
  EXPECT_EQ(MustResolve(c, "", At("2024-05-01 23:30:00")).key, "2024-05-02");
}

TEST(RunCalendarTest, HourlyRunsAreNamedByTheirUtcStart) {
  RunCalendar c = Make("@hourly", "Europe/Berlin");
  EXPECT_TRUE(c.by_time());
  // 2024-10-27 02:00 happens twice in Berlin: at 00:00Z (CEST) and 01:00Z (CET).
  EXPECT_EQ(MustResolve(c, "2024-10-27T02:00+02:00"),
            Expected("2024-10-27T00:00Z", "2024-10-27", "2024-10-27 00:00:00", "2024-10-27 01:00:00"));
  EXPECT_EQ(MustResolve(c, "2024-10-27T02:00+01:00"),
            Expected("2024-10-27T01:00Z", "2024-10-27", "2024-10-27 01:00:00", "2024-10-27 02:00:00"));
  EXPECT_EQ(MustResolve(c, "2024-10-27T02:00").key, "2024-10-27T00:00Z");  // a repeated local time: the first
  // A key reads back as itself.
  EXPECT_EQ(MustResolve(c, "2024-10-27T01:00Z").key, "2024-10-27T01:00Z");
  // ds is the local date: 23:00Z on 10-26 is 01:00 CEST on 10-27.
  EXPECT_EQ(MustResolve(c, "2024-10-26T23:00Z").ds, "2024-10-27");
  EXPECT_NE(ResolveError(c, "2024-03-31T02:30").find("does not exist in Europe/Berlin"), std::string::npos);
  // A date names no single run; the error offers the day's first (local midnight CEST =
  // 22:00Z the day before) and a backfill.
  const std::string e = ResolveError(c, "2024-10-27");
  EXPECT_NE(e.find("2024-10-26T22:00Z"), std::string::npos) << e;
  EXPECT_NE(e.find("backfill --from 2024-10-27 --to 2024-10-27"), std::string::npos) << e;
  // "" is the interval in progress.
  EXPECT_EQ(MustResolve(c, "", At("2024-05-01 10:30:00")).key, "2024-05-01T10:00Z");
  EXPECT_EQ(MustResolve(c, "", At("2024-05-01 10:00:00")).key, "2024-05-01T10:00Z");
}

TEST(RunCalendarTest, HourlyDaysHave23And25RunsAtTheTransitions) {
  RunCalendar c = Make("0 * * * *", "Europe/Berlin");
  for (const auto& [day, count, first, last] : {std::tuple<std::string, size_t, std::string, std::string>{
                                                    "2024-03-31", 23, "2024-03-30T23:00Z", "2024-03-31T21:00Z"},
                                                {"2024-10-27", 25, "2024-10-26T22:00Z", "2024-10-27T22:00Z"},
                                                {"2024-05-01", 24, "2024-04-30T22:00Z", "2024-05-01T21:00Z"}}) {
    auto runs = c.Between(day, day);
    ASSERT_TRUE(runs.ok()) << runs.status().ToString();
    ASSERT_EQ(runs->size(), count) << day;
    EXPECT_EQ(runs->front().key, first);
    EXPECT_EQ(runs->back().key, last);
    std::set<std::string> keys;
    for (size_t i = 0; i < runs->size(); ++i) {
      const LogicalRun& r = (*runs)[i];
      EXPECT_EQ(r.ds, day);
      EXPECT_EQ(r.end - r.start, 3600) << r.key;  // one real hour each
      if (i > 0) {
        EXPECT_EQ(r.start, (*runs)[i - 1].end);
      }
      keys.insert(r.key);
    }
    EXPECT_EQ(keys.size(), count) << "duplicate keys on " << day;
  }
  // Times bound a range inclusively.
  auto three = c.Between("2024-05-01T10:00Z", "2024-05-01T12:00Z");
  ASSERT_TRUE(three.ok());
  ASSERT_EQ(three->size(), 3u);
  EXPECT_EQ((*three)[2].key, "2024-05-01T12:00Z");
  auto capped = c.Between("2024-01-01", "2024-12-31", 100);
  ASSERT_FALSE(capped.ok());
  EXPECT_NE(capped.status().message().find("more than 100 runs"), std::string::npos);
}

TEST(RunCalendarTest, WeeklyRunsOnlyOnTicksButAnyDateCanBeRunByHand) {
  RunCalendar c = Make("@weekly");  // Sundays 00:00 UTC; 2024-01-07 is a Sunday
  auto runs = c.Between("2024-01-01", "2024-01-31");
  ASSERT_TRUE(runs.ok());
  std::vector<std::string> keys;
  for (const auto& r : *runs) keys.push_back(r.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"2024-01-07", "2024-01-14", "2024-01-21", "2024-01-28"}));
  EXPECT_EQ((*runs)[0], Expected("2024-01-07", "2024-01-07", "2024-01-07 00:00:00", "2024-01-14 00:00:00"));
  // A Wednesday covers its own day.
  EXPECT_EQ(MustResolve(c, "2024-01-03"),
            Expected("2024-01-03", "2024-01-03", "2024-01-03 00:00:00", "2024-01-04 00:00:00"));
}

TEST(RunCalendarTest, UnscheduledRunsAreLocalDays) {
  RunCalendar c = Make("", "America/New_York");
  // 2024-03-10 is 23 hours long: EST midnight 05:00Z to EDT midnight 04:00Z.
  EXPECT_EQ(MustResolve(c, "2024-03-10"),
            Expected("2024-03-10", "2024-03-10", "2024-03-10 05:00:00", "2024-03-11 04:00:00"));
  EXPECT_NE(ResolveError(c, "2024-03-10T01:00").find("no recurring schedule"), std::string::npos);
  auto runs = c.Between("2024-03-09", "2024-03-11");
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 3u);
  EXPECT_EQ((*runs)[2].key, "2024-03-11");
  EXPECT_FALSE(c.Between("2024-03-11", "2024-03-09").ok());
}

TEST(RunCalendarTest, MalformedDatesAndTimesSayWhatIsExpected) {
  RunCalendar c = Make("@hourly");
  for (const std::string bad : {"2024-13-01", "yesterday", "2024-01-01T25:00", "2024-01-01T06", "2024-01-01T06:00+xx",
                                "2024-01-01T06:00:00Zjunk", "2024-02-30T00:00Z"}) {
    const std::string e = ResolveError(c, bad);
    EXPECT_NE(e.find("\"" + bad + "\""), std::string::npos) << e;
    EXPECT_NE(e.find("YYYY-MM-DD"), std::string::npos) << e;
  }
}

}  // namespace
}  // namespace strata::orchestrate
