#include "transform/seed_csv.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <functional>

namespace strata::transform {

namespace {

// Calls `record(fields, line)` for each record of a CSV text (RFC 4180 quoting; "" inside
// quotes is a quote). Blank lines are skipped; `line` is where the record starts.
Status ForEachRecord(const std::string& text, const std::string& shown, char delimiter,
                     const std::function<Status(std::vector<std::string>&, int)>& record) {
  std::vector<std::string> fields(1);
  int line = 1, record_line = 1;
  bool quoted = false, any = false;
  auto end_record = [&]() -> Status {
    if (any) STRATA_RETURN_IF_ERROR(record(fields, record_line));
    fields.assign(1, std::string());
    any = false;
    record_line = line;
    return Status::OK();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        if (c == '\n') ++line;
        fields.back() += c;
      }
      continue;
    }
    if (c == '"') {
      quoted = true;
      any = true;
    } else if (c == delimiter) {
      fields.emplace_back();
      any = true;
    } else if (c == '\n') {
      ++line;
      STRATA_RETURN_IF_ERROR(end_record());
    } else if (c != '\r') {
      fields.back() += c;
      any = true;
    }
  }
  if (quoted) return Status::InvalidArgument(shown + ":" + std::to_string(record_line) + ": a quote is never closed");
  return end_record();
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool Digits(std::string_view s, size_t min, size_t max) {
  if (s.size() < min || s.size() > max) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

int ToInt(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

// Whether `s` is [+-]digits; `*digits` gets the digits without leading zeros.
bool IsInteger(std::string_view s, std::string_view* digits) {
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
  if (!Digits(s, 1, s.size())) return false;
  while (s.size() > 1 && s[0] == '0') s.remove_prefix(1);
  *digits = s;
  return true;
}

// Whether `s` is a decimal number with a fraction or an exponent: [+-]d[.d][e[+-]d].
bool IsFractional(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  size_t int_digits = 0, frac_digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++int_digits;
  bool dot = i < s.size() && s[i] == '.';
  if (dot) {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++frac_digits;
  }
  if (int_digits + frac_digits == 0) return false;
  bool exponent = i < s.size() && (s[i] == 'e' || s[i] == 'E');
  if (exponent) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!Digits(s.substr(i), 1, 4)) return false;
    i = s.size();
  }
  return i == s.size() && (dot || exponent);
}

// Whether `s` is YYYY-M-D (months and days of one or two digits, as strptime reads %m and
// %d) naming a real day.
bool IsDate(std::string_view s) {
  size_t a = s.find('-');
  if (a != 4) return false;
  size_t b = s.find('-', a + 1);
  if (b == std::string_view::npos) return false;
  std::string_view y = s.substr(0, a), m = s.substr(a + 1, b - a - 1), d = s.substr(b + 1);
  if (!Digits(y, 4, 4) || !Digits(m, 1, 2) || !Digits(d, 1, 2)) return false;
  int year = ToInt(y), month = ToInt(m), day = ToInt(d);
  if (month < 1 || month > 12 || day < 1) return false;
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return day <= kDays[month - 1] + (month == 2 && leap ? 1 : 0);
}

// Whether `s` is a date and a time, "YYYY-MM-DD HH:MM:SS" or ISO 8601 (the date alone, or
// "T" or a space, HH:MM[:SS[.fraction]], then an optional Z or +HH[:MM] offset). `*offset` says whether it
// has a zone.
bool IsTimestamp(std::string_view s, bool* offset) {
  *offset = false;
  size_t sep = s.find_first_of("T ");
  if (sep == std::string_view::npos) return IsDate(s);  // ISO 8601 allows the date alone
  if (!IsDate(s.substr(0, sep))) return false;
  std::string_view t = s.substr(sep + 1);
  if (!t.empty() && (t.back() == 'Z' || t.back() == 'z')) {
    *offset = true;
    t.remove_suffix(1);
  } else if (size_t z = t.find_last_of("+-"); z != std::string_view::npos) {
    std::string_view zone = t.substr(z + 1);
    if (zone.size() == 5 && zone[2] == ':') {
      if (!Digits(zone.substr(0, 2), 2, 2) || !Digits(zone.substr(3), 2, 2)) return false;
    } else if (!Digits(zone, 2, 4) || zone.size() == 3) {
      return false;
    }
    *offset = true;
    t = t.substr(0, z);
  }
  // HH:MM[:SS[.f]]
  if (t.size() < 4) return false;
  size_t c1 = t.find(':');
  if (c1 == std::string_view::npos || !Digits(t.substr(0, c1), 1, 2) || ToInt(t.substr(0, c1)) > 23) return false;
  std::string_view rest = t.substr(c1 + 1);
  size_t c2 = rest.find(':');
  std::string_view mm = rest.substr(0, c2);
  if (!Digits(mm, 2, 2) || ToInt(mm) > 59) return false;
  if (c2 == std::string_view::npos) return true;
  std::string_view ss = rest.substr(c2 + 1);
  size_t dot = ss.find('.');
  if (dot != std::string_view::npos) {
    if (!Digits(ss.substr(dot + 1), 1, 9)) return false;
    ss = ss.substr(0, dot);
  }
  return Digits(ss, 2, 2) && ToInt(ss) <= 59;
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
  }
  return true;
}

// What the values of one column allow, narrowed value by value.
struct Candidates {
  bool integer = true, fractional = true, date = true, timestamp = true, boolean = true;
  size_t max_digits = 0;      // of the integers
  bool beyond_int32 = false;  // an integer outside [-2^31, 2^31)
  bool offset = false;        // a timestamp with a zone
  bool text_nulls = false;    // a value that is null only for a text column

  void See(std::string_view raw) {
    std::string_view v = Trim(raw);
    if (v.empty()) {
      // Null for every type; the engines load a blank (not empty) field as text, though.
      if (!raw.empty()) text_nulls = true;
      return;
    }
    if (IEquals(v, "null")) text_nulls = true;
    std::string_view digits;
    const bool is_integer = IsInteger(v, &digits);
    if (is_integer) {
      max_digits = std::max(max_digits, digits.size());
      if (digits.size() > 10 || (digits.size() == 10 && digits > (v[0] == '-' ? "2147483648" : "2147483647"))) {
        beyond_int32 = true;
      }
    }
    integer = integer && is_integer;
    fractional = fractional && (is_integer || IsFractional(v));
    if (date) date = IsDate(v);
    if (timestamp) {
      bool zone = false;
      timestamp = IsTimestamp(v, &zone);
      offset = offset || zone;
    }
    if (boolean) boolean = IEquals(v, "true") || IEquals(v, "false");
  }

  std::string Type() const {
    if (integer) {
      if (max_digits > 38) return "text";
      if (max_digits > 18) return "decimal(38,0)";
      return beyond_int32 ? "bigint" : "integer";
    }
    if (fractional) return "float8";
    if (date) return "date";
    if (timestamp) return offset ? "timestamp with time zone" : "timestamp";
    if (boolean) return "boolean";
    return "text";
  }
};

}  // namespace

Result<std::vector<SeedColumn>> ReadSeedColumns(const std::string& text, const std::string& shown, char delimiter) {
  std::vector<std::string> header;
  std::vector<Candidates> columns;
  STRATA_RETURN_IF_ERROR(ForEachRecord(text, shown, delimiter, [&](std::vector<std::string>& fields, int line) {
    if (header.empty()) {
      header = std::move(fields);
      columns.resize(header.size());
      return Status::OK();
    }
    if (fields.size() != header.size()) {
      return Status::InvalidArgument(shown + ":" + std::to_string(line) + ": " + std::to_string(fields.size()) +
                                     " field(s), but the header has " + std::to_string(header.size()));
    }
    for (size_t i = 0; i < fields.size(); ++i) columns[i].See(fields[i]);
    return Status::OK();
  }));
  if (header.empty()) return Status::InvalidArgument(shown + ": the file is empty (a seed needs a header row)");
  std::vector<SeedColumn> out;
  for (size_t i = 0; i < header.size(); ++i) {
    SeedColumn c;
    c.name = header[i];
    c.type = columns[i].Type();
    c.text_nulls = c.type == "text" && columns[i].text_nulls;
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace strata::transform
