#include "orchestrate/schedule.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <limits>
#include <utility>

namespace strata::orchestrate {
namespace {

// --- parsing --------------------------------------------------------------------------------

struct FieldSpec {
  const char* name;
  int min;                   // smallest accepted value
  int max;                   // largest accepted value (7 for day-of-week: Sunday again)
  int star_max;              // where `*` and `N/S` end (6 for day-of-week)
  const char* const* names;  // three-letter names of min.., or nullptr
  const char* names_hint;    // "JAN-DEC"
};

constexpr const char* kMonthNames[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                       "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr const char* kDayNames[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

constexpr FieldSpec kFields[5] = {
    {"minute", 0, 59, 59, nullptr, nullptr},        {"hour", 0, 23, 23, nullptr, nullptr},
    {"day-of-month", 1, 31, 31, nullptr, nullptr},  {"month", 1, 12, 12, kMonthNames, "JAN-DEC"},
    {"day-of-week", 0, 7, 6, kDayNames, "SUN-SAT"},
};
constexpr int kDayOfWeek = 4;

struct Preset {
  const char* name;
  const char* cron;
};
constexpr Preset kPresets[] = {
    {"@hourly", "0 * * * *"},  {"@daily", "0 0 * * *"},  {"@midnight", "0 0 * * *"}, {"@weekly", "0 0 * * 0"},
    {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"},
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string Range(int lo, int hi) { return std::to_string(lo) + "-" + std::to_string(hi); }

// Parses the fields of one expression; every error names the expression, field and column.
class FieldParser {
 public:
  explicit FieldParser(std::string_view expr) : expr_(expr) {}

  Status Error(std::string msg) const { return Status::InvalidArgument("cron \"" + std::string(expr_) + "\": " + msg); }
  Status FieldError(const FieldSpec& f, size_t pos, const std::string& msg) const {
    return Error(std::string(f.name) + " field: " + msg + " (column " + std::to_string(pos + 1) + ")");
  }

  // `text` starts at offset `pos` of the expression. Returns the field's bits.
  Result<uint64_t> Field(const FieldSpec& f, std::string_view text, size_t pos) const {
    uint64_t bits = 0;
    size_t start = 0;
    for (;;) {
      const size_t comma = text.find(',', start);
      const std::string_view item = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
      if (item.empty()) return FieldError(f, pos + start, "empty list item");
      STRATA_ASSIGN_OR_RETURN(const uint64_t item_bits, Item(f, item, pos + start));
      bits |= item_bits;
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    return bits;
  }

 private:
  // One list item: `*`, `N`, `A-B`, each with an optional `/S`.
  Result<uint64_t> Item(const FieldSpec& f, std::string_view item, size_t pos) const {
    const size_t slash = item.find('/');
    const std::string_view range = item.substr(0, slash);
    int lo = f.min, hi = f.star_max, step = 1;
    if (range == "*") {
      // lo and hi already span the field.
    } else if (range.find('*') != std::string_view::npos) {
      return FieldError(f, pos + range.find('*'), "\"*\" must stand alone, optionally with a step (\"*/15\")");
    } else if (range.empty()) {
      return FieldError(f, pos, "missing value before \"/\"");
    } else {
      const size_t dash = range.find('-');
      STRATA_ASSIGN_OR_RETURN(lo, Value(f, range.substr(0, dash), pos));
      if (dash != std::string_view::npos) {
        const std::string_view end = range.substr(dash + 1);
        if (end.empty()) return FieldError(f, pos + dash, "missing end of range after \"-\"");
        STRATA_ASSIGN_OR_RETURN(hi, Value(f, end, pos + dash + 1));
        // A weekday range may end at Sunday written as 0 or SUN: FRI-SUN is 5-7.
        if (&f == &kFields[kDayOfWeek] && hi == 0 && lo > 0) hi = 7;
        if (lo > hi) return FieldError(f, pos, "range " + std::string(range) + " is reversed");
      } else if (slash == std::string_view::npos) {
        hi = lo;
      }  // else `N/S`: from N to the end of the field.
    }
    if (slash != std::string_view::npos) {
      const std::string_view s = item.substr(slash + 1);
      const size_t spos = pos + slash + 1;
      const int max_step = f.star_max - f.min;  // a larger step could only ever hit its start
      if (s.empty()) return FieldError(f, pos + slash, "missing step after \"/\"");
      if (!IsDigits(s)) return FieldError(f, spos, "step \"" + std::string(s) + "\" is not a number");
      if (s.size() > 4 || std::stoi(std::string(s)) < 1 || std::stoi(std::string(s)) > max_step) {
        return FieldError(f, spos, "step " + std::string(s) + " is out of range " + Range(1, max_step));
      }
      step = std::stoi(std::string(s));
    }
    uint64_t bits = 0;
    for (int v = lo; v <= hi; v += step) bits |= uint64_t{1} << (v == 7 && &f == &kFields[kDayOfWeek] ? 0 : v);
    return bits;
  }

  Result<int> Value(const FieldSpec& f, std::string_view tok, size_t pos) const {
    if (tok.empty()) return FieldError(f, pos, "missing start of range before \"-\"");
    if (IsDigits(tok)) {
      const int v = tok.size() > 4 ? std::numeric_limits<int>::max() : std::stoi(std::string(tok));
      if (v < f.min || v > f.max) {
        return FieldError(f, pos, std::string(tok) + " is out of range " + Range(f.min, f.max));
      }
      return v;
    }
    if (f.names != nullptr) {
      const std::string upper = [&] {
        std::string u(tok);
        for (char& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        return u;
      }();
      for (int i = 0; i <= f.star_max - f.min; ++i) {
        if (upper == f.names[i]) return f.min + i;
      }
      return FieldError(
          f, pos,
          "\"" + std::string(tok) + "\" is neither a number " + Range(f.min, f.max) + " nor a name " + f.names_hint);
    }
    return FieldError(f, pos, "\"" + std::string(tok) + "\" is not a number " + Range(f.min, f.max));
  }

  std::string_view expr_;
};

// IANA names only: no absolute or relative paths, no "localtime" (the machine's zone).
bool PlausibleZoneName(std::string_view name) {
  if (name.empty() || name.front() == '/' || name == "localtime") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '-' || c == '+';
  });
}

// --- evaluation -----------------------------------------------------------------------------

constexpr int64_t kMinYear = 1;
constexpr int64_t kMaxYear = 9999;
constexpr int64_t kSearchYears = 400;  // the Gregorian cycle: a valid schedule ticks within it
// 0001-01-01 00:00:00Z and 9999-12-31 23:59:59Z, widened by two days for any UTC offset.
// Clamping arguments to this keeps civil-year arithmetic far from overflow.
constexpr int64_t kEarliest = -62135596800 - 2 * 86400;
constexpr int64_t kLatest = 253402300799 + 2 * 86400;

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

int CronWeekday(absl::CivilDay d) {                        // 0 = Sunday
  return (static_cast<int>(absl::GetWeekday(d)) + 1) % 7;  // absl: Monday = 0
}

absl::CivilMinute CeilMinute(absl::CivilSecond s) { return absl::CivilMinute(s - 1) + 1; }

absl::CivilMinute SearchEnd(absl::CivilMinute from) {
  return absl::CivilMinute(std::min(from.year() + kSearchYears, kMaxYear), 12, 31, 23, 59);
}
absl::CivilMinute SearchStart(absl::CivilMinute from) {
  return absl::CivilMinute(std::max(from.year() - kSearchYears, kMinYear), 1, 1, 0, 0);
}

// The instant a wall-clock schedule runs for the named local time `c` (see the header).
absl::Time Resolve(const absl::TimeZone& zone, absl::CivilMinute c) {
  const absl::TimeZone::TimeInfo info = zone.At(absl::CivilSecond(c));
  return info.kind == absl::TimeZone::TimeInfo::SKIPPED ? info.trans : info.pre;
}

}  // namespace

Schedule::Schedule() : zone_(absl::UTCTimeZone()) {}

Result<Schedule> Schedule::Parse(std::string_view expr, std::string_view time_zone) {
  FieldParser parser(expr);
  Schedule s;
  const size_t first = expr.find_first_not_of(" \t");
  const std::string_view trimmed = first == std::string_view::npos
                                       ? std::string_view()
                                       : expr.substr(first, expr.find_last_not_of(" \t") - first + 1);
  s.expression_ = std::string(trimmed);

  if (time_zone.empty()) time_zone = "UTC";
  if (!PlausibleZoneName(time_zone) || !absl::LoadTimeZone(std::string(time_zone), &s.zone_)) {
    return parser.Error("unknown time zone \"" + std::string(time_zone) +
                        "\" (expected an IANA name such as \"UTC\" or \"Europe/Berlin\")");
  }
  s.zone_name_ = std::string(time_zone);

  // Presets are expanded and parsed like the expression they stand for; column numbers
  // cannot point into them, but they are known to be valid.
  std::string_view fields_text = expr;
  const std::string lower = Lower(trimmed);
  if (lower == "@once") {
    s.kind_ = Kind::kOnce;
    return s;
  }
  if (lower == "none") {
    s.kind_ = Kind::kNone;
    return s;
  }
  if (!lower.empty() && lower.front() == '@') {
    const auto* p = std::find_if(std::begin(kPresets), std::end(kPresets),
                                 [&](const Preset& preset) { return lower == preset.name; });
    if (p == std::end(kPresets)) {
      return parser.Error("unknown preset \"" + std::string(trimmed) +
                          "\" (expected @hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually or @once)");
    }
    fields_text = p->cron;
  }

  std::string_view fields[5];
  size_t positions[5];
  int count = 0;
  for (size_t i = 0; i < fields_text.size();) {
    if (fields_text[i] == ' ' || fields_text[i] == '\t') {
      ++i;
      continue;
    }
    const size_t end = std::min(fields_text.find_first_of(" \t", i), fields_text.size());
    if (count < 5) {
      fields[count] = fields_text.substr(i, end - i);
      positions[count] = i;
    }
    ++count;
    i = end;
  }
  if (count != 5) {
    return parser.Error("expected 5 fields (minute hour day-of-month month day-of-week), got " + std::to_string(count));
  }
  uint64_t bits[5];
  for (int f = 0; f < 5; ++f) {
    STRATA_ASSIGN_OR_RETURN(bits[f], parser.Field(kFields[f], fields[f], positions[f]));
  }
  s.kind_ = Kind::kCron;
  s.minutes_ = bits[0];
  s.hours_ = static_cast<uint32_t>(bits[1]);
  s.days_ = static_cast<uint32_t>(bits[2]);
  s.months_ = static_cast<uint32_t>(bits[3]);
  s.weekdays_ = static_cast<uint32_t>(bits[4]);
  // Vixie cron: a day field is unrestricted when its text starts with `*`.
  s.days_or_ = fields[2].front() != '*' && fields[4].front() != '*';
  for (int w = 0; w < 7; ++w) {
    for (int d = 1; d <= 31; ++d) {
      if (s.weekdays_ >> ((w + d - 1) % 7) & 1) s.dow_days_[w] |= 1u << d;
    }
  }

  // With day-of-month deciding alone (day-of-week `*`), or together with a day-of-week
  // that every (month, day) pair meets within 28 years, the schedule runs iff some
  // selected month has some selected day.
  if (!s.days_or_) {
    bool possible = false;
    for (int m = 1; m <= 12; ++m) {
      const int longest = m == 2 ? 29 : DaysInMonth(2001, m);
      if ((s.months_ >> m & 1) && (s.days_ & (((uint32_t{1} << longest) - 1) << 1))) possible = true;
    }
    if (!possible) {
      return parser.FieldError(kFields[2], positions[2],
                               "\"" + std::string(fields[2]) + "\" never occurs in month \"" + std::string(fields[3]) +
                                   "\", so the schedule never runs");
    }
  }
  return s;
}

uint32_t Schedule::DayMask(int64_t year, int month) const {
  const int n = DaysInMonth(year, month);
  const uint32_t in_month = ((uint32_t{1} << n) - 1) << 1;  // n <= 31
  const uint32_t by_dom = days_ & in_month;
  const uint32_t by_dow = dow_days_[CronWeekday(absl::CivilDay(year, month, 1))] & in_month;
  return days_or_ ? (by_dom | by_dow) : (by_dom & by_dow);
}

std::optional<absl::CivilMinute> Schedule::NextNamed(absl::CivilMinute c, absl::CivilMinute hi) const {
  while (c <= hi) {
    const int64_t y = c.year();
    const int m = c.month();
    if (!(months_ >> m & 1)) {
      c = absl::CivilMinute(absl::CivilMonth(c) + 1);
      continue;
    }
    const uint32_t days = DayMask(y, m) & (~uint32_t{0} << c.day());
    if (days == 0) {
      c = absl::CivilMinute(absl::CivilMonth(c) + 1);
      continue;
    }
    const int d = std::countr_zero(days);
    const bool same_day = d == c.day();
    const int h0 = same_day ? c.hour() : 0;
    const uint32_t hours = hours_ & (~uint32_t{0} << h0);
    if (hours == 0) {
      c = absl::CivilMinute(absl::CivilDay(y, m, d) + 1);
      continue;
    }
    const int h = std::countr_zero(hours);
    const int min0 = same_day && h == h0 ? c.minute() : 0;
    const uint64_t minutes = minutes_ & (~uint64_t{0} << min0);
    if (minutes == 0) {
      c = absl::CivilMinute(absl::CivilHour(y, m, d, h) + 1);
      continue;
    }
    const absl::CivilMinute found(y, m, d, h, std::countr_zero(minutes));
    if (found > hi) break;
    return found;
  }
  return std::nullopt;
}

std::optional<absl::CivilMinute> Schedule::PreviousNamed(absl::CivilMinute c, absl::CivilMinute lo) const {
  while (c >= lo) {
    const int64_t y = c.year();
    const int m = c.month();
    if (!(months_ >> m & 1)) {
      c = absl::CivilMinute(absl::CivilMonth(c)) - 1;
      continue;
    }
    const uint32_t days = DayMask(y, m) & static_cast<uint32_t>((uint64_t{2} << c.day()) - 1);
    if (days == 0) {
      c = absl::CivilMinute(absl::CivilMonth(c)) - 1;
      continue;
    }
    const int d = std::bit_width(days) - 1;
    const bool same_day = d == c.day();
    const int h0 = same_day ? c.hour() : 23;
    const uint32_t hours = hours_ & ((uint32_t{2} << h0) - 1);
    if (hours == 0) {
      c = absl::CivilMinute(absl::CivilDay(y, m, d)) - 1;
      continue;
    }
    const int h = std::bit_width(hours) - 1;
    const int min0 = same_day && h == h0 ? c.minute() : 59;
    const uint64_t minutes = minutes_ & ((uint64_t{2} << min0) - 1);
    if (minutes == 0) {
      c = absl::CivilMinute(absl::CivilHour(y, m, d, h)) - 1;
      continue;
    }
    const absl::CivilMinute found(y, m, d, h, std::bit_width(minutes) - 1);
    if (found < lo) break;
    return found;
  }
  return std::nullopt;
}

std::optional<int64_t> Schedule::Next(int64_t after) const {
  if (kind_ != Kind::kCron || after >= kLatest) return std::nullopt;
  after = std::max(after, kEarliest);
  return elapsed_time() ? NextElapsed(after) : NextWallClock(after);
}

std::optional<int64_t> Schedule::Previous(int64_t before) const {
  if (kind_ != Kind::kCron || before <= kEarliest) return std::nullopt;
  before = std::min(before, kLatest);
  return elapsed_time() ? PreviousElapsed(before) : PreviousWallClock(before);
}

// Resolve() is monotone in the named time, so the first named time at or after the local
// reading of `after` that resolves past `after` gives the earliest tick. Named times before
// that reading resolve to instants <= `after` even inside an overlap.
std::optional<int64_t> Schedule::NextWallClock(int64_t after) const {
  const absl::Time a = absl::FromUnixSeconds(after);
  absl::CivilMinute c = std::max(absl::CivilMinute(zone_.At(a).cs), absl::CivilMinute(kMinYear, 1, 1, 0, 0));
  const absl::CivilMinute hi = SearchEnd(c);
  // Skips at most the named times of one overlap (when `after` is in its second pass).
  while (const auto named = NextNamed(c, hi)) {
    const absl::Time t = Resolve(zone_, *named);
    if (t > a) return absl::ToUnixSeconds(t);
    c = *named + 1;
  }
  return std::nullopt;
}

std::optional<int64_t> Schedule::PreviousWallClock(int64_t before) const {
  const absl::Time b = absl::FromUnixSeconds(before);
  const absl::Time probe = b - absl::Seconds(1);
  absl::CivilMinute c = std::min(absl::CivilMinute(zone_.At(probe).cs), absl::CivilMinute(kMaxYear, 12, 31, 23, 59));
  // After a fall-back transition, local readings repeat: named times up to the reading just
  // before the transition resolved (to their first occurrence) before `probe`, although they
  // are later than probe's own reading. No overlap lasts two days.
  absl::Time t = b;
  absl::TimeZone::CivilTransition tr;
  for (int i = 0; i < 4 && zone_.PrevTransition(t, &tr); ++i) {
    t = zone_.At(tr.to).trans;
    if (t < probe - absl::Hours(48)) break;
    if (tr.from > tr.to) c = std::max(c, absl::CivilMinute(tr.from - 1));
  }
  const absl::CivilMinute lo = SearchStart(c);
  while (const auto named = PreviousNamed(c, lo)) {
    const absl::Time r = Resolve(zone_, *named);
    if (r < b) return absl::ToUnixSeconds(r);
    c = *named - 1;
  }
  return std::nullopt;
}

// Between two transitions the UTC offset is fixed and local readings advance with real
// time, so the first named reading after `after`'s is the answer unless it lies past the
// next transition; then the search restarts at the transition with the new offset.
std::optional<int64_t> Schedule::NextElapsed(int64_t after) const {
  absl::Time t0 = absl::FromUnixSeconds(after);
  bool inclusive = false;  // the first segment excludes `after` itself
  absl::CivilMinute hi;
  for (bool first = true;; first = false) {
    const absl::TimeZone::CivilInfo info = zone_.At(t0);
    absl::CivilMinute start = inclusive ? CeilMinute(info.cs) : absl::CivilMinute(info.cs) + 1;
    start = std::max(start, absl::CivilMinute(kMinYear, 1, 1, 0, 0));
    if (first) hi = SearchEnd(start);
    const auto named = NextNamed(start, hi);
    if (!named) return std::nullopt;
    const absl::Time t = t0 + absl::Seconds(absl::CivilSecond(*named) - info.cs);
    absl::TimeZone::CivilTransition tr;
    if (!zone_.NextTransition(t0, &tr)) return absl::ToUnixSeconds(t);
    const absl::Time trans = zone_.At(tr.to).trans;
    if (t < trans) return absl::ToUnixSeconds(t);
    t0 = trans;
    inclusive = true;
  }
}

std::optional<int64_t> Schedule::PreviousElapsed(int64_t before) const {
  absl::Time t0 = absl::FromUnixSeconds(before);  // ticks are searched strictly before t0
  absl::CivilMinute lo;
  for (bool first = true;; first = false) {
    const absl::Time probe = t0 - absl::Seconds(1);
    const absl::TimeZone::CivilInfo info = zone_.At(probe);
    const absl::CivilMinute start = std::min(absl::CivilMinute(info.cs), absl::CivilMinute(kMaxYear, 12, 31, 23, 59));
    if (first) lo = SearchStart(start);
    const auto named = PreviousNamed(start, lo);
    if (!named) return std::nullopt;
    const absl::Time t = probe + absl::Seconds(absl::CivilSecond(*named) - info.cs);
    absl::TimeZone::CivilTransition tr;
    if (!zone_.PrevTransition(t0, &tr)) return absl::ToUnixSeconds(t);
    const absl::Time trans = zone_.At(tr.to).trans;
    if (t >= trans) return absl::ToUnixSeconds(t);
    t0 = trans;
  }
}

bool Schedule::IsTick(int64_t t) const {
  if (t == std::numeric_limits<int64_t>::min()) return false;
  const auto next = Next(t - 1);
  return next && *next == t;
}

Result<Interval> Schedule::IntervalEndingAt(int64_t tick) const {
  if (!recurring()) return Status::InvalidArgument("schedule \"" + expression_ + "\" has no ticks");
  if (!IsTick(tick)) {
    return Status::InvalidArgument(FormatLocal(tick) + " is not a tick of cron \"" + expression_ + "\" in " +
                                   zone_name_);
  }
  const auto previous = Previous(tick);
  if (!previous) {
    return Status::InvalidArgument("cron \"" + expression_ + "\" has no tick before " + FormatLocal(tick));
  }
  return Interval{*previous, tick};
}

std::vector<int64_t> Schedule::Ticks(int64_t from, int64_t to) const {
  std::vector<int64_t> out;
  if (from >= to) return out;
  std::optional<int64_t> t = from == std::numeric_limits<int64_t>::min() ? Next(from) : Next(from - 1);
  for (; t && *t < to; t = Next(*t)) out.push_back(*t);
  return out;
}

std::vector<Interval> Schedule::Intervals(int64_t from, int64_t to) const {
  std::vector<Interval> out;
  const std::vector<int64_t> ticks = Ticks(from, to == std::numeric_limits<int64_t>::max() ? to : to + 1);
  for (size_t i = 1; i < ticks.size(); ++i) out.push_back({ticks[i - 1], ticks[i]});
  return out;
}

std::string Schedule::FormatLocal(int64_t t) const {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S%Ez", absl::FromUnixSeconds(t), zone_);
}

}  // namespace strata::orchestrate
