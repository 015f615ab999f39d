#include "orchestrate/calendar.h"

#include <absl/time/civil_time.h>
#include <absl/time/time.h>

#include <cctype>

namespace strata::orchestrate {

namespace {

constexpr std::string_view kWhenSyntax =
    "a date YYYY-MM-DD or a time YYYY-MM-DDTHH:MM[:SS] (local, or ending in Z or +HH:MM)";

std::string UtcKey(int64_t t) {
  return absl::FormatTime("%Y-%m-%dT%H:%MZ", absl::FromUnixSeconds(t), absl::UTCTimeZone());
}

// Reads `n` digits at *pos; false if they are not all there.
bool Digits(std::string_view s, size_t* pos, int n, int* out) {
  if (*pos + n > s.size()) return false;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    char c = s[*pos + i];
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

bool Expect(std::string_view s, size_t* pos, char c) {
  if (*pos >= s.size() || s[*pos] != c) return false;
  ++*pos;
  return true;
}

}  // namespace

Result<RunCalendar> RunCalendar::For(const PipelineSpec& pipeline) {
  STRATA_ASSIGN_OR_RETURN(Schedule s,
                          Schedule::Parse(pipeline.schedule.empty() ? "none" : pipeline.schedule, pipeline.timezone));
  return RunCalendar(pipeline.name, std::move(s));
}

Date RunCalendar::LocalDate(int64_t t) const {
  const absl::CivilDay day(schedule_.zone().At(absl::FromUnixSeconds(t)).cs);
  return Date::FromYmd(static_cast<int>(day.year()), day.month(), day.day());
}

int64_t RunCalendar::DayStart(Date d) const {
  int year;
  unsigned month, day;
  d.ToYmd(&year, &month, &day);
  const absl::TimeZone::TimeInfo info = schedule_.zone().At(absl::CivilSecond(year, month, day, 0, 0, 0));
  // Where midnight is skipped (a few zones move their clocks at 00:00) the day starts when
  // the gap ends.
  return absl::ToUnixSeconds(info.kind == absl::TimeZone::TimeInfo::SKIPPED ? info.trans : info.pre);
}

LogicalRun RunCalendar::ForInterval(const Interval& interval) const {
  LogicalRun r;
  r.ds = LocalDate(interval.start).ToString();
  r.key = by_time() ? UtcKey(interval.start) : r.ds;
  r.start = interval.start;
  r.end = interval.end;
  return r;
}

LogicalRun RunCalendar::ForDate(Date d) const {
  if (schedule_.recurring() && !schedule_.sub_daily()) {
    const auto tick = schedule_.Next(DayStart(d) - 1);
    if (tick && LocalDate(*tick) == d) {
      if (const auto next = schedule_.Next(*tick)) return ForInterval({*tick, *next});
    }
  }
  const std::string ds = d.ToString();
  return LogicalRun{ds, ds, DayStart(d), DayStart(d + 1)};
}

Result<RunCalendar::When> RunCalendar::ParseWhen(std::string_view text) const {
  const std::string quoted = "\"" + std::string(text) + "\"";
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument(quoted + ": " + std::string(why) + "; expected " + std::string(kWhenSyntax));
  };
  if (text.size() <= 10) {
    auto d = Date::Parse(text);
    if (!d.ok()) return bad("not a date");
    return When{DayStart(*d), *d};
  }
  auto d = Date::Parse(text.substr(0, 10));
  if (!d.ok()) return bad("not a date");
  size_t pos = 10;
  int hour = 0, minute = 0, second = 0;
  if (!(Expect(text, &pos, 'T') || Expect(text, &pos, 't') || Expect(text, &pos, ' ')) ||
      !Digits(text, &pos, 2, &hour) || !Expect(text, &pos, ':') || !Digits(text, &pos, 2, &minute)) {
    return bad("no time HH:MM after the date");
  }
  if (pos < text.size() && text[pos] == ':' && (++pos, !Digits(text, &pos, 2, &second))) return bad("bad seconds");
  if (hour > 23 || minute > 59 || second > 59) return bad("no such time of day");
  int year;
  unsigned month, day;
  d->ToYmd(&year, &month, &day);
  const absl::CivilSecond civil(year, month, day, hour, minute, second);
  if (pos == text.size()) {  // local time
    const absl::TimeZone::TimeInfo info = schedule_.zone().At(civil);
    if (info.kind == absl::TimeZone::TimeInfo::SKIPPED) {
      return Status::InvalidArgument(quoted + " does not exist in " + schedule_.time_zone() +
                                     " (the clocks skip it); the hour after the change starts at " +
                                     schedule_.FormatLocal(absl::ToUnixSeconds(info.trans)));
    }
    return When{absl::ToUnixSeconds(info.pre), std::nullopt};  // a repeated time: its first occurrence
  }
  int offset = 0;
  if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    const int sign = text[pos++] == '-' ? -1 : 1;
    int oh = 0, om = 0;
    if (!Digits(text, &pos, 2, &oh)) return bad("bad UTC offset");
    if (pos < text.size() && text[pos] == ':') ++pos;
    if (pos < text.size() && !Digits(text, &pos, 2, &om)) return bad("bad UTC offset");
    if (oh > 23 || om > 59) return bad("bad UTC offset");
    offset = sign * (oh * 3600 + om * 60);
  }
  if (pos != text.size()) return bad("unexpected text after the time");
  return When{absl::ToUnixSeconds(absl::FromCivil(civil, absl::UTCTimeZone())) - offset, std::nullopt};
}

Result<LogicalRun> RunCalendar::Resolve(std::string_view when, int64_t now) const {
  const std::string where = "pipeline '" + pipeline_ + "'";
  const std::string sched = "\"" + schedule_.expression() + "\" in " + schedule_.time_zone();
  if (when.empty()) {
    if (!by_time()) return ForDate(LocalDate(now));
    const auto start = schedule_.IsTick(now) ? std::optional<int64_t>(now) : schedule_.Previous(now);
    const auto end = start ? schedule_.Next(*start) : std::nullopt;
    if (!end) return Status::InvalidArgument(where + ": schedule " + sched + " has no interval around now");
    return ForInterval({*start, *end});
  }
  STRATA_ASSIGN_OR_RETURN(When parsed, ParseWhen(when));
  const int64_t t = parsed.at;
  if (parsed.date) {
    if (!by_time()) return ForDate(*parsed.date);
    const auto first = schedule_.Next(t - 1);
    std::string example = first ? UtcKey(*first) : std::string(when) + "T00:00Z";
    return Status::InvalidArgument(
        where + " runs several times a day (" + sched + "), so a run is named by the start of its interval, e.g. " +
        example + " (the first of " + std::string(when) + "); to run the whole day: strata pipeline backfill --from " +
        std::string(when) + " --to " + std::string(when));
  }
  if (!schedule_.recurring()) {
    return Status::InvalidArgument(where +
                                   " has no recurring schedule, so its runs are days: give a date YYYY-MM-DD, not \"" +
                                   std::string(when) + "\"");
  }
  if (!schedule_.IsTick(t)) {
    const auto before = schedule_.Previous(t);
    const auto after = schedule_.Next(t);
    std::string around;
    if (before) around += schedule_.FormatLocal(*before) + " (" + UtcKey(*before) + ")";
    if (after)
      around +=
          std::string(around.empty() ? "" : " and ") + schedule_.FormatLocal(*after) + " (" + UtcKey(*after) + ")";
    return Status::InvalidArgument("\"" + std::string(when) + "\" is not the start of an interval of " + where + " (" +
                                   sched + ")" + (around.empty() ? "" : "; the nearest intervals start at " + around));
  }
  const auto end = schedule_.Next(t);
  if (!end) return Status::InvalidArgument(where + ": schedule " + sched + " has no tick after " + std::string(when));
  return ForInterval({t, *end});
}

Result<std::vector<LogicalRun>> RunCalendar::Between(std::string_view from, std::string_view to, size_t limit) const {
  STRATA_ASSIGN_OR_RETURN(When first, ParseWhen(from));
  STRATA_ASSIGN_OR_RETURN(When last, ParseWhen(to));
  const int64_t lo = first.at;
  // Dates include the whole last day; a time, up to and including itself.
  const int64_t hi = last.date ? DayStart(*last.date + 1) : last.at + 1;
  if (hi <= lo) return Status::InvalidArgument("\"" + std::string(to) + "\" is before \"" + std::string(from) + "\"");
  std::vector<LogicalRun> out;
  auto too_many = [&] {
    return Status::InvalidArgument(std::string(from) + " .. " + std::string(to) + " holds more than " +
                                   std::to_string(limit) + " runs of pipeline '" + pipeline_ + "'");
  };
  if (schedule_.recurring()) {
    for (auto t = schedule_.Next(lo - 1); t && *t < hi;) {
      const auto next = schedule_.Next(*t);
      if (!next) break;
      if (out.size() == limit) return too_many();
      out.push_back(ForInterval({*t, *next}));
      t = next;
    }
    return out;
  }
  if (!first.date || !last.date) {
    return Status::InvalidArgument("pipeline '" + pipeline_ +
                                   "' has no recurring schedule, so its runs are days: give dates YYYY-MM-DD");
  }
  for (Date d = *first.date; d <= *last.date; d = d + 1) {
    if (out.size() == limit) return too_many();
    out.push_back(ForDate(d));
  }
  return out;
}

}  // namespace strata::orchestrate
