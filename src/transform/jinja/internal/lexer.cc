#include "transform/jinja/internal/lexer.h"

#include <charconv>
#include <cstring>
#include <string_view>

namespace strata::jinja::internal {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsIdent(char c) { return IsIdentStart(c) || IsDigit(c); }
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// A closing tag such as {%- endraw -%}.
struct EndTag {
  size_t begin = std::string::npos;  // of "{%"
  size_t word = 0;                   // of the tag name
  size_t end = 0;                    // of "%}"
  size_t after = 0;                  // just past "%}"
  bool strip_before = false;
  bool strip_after = false;
};

class Lexer {
 public:
  explicit Lexer(const std::shared_ptr<const Source>& source) : source_(source), s_(source->text()) {}

  std::vector<Token> Run() {
    const size_t n = s_.size();
    while (pos_ < n) {
      size_t k = FindTagStart(pos_);
      EmitText(pos_, k, k + 2 < n && s_[k + 2] == '-');
      if (k >= n) break;
      char kind = s_[k + 1];
      if (kind == '#') {
        LexComment(k);
      } else if (kind == '%' && TryRaw(k)) {
        continue;
      } else {
        LexTag(k, kind == '%');
      }
    }
    Token eof;
    eof.type = Tok::kEof;
    eof.offset = static_cast<uint32_t>(n);
    out_.push_back(std::move(eof));
    return std::move(out_);
  }

 private:
  [[noreturn]] void Fail(size_t offset, std::string message) {
    throw Error(std::move(message), source_, static_cast<uint32_t>(offset));
  }

  bool Match(size_t p, std::string_view what) const { return s_.compare(p, what.size(), what) == 0; }

  size_t FindTagStart(size_t from) const {
    for (size_t p = s_.find('{', from); p != std::string::npos; p = s_.find('{', p + 1)) {
      if (p + 1 < s_.size() && (s_[p + 1] == '{' || s_[p + 1] == '%' || s_[p + 1] == '#')) return p;
    }
    return s_.size();
  }

  void Push(Tok type, size_t offset, std::string text = {}) {
    Token t;
    t.type = type;
    t.offset = static_cast<uint32_t>(offset);
    t.text = std::move(text);
    out_.push_back(std::move(t));
  }

  void EmitText(size_t begin, size_t end, bool rstrip) {
    if (lstrip_next_) {
      while (begin < end && IsSpace(s_[begin])) ++begin;
      lstrip_next_ = false;
    }
    if (rstrip) {
      while (end > begin && IsSpace(s_[end - 1])) --end;
    }
    if (end > begin) Push(Tok::kText, begin, s_.substr(begin, end - begin));
  }

  void LexComment(size_t k) {
    size_t end = s_.find("#}", k + 2);
    if (end == std::string::npos) Fail(k, "unclosed comment (missing '#}')");
    lstrip_next_ = end > k + 2 && s_[end - 1] == '-';
    pos_ = end + 2;
  }

  // Parses "{%[-+] word [-+]%}" at `k` if the tag is exactly `word`.
  bool MatchSimpleTag(size_t k, std::string_view word, EndTag* tag) const {
    if (!Match(k, "{%")) return false;
    size_t p = k + 2;
    bool strip_before = false;
    if (p < s_.size() && (s_[p] == '-' || s_[p] == '+')) strip_before = s_[p++] == '-';
    while (p < s_.size() && IsSpace(s_[p])) ++p;
    if (!Match(p, word) || (p + word.size() < s_.size() && IsIdent(s_[p + word.size()]))) return false;
    tag->word = p;
    p += word.size();
    while (p < s_.size() && IsSpace(s_[p])) ++p;
    bool strip_after = false;
    if (p < s_.size() && (s_[p] == '-' || s_[p] == '+')) strip_after = s_[p++] == '-';
    if (!Match(p, "%}")) return false;
    tag->begin = k;
    tag->end = p;
    tag->after = p + 2;
    tag->strip_before = strip_before;
    tag->strip_after = strip_after;
    return true;
  }

  EndTag FindEndTag(size_t from, std::string_view word) const {
    EndTag tag;
    for (size_t p = s_.find("{%", from); p != std::string::npos; p = s_.find("{%", p + 1)) {
      if (MatchSimpleTag(p, word, &tag)) return tag;
    }
    return EndTag();
  }

  // {% raw %}...{% endraw %}: the body is text.
  bool TryRaw(size_t k) {
    EndTag open;
    if (!MatchSimpleTag(k, "raw", &open)) return false;
    EndTag close = FindEndTag(open.after, "endraw");
    if (close.begin == std::string::npos) Fail(k, "unclosed {% raw %} block (missing {% endraw %})");
    lstrip_next_ = open.strip_after;
    EmitText(open.after, close.begin, close.strip_before);
    lstrip_next_ = close.strip_after;
    pos_ = close.after;
    return true;
  }

  void LexTag(size_t k, bool block) {
    const size_t n = s_.size();
    size_t first = out_.size();
    Push(block ? Tok::kBlockBegin : Tok::kVarBegin, k);
    size_t p = k + 2;
    if (p < n && (s_[p] == '-' || s_[p] == '+')) ++p;
    std::vector<std::pair<char, size_t>> brackets;
    while (true) {
      while (p < n && IsSpace(s_[p])) ++p;
      if (p >= n) Fail(k, block ? "unclosed '{%' tag (missing '%}')" : "unclosed '{{' tag (missing '}}')");
      if (!brackets.empty()) {
        // The tag ends while a bracket is open ("{% macro m( %}"); a "}}" may still close
        // nested dicts ("{{ {'a': {'b': 1}} }}").
        size_t q = p;
        if (s_[q] == '-' || s_[q] == '+') ++q;
        if (Match(q, "%}") || (Match(q, "}}") && brackets.back().first != '{')) {
          Fail(brackets.back().second, std::string("'") + brackets.back().first +
                                           "' is never closed (the tag ends at " +
                                           source_->Where(static_cast<uint32_t>(p)) + ")");
        }
      }
      if (brackets.empty()) {
        size_t q = p;
        if (s_[q] == '-' || s_[q] == '+') ++q;
        if (Match(q, block ? "%}" : "}}")) {
          Push(block ? Tok::kBlockEnd : Tok::kVarEnd, p);
          lstrip_next_ = s_[p] == '-';
          pos_ = q + 2;
          break;
        }
      }
      char c = s_[p];
      if (IsIdentStart(c)) {
        size_t b = p;
        while (p < n && IsIdent(s_[p])) ++p;
        Push(Tok::kName, b, s_.substr(b, p - b));
      } else if (IsDigit(c)) {
        p = LexNumber(p);
      } else if (c == '\'' || c == '"') {
        p = LexString(p);
      } else {
        p = LexOp(p, &brackets);
      }
    }
    // dbt's {% docs name %} body is raw text up to {% enddocs %}.
    if (block && out_.size() > first + 1 && out_[first + 1].type == Tok::kName && out_[first + 1].text == "docs") {
      EndTag close = FindEndTag(pos_, "enddocs");
      if (close.begin == std::string::npos) Fail(k, "unclosed {% docs %} block (missing {% enddocs %})");
      EmitText(pos_, close.begin, close.strip_before);
      if (out_.back().type != Tok::kText) Push(Tok::kText, close.begin, "");
      Push(Tok::kBlockBegin, close.begin);
      Push(Tok::kName, close.word, "enddocs");
      Push(Tok::kBlockEnd, close.end);
      lstrip_next_ = close.strip_after;
      pos_ = close.after;
    }
  }

  size_t LexNumber(size_t p) {
    const size_t n = s_.size();
    size_t b = p;
    auto digits = [&] {
      while (p < n && (IsDigit(s_[p]) || (s_[p] == '_' && p + 1 < n && IsDigit(s_[p + 1])))) ++p;
    };
    digits();
    bool is_float = false;
    // After a dot (foo.0.1) a number is an index, never a float.
    if (b == 0 || s_[b - 1] != '.') {
      if (p + 1 < n && s_[p] == '.' && IsDigit(s_[p + 1])) {
        ++p;
        digits();
        is_float = true;
      }
      if (p < n && (s_[p] == 'e' || s_[p] == 'E')) {
        size_t q = p + 1;
        if (q < n && (s_[q] == '+' || s_[q] == '-')) ++q;
        if (q < n && IsDigit(s_[q])) {
          p = q;
          digits();
          is_float = true;
        }
      }
    }
    std::string text;
    for (size_t i = b; i < p; ++i) {
      if (s_[i] != '_') text.push_back(s_[i]);
    }
    Token t;
    t.offset = static_cast<uint32_t>(b);
    if (is_float) {
      t.type = Tok::kFloat;
      auto r = std::from_chars(text.data(), text.data() + text.size(), t.float_value);
      if (r.ec != std::errc()) Fail(b, "invalid number '" + text + "'");
    } else {
      t.type = Tok::kInt;
      auto r = std::from_chars(text.data(), text.data() + text.size(), t.int_value);
      if (r.ec != std::errc()) Fail(b, "integer literal too large: " + text);
    }
    t.text = std::move(text);
    out_.push_back(std::move(t));
    return p;
  }

  // Python 'unicode-escape' decoding, as Jinja does: unknown escapes keep their backslash.
  size_t LexString(size_t p) {
    const size_t n = s_.size();
    char quote = s_[p];
    size_t b = p++;
    std::string v;
    while (true) {
      if (p >= n) Fail(b, "unterminated string literal");
      char c = s_[p];
      if (c == quote) {
        ++p;
        break;
      }
      if (c != '\\' || p + 1 >= n) {
        v.push_back(c);
        ++p;
        continue;
      }
      char e = s_[p + 1];
      p += 2;
      switch (e) {
        case '\n':
          break;
        case '\\':
          v.push_back('\\');
          break;
        case '\'':
          v.push_back('\'');
          break;
        case '"':
          v.push_back('"');
          break;
        case 'n':
          v.push_back('\n');
          break;
        case 't':
          v.push_back('\t');
          break;
        case 'r':
          v.push_back('\r');
          break;
        case 'a':
          v.push_back('\a');
          break;
        case 'b':
          v.push_back('\b');
          break;
        case 'f':
          v.push_back('\f');
          break;
        case 'v':
          v.push_back('\v');
          break;
        case 'x':
        case 'u':
        case 'U': {
          int len = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          uint32_t cp = 0;
          for (int i = 0; i < len; ++i) {
            int h = p < n ? HexValue(s_[p]) : -1;
            if (h < 0) Fail(p - 2 - i, std::string("truncated \\") + e + " escape in string literal");
            cp = cp * 16 + static_cast<uint32_t>(h);
            ++p;
          }
          if (cp > 0x10FFFF) Fail(p - len - 2, "invalid \\U escape in string literal");
          AppendUtf8(cp, &v);
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            uint32_t cp = static_cast<uint32_t>(e - '0');
            for (int i = 0; i < 2 && p < n && s_[p] >= '0' && s_[p] <= '7'; ++i) cp = cp * 8 + (s_[p++] - '0');
            AppendUtf8(cp, &v);
          } else {
            v.push_back('\\');
            v.push_back(e);
          }
      }
    }
    Push(Tok::kString, b, std::move(v));
    return p;
  }

  size_t LexOp(size_t p, std::vector<std::pair<char, size_t>>* brackets) {
    static constexpr std::string_view kTwo[] = {"**", "//", "==", "!=", "<=", ">="};
    for (std::string_view op : kTwo) {
      if (Match(p, op)) {
        Push(Tok::kOp, p, std::string(op));
        return p + 2;
      }
    }
    char c = s_[p];
    if (std::strchr("+-*/%~<>=.,:|()[]{}", c) == nullptr || c == '\0') {
      size_t len = 1;
      unsigned char u = static_cast<unsigned char>(c);
      if (u >= 0xC0) len = u >= 0xF0 ? 4 : u >= 0xE0 ? 3 : 2;
      Fail(p, "unexpected character '" + s_.substr(p, len) + "'");
    }
    if (c == '(' || c == '[' || c == '{') {
      brackets->push_back({c, p});
    } else if (c == ')' || c == ']' || c == '}') {
      char open = c == ')' ? '(' : c == ']' ? '[' : '{';
      if (brackets->empty()) Fail(p, std::string("unexpected '") + c + "'");
      if (brackets->back().first != open) {
        char want = brackets->back().first == '(' ? ')' : brackets->back().first == '[' ? ']' : '}';
        Fail(p, std::string("unexpected '") + c + "'; '" + brackets->back().first + "' opened at " +
                    source_->Where(static_cast<uint32_t>(brackets->back().second)) + " needs '" + want + "' first");
      }
      brackets->pop_back();
    }
    Push(Tok::kOp, p, std::string(1, c));
    return p + 1;
  }

  std::shared_ptr<const Source> source_;
  const std::string& s_;
  size_t pos_ = 0;
  bool lstrip_next_ = false;
  std::vector<Token> out_;
};

}  // namespace

std::vector<Token> Lex(const std::shared_ptr<const Source>& source) { return Lexer(source).Run(); }

std::string Describe(const Token& t) {
  switch (t.type) {
    case Tok::kText:
      return "text";
    case Tok::kVarBegin:
      return "'{{'";
    case Tok::kVarEnd:
      return "'}}'";
    case Tok::kBlockBegin:
      return "'{%'";
    case Tok::kBlockEnd:
      return "'%}'";
    case Tok::kName:
      return "'" + t.text + "'";
    case Tok::kString:
      return "string '" + t.text + "'";
    case Tok::kInt:
    case Tok::kFloat:
      return "number " + t.text;
    case Tok::kOp:
      return "'" + t.text + "'";
    case Tok::kEof:
      return "end of template";
  }
  return "token";
}

}  // namespace strata::jinja::internal
