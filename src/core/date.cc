#include "core/date.h"

#include <cstdio>
#include <ctime>

namespace strata {
namespace {

// Howard Hinnant's days_from_civil / civil_from_days.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int* y_out, unsigned* m_out, unsigned* d_out) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  *y_out = static_cast<int>(y + (m <= 2));
  *m_out = m;
  *d_out = d;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int y, unsigned m) {
  static const unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

bool ParseDigits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

}  // namespace

Date Date::FromYmd(int year, unsigned month, unsigned day) { return Date(DaysFromCivil(year, month, day)); }

Result<Date> Date::Parse(std::string_view text) {
  int y, m, d;
  if (text.size() != 10 || text[4] != '-' || text[7] != '-' || !ParseDigits(text, 0, 4, &y) ||
      !ParseDigits(text, 5, 2, &m) || !ParseDigits(text, 8, 2, &d) || m < 1 || m > 12 || d < 1 ||
      static_cast<unsigned>(d) > DaysInMonth(y, m)) {
    return Status::InvalidArgument("invalid date '" + std::string(text) + "' (expected YYYY-MM-DD)");
  }
  return FromYmd(y, m, d);
}

Date Date::TodayUtc() { return Date(static_cast<int64_t>(std::time(nullptr)) / 86400); }

void Date::ToYmd(int* year, unsigned* month, unsigned* day) const { CivilFromDays(days_, year, month, day); }

std::string Date::ToString() const {
  int y;
  unsigned m, d;
  ToYmd(&y, &m, &d);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", y, m, d);
  return buf;
}

std::string Date::ToCompactString() const {
  int y;
  unsigned m, d;
  ToYmd(&y, &m, &d);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d%02u%02u", y, m, d);
  return buf;
}

std::string FormatTimestamp(int64_t epoch_seconds) {
  int64_t days = epoch_seconds >= 0 ? epoch_seconds / 86400 : (epoch_seconds - 86399) / 86400;
  int64_t secs = epoch_seconds - days * 86400;
  int y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02d:%02d:%02d", y, m, d, static_cast<int>(secs / 3600),
                static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60));
  return buf;
}

std::string FormatTimestampMicros(int64_t epoch_micros) {
  int64_t secs = epoch_micros / 1000000, micros = epoch_micros % 1000000;
  if (micros < 0) {
    micros += 1000000;
    --secs;
  }
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%06lld", static_cast<long long>(micros));
  return FormatTimestamp(secs) + frac;
}

Result<int64_t> ParseTimestamp(std::string_view text) {
  auto bad = [&] {
    return Status::InvalidArgument("invalid timestamp '" + std::string(text) + "' (expected YYYY-MM-DD HH:MM:SS)");
  };
  if (text.size() < 19) return bad();
  auto date = Date::Parse(text.substr(0, 10));
  if (!date.ok()) return bad();
  int hh, mm, ss;
  if ((text[10] != ' ' && text[10] != 'T') || text[13] != ':' || text[16] != ':' || !ParseDigits(text, 11, 2, &hh) ||
      !ParseDigits(text, 14, 2, &mm) || !ParseDigits(text, 17, 2, &ss) || hh > 23 || mm > 59 || ss > 60) {
    return bad();
  }
  size_t pos = 19;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
  }
  if (pos < text.size() && text[pos] == 'Z') ++pos;
  if (pos != text.size()) return bad();
  return date->StartEpochSeconds() + hh * 3600 + mm * 60 + ss;
}

}  // namespace strata
