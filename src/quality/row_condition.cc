// GE row conditions as SQL predicates.
#include <cctype>
#include <nlohmann/json.hpp>

#include "db/duckdb.h"
#include "quality/validator.h"

namespace strata::quality {

namespace {

enum class Tok {
  kName,
  kString,
  kNumber,
  kOp,
  kLParen,
  kRParen,
  kLBrack,
  kRBrack,
  kComma,
  kDot,
  kAnd,
  kOr,
  kNot,
  kEnd
};

struct Token {
  Tok kind;
  std::string text;
};

Result<std::vector<Token>> Tokenize(const std::string& s) {
  std::vector<Token> out;
  size_t i = 0;
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("row_condition " + nlohmann::json(s).dump() + ": " + why + " at character " +
                                   std::to_string(i + 1));
  };
  while (i < s.size()) {
    const char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '"' || c == '\'') {
      std::string text;
      size_t j = i + 1;
      for (; j < s.size() && s[j] != c; ++j) {
        if (s[j] == '\\' && j + 1 < s.size()) ++j;
        text += s[j];
      }
      if (j >= s.size()) return bad("a string is not closed");
      out.push_back({Tok::kString, text});
      i = j + 1;
    } else if (c == '`') {
      const size_t j = s.find('`', i + 1);
      if (j == std::string::npos) return bad("a `name` is not closed");
      out.push_back({Tok::kName, s.substr(i + 1, j - i - 1)});
      i = j + 1;
    } else if (std::isdigit(static_cast<unsigned char>(c)) ||
               (c == '-' && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
      size_t j = i + 1;
      while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == '.' || s[j] == 'e' ||
                              s[j] == 'E' || ((s[j] == '-' || s[j] == '+') && (s[j - 1] == 'e' || s[j - 1] == 'E')))) {
        ++j;
      }
      out.push_back({Tok::kNumber, s.substr(i, j - i)});
      i = j;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t j = i + 1;
      while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
      const std::string word = s.substr(i, j - i);
      out.push_back({word == "and"   ? Tok::kAnd
                     : word == "or"  ? Tok::kOr
                     : word == "not" ? Tok::kNot
                                     : Tok::kName,
                     word});
      i = j;
    } else if (s.compare(i, 2, "==") == 0 || s.compare(i, 2, "!=") == 0 || s.compare(i, 2, "<=") == 0 ||
               s.compare(i, 2, ">=") == 0) {
      out.push_back({Tok::kOp, s.substr(i, 2)});
      i += 2;
    } else if (c == '<' || c == '>' || c == '=') {
      out.push_back({Tok::kOp, std::string(1, c)});
      ++i;
    } else {
      static const std::string kSingles = "()[],.&|~";
      const size_t k = kSingles.find(c);
      if (k == std::string::npos) return bad(std::string("unexpected '") + c + "'");
      static const Tok kKinds[] = {Tok::kLParen, Tok::kRParen, Tok::kLBrack, Tok::kRBrack, Tok::kComma,
                                   Tok::kDot,    Tok::kAnd,    Tok::kOr,     Tok::kNot};
      out.push_back({kKinds[k], std::string(1, c)});
      ++i;
    }
  }
  out.push_back({Tok::kEnd, ""});
  return out;
}

// Recursive descent over the pandas / GE-experimental grammar:
//   expr := term (or term)*      term := factor (and factor)*
//   factor := not factor | ( expr ) | column test
//   column := name | `name` | col("name")
//   test := op value | [not] in [values] | .isnull() | .notnull() | .isNull() | .notNull()
class Parser {
 public:
  Parser(std::vector<Token> toks, std::string text) : t_(std::move(toks)), text_(std::move(text)) {}

  Result<std::string> Parse() {
    STRATA_ASSIGN_OR_RETURN(std::string e, Expr());
    if (t_[i_].kind != Tok::kEnd) return Bad("unexpected '" + t_[i_].text + "'");
    return e;
  }

 private:
  Status Bad(const std::string& why) const {
    return Status::InvalidArgument("row_condition " + nlohmann::json(text_).dump() + ": " + why);
  }
  bool Eat(Tok k) {
    if (t_[i_].kind != k) return false;
    ++i_;
    return true;
  }
  Result<std::string> Expr() {
    STRATA_ASSIGN_OR_RETURN(std::string left, Term());
    while (Eat(Tok::kOr)) {
      STRATA_ASSIGN_OR_RETURN(std::string right, Term());
      left = "(" + left + " OR " + right + ")";
    }
    return left;
  }
  Result<std::string> Term() {
    STRATA_ASSIGN_OR_RETURN(std::string left, Factor());
    while (Eat(Tok::kAnd)) {
      STRATA_ASSIGN_OR_RETURN(std::string right, Factor());
      left = "(" + left + " AND " + right + ")";
    }
    return left;
  }
  Result<std::string> Factor() {
    if (Eat(Tok::kNot)) {
      STRATA_ASSIGN_OR_RETURN(std::string inner, Factor());
      return "(NOT " + inner + ")";
    }
    if (Eat(Tok::kLParen)) {
      STRATA_ASSIGN_OR_RETURN(std::string inner, Expr());
      if (!Eat(Tok::kRParen)) return Bad("a '(' is not closed");
      return inner;
    }
    STRATA_ASSIGN_OR_RETURN(std::string column, Column());
    return Test(column);
  }
  Result<std::string> Column() {
    const Token& tok = t_[i_];
    if (tok.kind != Tok::kName) return Bad("expected a column name, found '" + tok.text + "'");
    ++i_;
    if (tok.text == "col" && t_[i_].kind == Tok::kLParen) {
      ++i_;
      if (t_[i_].kind != Tok::kString) return Bad("col() takes a quoted column name");
      std::string name = t_[i_++].text;
      if (!Eat(Tok::kRParen)) return Bad("col(\"name\") is not closed");
      return duck::QuoteIdent(name);
    }
    return duck::QuoteIdent(tok.text);
  }
  Result<std::string> Value() {
    const Token& tok = t_[i_];
    ++i_;
    if (tok.kind == Tok::kString) return duck::QuoteLiteral(tok.text);
    if (tok.kind == Tok::kNumber) return tok.text;
    if (tok.kind == Tok::kName && (tok.text == "True" || tok.text == "true")) return std::string("TRUE");
    if (tok.kind == Tok::kName && (tok.text == "False" || tok.text == "false")) return std::string("FALSE");
    if (tok.kind == Tok::kName && tok.text == "None") return std::string("NULL");
    return Bad("expected a value (a quoted string, a number, True, False or None), found '" + tok.text + "'");
  }
  Result<std::string> Test(const std::string& column) {
    if (Eat(Tok::kDot)) {
      if (t_[i_].kind != Tok::kName) return Bad("expected a method after '.'");
      const std::string m = t_[i_++].text;
      if (!Eat(Tok::kLParen) || !Eat(Tok::kRParen)) return Bad("." + m + " takes no arguments: ." + m + "()");
      if (m == "isnull" || m == "isNull" || m == "isna") return column + " IS NULL";
      if (m == "notnull" || m == "notNull" || m == "notna") return column + " IS NOT NULL";
      return Bad("unknown method ." + m + "() (isnull, notnull)");
    }
    bool negate = false;
    if (t_[i_].kind == Tok::kNot && t_[i_ + 1].kind == Tok::kName && t_[i_ + 1].text == "in") {
      negate = true;
      ++i_;
    }
    if (t_[i_].kind == Tok::kName && t_[i_].text == "in") {
      ++i_;
      const Tok close = t_[i_].kind == Tok::kLBrack ? Tok::kRBrack : Tok::kRParen;
      if (!Eat(Tok::kLBrack) && !Eat(Tok::kLParen)) return Bad("'in' takes a list: in [\"a\", \"b\"]");
      std::string list;
      while (!Eat(close)) {
        if (!list.empty() && !Eat(Tok::kComma)) return Bad("expected ',' in the list");
        if (t_[i_].kind == close) continue;
        STRATA_ASSIGN_OR_RETURN(std::string v, Value());
        list += (list.empty() ? "" : ", ") + v;
        if (t_[i_].kind == Tok::kEnd) return Bad("the list is not closed");
      }
      if (list.empty()) return std::string(negate ? "TRUE" : "FALSE");
      return column + (negate ? " NOT IN (" : " IN (") + list + ")";
    }
    if (t_[i_].kind != Tok::kOp) return Bad("expected a comparison after " + column);
    std::string op = t_[i_++].text;
    STRATA_ASSIGN_OR_RETURN(std::string value, Value());
    if (value == "NULL") {
      if (op == "==" || op == "=") return column + " IS NULL";
      if (op == "!=") return column + " IS NOT NULL";
      return Bad("None compares only with == or !=");
    }
    if (op == "==") op = "=";
    if (op == "!=") op = "<>";
    return column + " " + op + " " + value;
  }

  std::vector<Token> t_;
  std::string text_;
  size_t i_ = 0;
};

}  // namespace

Result<std::string> RowConditionSql(const std::string& condition, const std::string& parser,
                                    const std::string& engine) {
  (void)engine;  // both engines quote names and strings the same way
  if (parser == "sql") return "(" + condition + ")";
  if (parser != "pandas" && parser != "great_expectations__experimental__") {
    return Status::InvalidArgument("condition_parser '" + parser +
                                   "' is not one Strata reads (great_expectations__experimental__, pandas, sql)");
  }
  STRATA_ASSIGN_OR_RETURN(auto tokens, Tokenize(condition));
  Parser p(std::move(tokens), condition);
  STRATA_ASSIGN_OR_RETURN(std::string sql, p.Parse());
  return "(" + sql + ")";
}

}  // namespace strata::quality
