// Civil dates and UTC timestamps, independent of the process time zone.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace strata {

// A calendar day (proleptic Gregorian), stored as days since 1970-01-01.
class Date {
 public:
  Date() = default;
  static Date FromDays(int64_t days) { return Date(days); }
  static Date FromYmd(int year, unsigned month, unsigned day);
  // Parses "YYYY-MM-DD"; rejects anything else, including impossible days.
  static Result<Date> Parse(std::string_view text);
  // Today in UTC.
  static Date TodayUtc();

  int64_t days() const { return days_; }
  void ToYmd(int* year, unsigned* month, unsigned* day) const;
  std::string ToString() const;         // "YYYY-MM-DD"
  std::string ToCompactString() const;  // "YYYYMMDD"
  // Seconds since the epoch of this day's midnight UTC.
  int64_t StartEpochSeconds() const { return days_ * 86400; }

  Date operator+(int64_t n) const { return Date(days_ + n); }
  Date operator-(int64_t n) const { return Date(days_ - n); }
  int64_t operator-(Date other) const { return days_ - other.days_; }
  auto operator<=>(const Date&) const = default;

 private:
  explicit Date(int64_t days) : days_(days) {}
  int64_t days_ = 0;
};

// Formats epoch seconds as "YYYY-MM-DD HH:MM:SS" (UTC), the form all simulated sources use.
std::string FormatTimestamp(int64_t epoch_seconds);
// Formats epoch microseconds as "YYYY-MM-DD HH:MM:SS.ffffff" (UTC), as dbt's current_timestamp.
std::string FormatTimestampMicros(int64_t epoch_micros);
// Parses "YYYY-MM-DD HH:MM:SS" or "YYYY-MM-DDTHH:MM:SS[.fff][Z]" as UTC epoch seconds.
Result<int64_t> ParseTimestamp(std::string_view text);

}  // namespace strata
