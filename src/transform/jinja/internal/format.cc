// String formatting: "..." % args and "...".format(...).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "transform/jinja/internal/ops.h"
#include "transform/jinja/internal/source.h"
#include "transform/jinja/internal/util.h"

namespace strata::jinja::internal {
namespace {

bool IntLike(const Value& v) { return v.is_int() || v.is_bool(); }
int64_t IntOf(const Value& v) { return v.is_bool() ? (v.as_bool() ? 1 : 0) : v.as_int(); }

std::string Printf(const std::string& fmt, double d) {
  char buf[512];
  int n = std::snprintf(buf, sizeof(buf), fmt.c_str(), d);
  if (n < 0) Fail("bad number format");
  if (static_cast<size_t>(n) < sizeof(buf)) return std::string(buf, static_cast<size_t>(n));
  std::string out(static_cast<size_t>(n) + 1, '\0');
  std::snprintf(out.data(), out.size(), fmt.c_str(), d);
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string ToBase(uint64_t v, int base, bool upper) {
  if (v == 0) return "0";
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  while (v > 0) {
    out.insert(out.begin(), digits[v % static_cast<uint64_t>(base)]);
    v /= static_cast<uint64_t>(base);
  }
  return out;
}

void GroupThousands(std::string* digits, char sep) {
  size_t end = digits->find_first_not_of("0123456789");
  if (end == std::string::npos) end = digits->size();
  for (size_t i = end; i > 3; i -= 3) digits->insert(i - 3, 1, sep);
}

void Pad(std::string* body, const std::string& sign, char fill, char align, int width, std::string* out) {
  size_t len = CharCount(*body) + sign.size();
  size_t pad = width > 0 && static_cast<size_t>(width) > len ? static_cast<size_t>(width) - len : 0;
  std::string fills(pad, fill);
  switch (align) {
    case '<':
      *out += sign + *body + fills;
      break;
    case '^':
      *out += std::string(pad / 2, fill) + sign + *body + std::string(pad - pad / 2, fill);
      break;
    case '=':
      *out += sign + fills + *body;
      break;
    default:
      *out += fills + sign + *body;
      break;
  }
}

// Applies a format spec like Python's format(value, spec), for the common subset.
void ApplySpec(const Value& v, std::string_view spec, std::string* out) {
  char fill = ' ', align = 0, sign = '-', type = 0, group = 0;
  bool alt = false;
  int width = -1, precision = -1;
  size_t i = 0, n = spec.size();
  auto is_align = [](char c) { return c == '<' || c == '>' || c == '^' || c == '='; };
  if (n >= 2 && is_align(spec[1])) {
    fill = spec[0];
    align = spec[1];
    i = 2;
  } else if (n >= 1 && is_align(spec[0])) {
    align = spec[0];
    i = 1;
  }
  if (i < n && (spec[i] == '+' || spec[i] == '-' || spec[i] == ' ')) sign = spec[i++];
  if (i < n && spec[i] == '#') alt = (++i, true);
  if (i < n && spec[i] == '0') {
    if (align == 0) {
      fill = '0';
      align = '=';
    }
    ++i;
  }
  while (i < n && spec[i] >= '0' && spec[i] <= '9') width = (width < 0 ? 0 : width * 10) + (spec[i++] - '0');
  if (i < n && (spec[i] == ',' || spec[i] == '_')) group = spec[i++];
  if (i < n && spec[i] == '.') {
    ++i;
    precision = 0;
    if (i >= n || spec[i] < '0' || spec[i] > '9') Fail("format specifier missing precision");
    while (i < n && spec[i] >= '0' && spec[i] <= '9') precision = precision * 10 + (spec[i++] - '0');
  }
  if (i < n) type = spec[i++];
  if (i != n) Fail("invalid format specifier '" + std::string(spec) + "'");

  if (type == 's' || (type == 0 && !v.is_number())) {
    if (type == 's' && v.is_number()) Fail("unknown format code 's' for object of type '" + v.TypeName() + "'");
    std::string body = v.Str();
    if (precision >= 0) {
      auto chars = Chars(body);
      if (chars.size() > static_cast<size_t>(precision)) {
        std::string cut;
        for (int k = 0; k < precision; ++k) cut += chars[static_cast<size_t>(k)];
        body = cut;
      }
    }
    Pad(&body, "", fill, align == 0 ? '<' : align, width, out);
    return;
  }
  if (!v.is_number()) {
    Fail(std::string("unknown format code '") + type + "' for object of type '" + v.TypeName() + "'");
  }
  std::string body;
  bool negative = false;
  if (type == 0) type = IntLike(v) ? 'd' : (precision >= 0 ? 'g' : 'r');
  switch (type) {
    case 'd':
    case 'x':
    case 'X':
    case 'o':
    case 'b':
    case 'c': {
      if (!IntLike(v)) Fail(std::string("unknown format code '") + type + "' for object of type 'float'");
      int64_t x = IntOf(v);
      negative = x < 0;
      uint64_t mag = negative ? static_cast<uint64_t>(0) - static_cast<uint64_t>(x) : static_cast<uint64_t>(x);
      if (type == 'c') {
        body = std::string(1, static_cast<char>(x));
        break;
      }
      int base = type == 'd' ? 10 : type == 'o' ? 8 : type == 'b' ? 2 : 16;
      body = ToBase(mag, base, type == 'X');
      if (group && type == 'd') GroupThousands(&body, group);
      if (alt && base != 10)
        body = std::string("0") + (type == 'o' ? "o" : type == 'b' ? "b" : type == 'X' ? "X" : "x") + body;
      break;
    }
    case 'r': {
      double d = v.ToDouble();
      negative = std::signbit(d);
      body = FloatRepr(std::fabs(d));
      break;
    }
    case 'f':
    case 'F':
    case 'e':
    case 'E':
    case 'g':
    case 'G':
    case '%': {
      double d = v.ToDouble() * (type == '%' ? 100.0 : 1.0);
      negative = std::signbit(d) && d != 0;
      char conv = type == '%' ? 'f' : type;
      body = Printf("%" + std::string(alt ? "#" : "") + "." + std::to_string(precision < 0 ? 6 : precision) + conv,
                    std::fabs(d));
      if (group) GroupThousands(&body, group);
      if (type == '%') body += "%";
      break;
    }
    default:
      Fail(std::string("unknown format code '") + type + "' for object of type '" + v.TypeName() + "'");
  }
  std::string sign_text = negative ? "-" : sign == '+' ? "+" : sign == ' ' ? " " : "";
  Pad(&body, sign_text, fill, align == 0 ? '>' : align, width, out);
}

}  // namespace

std::string PercentFormat(const std::string& fmt, const Value& args) {
  std::vector<Value> values;
  const Dict* mapping = nullptr;
  if (args.is_list() && args.as_list().is_tuple) {
    values = args.as_list().items;
  } else {
    if (args.is_dict()) mapping = &args.as_dict();
    values.push_back(args);
  }
  size_t next = 0;
  auto take = [&]() -> const Value& {
    if (next >= values.size()) Fail("not enough arguments for format string");
    return values[next++];
  };
  std::string out;
  const size_t n = fmt.size();
  for (size_t i = 0; i < n; ++i) {
    if (fmt[i] != '%') {
      out.push_back(fmt[i]);
      continue;
    }
    if (++i >= n) Fail("incomplete format");
    if (fmt[i] == '%') {
      out.push_back('%');
      continue;
    }
    std::optional<Value> keyed;
    if (fmt[i] == '(') {
      size_t close = fmt.find(')', i);
      if (close == std::string::npos) Fail("incomplete format key");
      std::string key = fmt.substr(i + 1, close - i - 1);
      if (mapping == nullptr) Fail("format requires a mapping");
      const Value* v = mapping->Find(key);
      if (v == nullptr) Fail("KeyError: '" + key + "'");
      keyed = *v;
      i = close + 1;
    }
    std::string flags;
    while (i < n && std::string_view("-+ #0").find(fmt[i]) != std::string_view::npos) flags.push_back(fmt[i++]);
    std::string width, precision;
    if (i < n && fmt[i] == '*') {
      const Value& w = take();
      if (!w.is_int()) Fail("* wants int");
      width = std::to_string(w.as_int());
      ++i;
    }
    while (i < n && fmt[i] >= '0' && fmt[i] <= '9') width.push_back(fmt[i++]);
    if (i < n && fmt[i] == '.') {
      precision = ".";
      ++i;
      while (i < n && fmt[i] >= '0' && fmt[i] <= '9') precision.push_back(fmt[i++]);
    }
    while (i < n && (fmt[i] == 'h' || fmt[i] == 'l' || fmt[i] == 'L')) ++i;
    if (i >= n) Fail("incomplete format");
    char conv = fmt[i];
    const Value& v = keyed ? *keyed : take();
    std::string body;
    switch (conv) {
      case 's':
      case 'r':
      case 'a': {
        body = conv == 's' ? v.Str() : v.Repr();
        if (precision.size() > 1) body = body.substr(0, static_cast<size_t>(std::atoi(precision.c_str() + 1)));
        int w = width.empty() ? 0 : std::atoi(width.c_str());
        if (static_cast<int>(CharCount(body)) < w) {
          std::string pad(static_cast<size_t>(w) - CharCount(body), ' ');
          body = flags.find('-') != std::string::npos ? body + pad : pad + body;
        }
        break;
      }
      case 'd':
      case 'i':
      case 'u':
      case 'x':
      case 'X':
      case 'o':
      case 'c': {
        if (!v.is_number()) Fail(std::string("%") + conv + " format: a number is required, not " + v.TypeName());
        int64_t x = IntLike(v) ? IntOf(v) : static_cast<int64_t>(std::trunc(v.as_float()));
        char c = conv == 'i' || conv == 'u' ? 'd' : conv;
        std::string f = "%" + flags + width + precision + "ll" + c;
        if (c == 'c') f = "%" + flags + width + "c";
        char buf[128];
        if (c == 'c') {
          std::snprintf(buf, sizeof(buf), f.c_str(), static_cast<int>(x));
        } else {
          std::snprintf(buf, sizeof(buf), f.c_str(), static_cast<long long>(x));
        }
        body = buf;
        break;
      }
      case 'f':
      case 'F':
      case 'e':
      case 'E':
      case 'g':
      case 'G':
        if (!v.is_number()) Fail(std::string("%") + conv + " format: a real number is required, not " + v.TypeName());
        body = Printf("%" + flags + width + precision + conv, v.ToDouble());
        break;
      default:
        Fail(std::string("unsupported format character '") + conv + "'");
    }
    out += body;
  }
  if (mapping == nullptr && next < values.size()) Fail("not all arguments converted during string formatting");
  return out;
}

std::string PyFormat(const std::string& fmt, const Args& args) {
  std::string out;
  size_t auto_index = 0;
  const size_t n = fmt.size();
  for (size_t i = 0; i < n; ++i) {
    char c = fmt[i];
    if (c == '}') {
      if (i + 1 < n && fmt[i + 1] == '}') {
        out.push_back('}');
        ++i;
        continue;
      }
      Fail("single '}' encountered in format string");
    }
    if (c != '{') {
      out.push_back(c);
      continue;
    }
    if (i + 1 < n && fmt[i + 1] == '{') {
      out.push_back('{');
      ++i;
      continue;
    }
    size_t close = fmt.find('}', i + 1);
    if (close == std::string::npos) Fail("single '{' encountered in format string");
    std::string field = fmt.substr(i + 1, close - i - 1);
    if (field.find('{') != std::string::npos) Fail("nested format fields are not supported");
    i = close;
    std::string spec;
    char conversion = 0;
    size_t colon = field.find(':');
    if (colon != std::string::npos) {
      spec = field.substr(colon + 1);
      field.resize(colon);
    }
    size_t bang = field.find('!');
    if (bang != std::string::npos) {
      if (bang + 2 != field.size()) Fail("invalid conversion in format string");
      conversion = field[bang + 1];
      field.resize(bang);
    }
    size_t first_end = field.find_first_of(".[");
    std::string head = field.substr(0, first_end);
    Value v;
    if (head.empty()) {
      if (auto_index >= args.positional.size()) {
        Fail("replacement index " + std::to_string(auto_index) + " out of range for positional args tuple");
      }
      v = args.positional[auto_index++];
    } else if (head.find_first_not_of("0123456789") == std::string::npos) {
      size_t index = static_cast<size_t>(std::stoul(head));
      if (index >= args.positional.size()) {
        Fail("replacement index " + head + " out of range for positional args tuple");
      }
      v = args.positional[index];
    } else {
      const Value* kw = args.Kwarg(head);
      if (kw == nullptr) Fail("KeyError: '" + head + "'");
      v = *kw;
    }
    for (size_t p = first_end; p != std::string::npos && p < field.size();) {
      if (field[p] == '.') {
        size_t e = field.find_first_of(".[", p + 1);
        v = Subscript(v, Value(field.substr(p + 1, e == std::string::npos ? std::string::npos : e - p - 1)));
        p = e;
      } else {
        size_t e = field.find(']', p);
        if (e == std::string::npos) Fail("missing ']' in format string");
        std::string key = field.substr(p + 1, e - p - 1);
        bool digits = !key.empty() && key.find_first_not_of("0123456789") == std::string::npos;
        v = Subscript(v, digits ? Value(static_cast<int64_t>(std::stoll(key))) : Value(key));
        p = e + 1;
      }
    }
    if (conversion == 'r' || conversion == 'a') {
      v = Value(v.Repr());
    } else if (conversion == 's') {
      v = Value(v.Str());
    } else if (conversion != 0) {
      Fail(std::string("unknown conversion specifier '") + conversion + "'");
    }
    ApplySpec(v, spec, &out);
  }
  return out;
}

}  // namespace strata::jinja::internal
