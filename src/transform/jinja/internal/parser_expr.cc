// Expressions, with Jinja2's precedence (lowest first): a if b else c; or; and; not;
// comparisons and in; + -; ~; * / // %; ** (left-associative, as in Jinja); unary - +;
// then postfix . [] () and filters | and tests `is`, which bind tightest.
#include <algorithm>
#include <cstdint>

#include "transform/jinja/environment.h"
#include "transform/jinja/internal/parser.h"
#include "transform/jinja/internal/util.h"

namespace strata::jinja::internal {
namespace {

constexpr int kMaxDepth = 150;

}  // namespace

ExprPtr Parser::ParseTuple(bool with_condexpr) {
  uint32_t at = Cur().offset;
  std::vector<ExprPtr> items;
  bool comma = false;
  while (true) {
    if (!items.empty()) {
      if (!SkipOp(",")) break;
      comma = true;
      if (Cur().type == Tok::kVarEnd || Cur().type == Tok::kBlockEnd || AtOp(")")) break;
    }
    items.push_back(ParseExpression(with_condexpr));
  }
  if (!comma) return std::move(items[0]);
  auto list = std::make_unique<ListExpr>(at);
  list->tuple = true;
  list->items = std::move(items);
  return list;
}

ExprPtr Parser::ParseExpression(bool with_condexpr) {
  if (++depth_ > kMaxDepth) FailAt(Cur().offset, "expression is nested too deeply");
  ExprPtr e = with_condexpr ? ParseCondExpr() : ParseOr();
  --depth_;
  return e;
}

ExprPtr Parser::ParseCondExpr() {
  ExprPtr e = ParseOr();
  while (AtName("if")) {
    auto cond = std::make_unique<CondExpr>(Next().offset);
    cond->cond = ParseOr();
    if (SkipName("else")) cond->else_expr = ParseCondExpr();
    cond->then_expr = std::move(e);
    e = std::move(cond);
  }
  return e;
}

ExprPtr Parser::ParseOr() {
  ExprPtr e = ParseAnd();
  while (AtName("or")) {
    uint32_t at = Next().offset;
    e = std::make_unique<LogicalExpr>(at, false, std::move(e), ParseAnd());
  }
  return e;
}

ExprPtr Parser::ParseAnd() {
  ExprPtr e = ParseNot();
  while (AtName("and")) {
    uint32_t at = Next().offset;
    e = std::make_unique<LogicalExpr>(at, true, std::move(e), ParseNot());
  }
  return e;
}

ExprPtr Parser::ParseNot() {
  if (AtName("not")) {
    uint32_t at = Next().offset;
    if (++depth_ > kMaxDepth) FailAt(at, "expression is nested too deeply");
    ExprPtr operand = ParseNot();
    --depth_;
    return std::make_unique<UnaryExpr>(at, UnaryOp::kNot, std::move(operand));
  }
  return ParseCompare();
}

ExprPtr Parser::ParseCompare() {
  ExprPtr first = ParseMath1();
  std::unique_ptr<CompareExpr> cmp;
  while (true) {
    uint32_t at = Cur().offset;
    CmpOp op;
    if (AtOp("==")) {
      op = CmpOp::kEq;
    } else if (AtOp("!=")) {
      op = CmpOp::kNe;
    } else if (AtOp("<")) {
      op = CmpOp::kLt;
    } else if (AtOp("<=")) {
      op = CmpOp::kLe;
    } else if (AtOp(">")) {
      op = CmpOp::kGt;
    } else if (AtOp(">=")) {
      op = CmpOp::kGe;
    } else if (AtName("in")) {
      op = CmpOp::kIn;
    } else if (AtName("not") && Peek().type == Tok::kName && Peek().text == "in") {
      op = CmpOp::kNotIn;
      Next();
    } else {
      break;
    }
    Next();
    if (!cmp) cmp = std::make_unique<CompareExpr>(at, std::move(first));
    cmp->rest.push_back({op, at, ParseMath1()});
  }
  if (cmp) return cmp;
  return first;
}

ExprPtr Parser::ParseMath1() {
  ExprPtr e = ParseConcat();
  while (AtOp("+") || AtOp("-")) {
    BinOp op = AtOp("+") ? BinOp::kAdd : BinOp::kSub;
    uint32_t at = Next().offset;
    e = std::make_unique<BinaryExpr>(at, op, std::move(e), ParseConcat());
  }
  return e;
}

ExprPtr Parser::ParseConcat() {
  ExprPtr e = ParseMath2();
  while (AtOp("~")) {
    uint32_t at = Next().offset;
    e = std::make_unique<BinaryExpr>(at, BinOp::kConcat, std::move(e), ParseMath2());
  }
  return e;
}

ExprPtr Parser::ParseMath2() {
  ExprPtr e = ParsePow();
  while (AtOp("*") || AtOp("/") || AtOp("//") || AtOp("%")) {
    BinOp op = AtOp("*") ? BinOp::kMul : AtOp("/") ? BinOp::kDiv : AtOp("//") ? BinOp::kFloorDiv : BinOp::kMod;
    uint32_t at = Next().offset;
    e = std::make_unique<BinaryExpr>(at, op, std::move(e), ParsePow());
  }
  return e;
}

ExprPtr Parser::ParsePow() {
  ExprPtr e = ParseUnary(true);
  while (AtOp("**")) {
    uint32_t at = Next().offset;
    e = std::make_unique<BinaryExpr>(at, BinOp::kPow, std::move(e), ParseUnary(true));
  }
  return e;
}

ExprPtr Parser::ParseUnary(bool with_filter) {
  uint32_t at = Cur().offset;
  if (++depth_ > kMaxDepth) FailAt(at, "expression is nested too deeply");
  ExprPtr node;
  if (AtOp("-") || AtOp("+")) {
    bool neg = AtOp("-");
    Next();
    ExprPtr operand = ParseUnary(false);
    if (operand->kind == ExprKind::kLiteral && neg) {
      Value& v = static_cast<LiteralExpr&>(*operand).value;
      if (v.is_int() && v.as_int() != INT64_MIN) {
        v = Value(-v.as_int());
        node = std::move(operand);
        node->offset = at;
      } else if (v.is_float()) {
        v = Value(-v.as_float());
        node = std::move(operand);
        node->offset = at;
      }
    }
    if (!node) node = std::make_unique<UnaryExpr>(at, neg ? UnaryOp::kNeg : UnaryOp::kPos, std::move(operand));
  } else {
    node = ParsePrimary();
  }
  node = ParsePostfix(std::move(node));
  if (with_filter) node = ParseFilterExpr(std::move(node));
  --depth_;
  return node;
}

ExprPtr Parser::ParsePrimary() {
  const Token& t = Cur();
  switch (t.type) {
    case Tok::kName: {
      Next();
      if (t.text == "true" || t.text == "True") return std::make_unique<LiteralExpr>(t.offset, Value(true));
      if (t.text == "false" || t.text == "False") return std::make_unique<LiteralExpr>(t.offset, Value(false));
      if (t.text == "none" || t.text == "None") return std::make_unique<LiteralExpr>(t.offset, Value::None());
      if (!macros_.empty()) {
        if (t.text == "varargs") macros_.back()->uses_varargs = true;
        if (t.text == "kwargs") macros_.back()->uses_kwargs = true;
      }
      return std::make_unique<NameExpr>(t.offset, t.text);
    }
    case Tok::kString: {
      std::string s = Next().text;
      while (Cur().type == Tok::kString) s += Next().text;  // "a" "b" is "ab"
      return std::make_unique<LiteralExpr>(t.offset, Value(std::move(s)));
    }
    case Tok::kInt:
      Next();
      return std::make_unique<LiteralExpr>(t.offset, Value(t.int_value));
    case Tok::kFloat:
      Next();
      return std::make_unique<LiteralExpr>(t.offset, Value(t.float_value));
    case Tok::kOp:
      if (t.text == "(") {
        Next();
        if (SkipOp(")")) {
          auto empty = std::make_unique<ListExpr>(t.offset);
          empty->tuple = true;
          return empty;
        }
        ExprPtr e = ParseTuple();
        ExpectOp(")");
        return e;
      }
      if (t.text == "[") {
        Next();
        auto list = std::make_unique<ListExpr>(t.offset);
        while (!AtOp("]")) {
          list->items.push_back(ParseExpression());
          if (!SkipOp(",")) break;
        }
        ExpectOp("]");
        return list;
      }
      if (t.text == "{") {
        Next();
        auto dict = std::make_unique<DictExpr>(t.offset);
        while (!AtOp("}")) {
          ExprPtr key = ParseExpression();
          ExpectOp(":");
          dict->items.emplace_back(std::move(key), ParseExpression());
          if (!SkipOp(",")) break;
        }
        ExpectOp("}");
        return dict;
      }
      break;
    default:
      break;
  }
  Unexpected("an expression");
}

ExprPtr Parser::ParsePostfix(ExprPtr node) {
  while (true) {
    if (AtOp(".")) {
      Next();
      const Token& t = Cur();
      if (t.type == Tok::kName) {
        Next();
        node = std::make_unique<GetAttrExpr>(t.offset, std::move(node), t.text);
      } else if (t.type == Tok::kInt) {
        Next();
        node = std::make_unique<GetItemExpr>(t.offset, std::move(node),
                                             std::make_unique<LiteralExpr>(t.offset, Value(t.int_value)));
      } else {
        Unexpected("an attribute name after '.'");
      }
    } else if (AtOp("[")) {
      node = ParseSubscript(std::move(node));
    } else if (AtOp("(")) {
      uint32_t at = node->offset;
      auto call = std::make_unique<CallExpr>(at, std::move(node));
      ParseCallArgs(&call->args);
      node = std::move(call);
    } else {
      return node;
    }
  }
}

ExprPtr Parser::ParseFilterExpr(ExprPtr node) {
  while (true) {
    if (AtOp("|")) {
      Next();
      node = ParseFilterCall(std::move(node));
    } else if (AtName("is")) {
      node = ParseTest(std::move(node));
    } else if (AtOp("(")) {
      uint32_t at = node->offset;
      auto call = std::make_unique<CallExpr>(at, std::move(node));
      ParseCallArgs(&call->args);
      node = std::move(call);
    } else {
      return node;
    }
  }
}

ExprPtr Parser::ParseSubscript(ExprPtr node) {
  uint32_t at = Next().offset;  // [
  ExprPtr start;
  if (!AtOp(":")) {
    start = ParseExpression();
    if (!AtOp(":")) {
      if (AtOp(",")) FailAt(Cur().offset, "multiple subscripts (a[x, y]) are not supported");
      ExpectOp("]");
      return std::make_unique<GetItemExpr>(at, std::move(node), std::move(start));
    }
  }
  auto slice = std::make_unique<SliceExpr>(at);
  slice->obj = std::move(node);
  slice->start = std::move(start);
  Next();  // :
  if (!AtOp("]") && !AtOp(":")) slice->stop = ParseExpression();
  if (SkipOp(":") && !AtOp("]")) slice->step = ParseExpression();
  ExpectOp("]");
  return slice;
}

ExprPtr Parser::ParseTest(ExprPtr node) {
  Next();  // is
  bool negated = SkipName("not");
  if (Cur().type != Tok::kName) Unexpected("a test name");
  CheckTest(Cur());
  auto test = std::make_unique<TestExpr>(Cur().offset, std::move(node), Cur().text);
  test->negated = negated;
  Next();
  const Token& t = Cur();
  if (AtOp("(")) {
    ParseCallArgs(&test->args);
  } else if ((t.type == Tok::kName || t.type == Tok::kString || t.type == Tok::kInt || t.type == Tok::kFloat ||
              AtOp("[") || AtOp("{")) &&
             !AtName("else") && !AtName("or") && !AtName("and") && !AtName("if")) {
    // `x is divisibleby 3`: one argument without parentheses.
    if (AtName("is")) FailAt(t.offset, "tests cannot be chained with 'is'");
    test->args.positional.push_back(ParsePostfix(ParsePrimary()));
  }
  return test;
}

void Parser::ParseCallArgs(CallArgs* args) {
  ExpectOp("(");
  while (!AtOp(")")) {
    const Token& t = Cur();
    if (AtOp("*")) {
      Next();
      if (args->star_args) FailAt(t.offset, "*args given twice");
      args->star_args = ParseExpression();
    } else if (AtOp("**")) {
      Next();
      if (args->star_kwargs) FailAt(t.offset, "**kwargs given twice");
      args->star_kwargs = ParseExpression();
    } else if (t.type == Tok::kName && Peek().type == Tok::kOp && Peek().text == "=") {
      for (const auto& [name, unused] : args->kwargs) {
        if (name == t.text) FailAt(t.offset, "keyword argument '" + t.text + "' repeated");
      }
      Next();
      Next();
      args->kwargs.emplace_back(t.text, ParseExpression());
    } else {
      if (!args->kwargs.empty() || args->star_kwargs) FailAt(t.offset, "positional argument follows keyword argument");
      args->positional.push_back(ParseExpression());
    }
    if (!SkipOp(",")) break;
  }
  ExpectOp(")");
}

void Parser::CheckFilter(const Token& name) const {
  if (env_.FindFilter(name.text) == nullptr) {
    FailAt(name.offset, "unknown filter '" + name.text + "'" + DidYouMean(name.text, env_.FilterNames()));
  }
}

void Parser::CheckTest(const Token& name) const {
  if (env_.FindTest(name.text) == nullptr) {
    FailAt(name.offset, "unknown test '" + name.text + "'" + DidYouMean(name.text, env_.TestNames()));
  }
}

}  // namespace strata::jinja::internal
