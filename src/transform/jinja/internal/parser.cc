// Statements: the tags between {% and %}.
#include "transform/jinja/internal/parser.h"

#include <algorithm>

#include "transform/jinja/environment.h"
#include "transform/jinja/internal/util.h"

namespace strata::jinja::internal {
namespace {

const std::vector<std::string>& KnownTags() {
  static const std::vector<std::string> kTags = {
      "if",       "elif", "else",    "endif",  "for",       "endfor",   "set",         "endset",  "macro",
      "endmacro", "call", "endcall", "filter", "endfilter", "do",       "with",        "endwith", "break",
      "continue", "raw",  "endraw",  "test",   "endtest",   "snapshot", "endsnapshot", "docs",    "enddocs"};
  return kTags;
}

bool IsClosingTag(const std::string& tag) {
  return tag == "elif" || tag == "else" || (tag.size() > 3 && tag.compare(0, 3, "end") == 0);
}

}  // namespace

void ParseModule(const Environment& env, Module* module) { Parser(env, module).Run(); }

Parser::Parser(const Environment& env, Module* module) : env_(env), module_(module), toks_(Lex(module->source)) {}

void Parser::Run() {
  ParseBody(&module_->body, "", 0, {});
  for (const auto& stmt : module_->body.stmts) {
    if (stmt->kind == StmtKind::kMacro) {
      const MacroDef& def = static_cast<const MacroStmt&>(*stmt).def;
      module_->macros[def.name] = &def;
    }
  }
}

// ---- tokens -----------------------------------------------------------------------------------

void Parser::FailAt(uint32_t offset, std::string message) const {
  throw Error(std::move(message), module_->source, offset);
}

void Parser::Unexpected(const char* expected) const {
  FailAt(Cur().offset, std::string("expected ") + expected + ", got " + Describe(Cur()));
}

bool Parser::SkipOp(const char* op) {
  if (!AtOp(op)) return false;
  Next();
  return true;
}

bool Parser::SkipName(const char* name) {
  if (!AtName(name)) return false;
  Next();
  return true;
}

void Parser::ExpectOp(const char* op) {
  if (!SkipOp(op)) Unexpected((std::string("'") + op + "'").c_str());
}

std::string Parser::ExpectName(const char* what) {
  if (Cur().type != Tok::kName) Unexpected(what);
  return Next().text;
}

void Parser::ExpectBlockEnd(const char* tag) {
  if (Cur().type != Tok::kBlockEnd) {
    FailAt(Cur().offset, std::string("expected '%}' to end the '") + tag + "' tag, got " + Describe(Cur()));
  }
  Next();
}

// ---- statements -------------------------------------------------------------------------------

std::string Parser::ParseBody(Body* body, const std::string& tag, uint32_t offset, std::vector<std::string> ends) {
  if (!tag.empty()) open_.push_back({tag, offset, ends});
  while (true) {
    const Token& t = Cur();
    switch (t.type) {
      case Tok::kText:
        body->stmts.push_back(std::make_unique<TextStmt>(t.offset, t.text));
        Next();
        break;
      case Tok::kVarBegin: {
        uint32_t at = Next().offset;
        ExprPtr e = ParseTuple();
        if (Cur().type != Tok::kVarEnd) Unexpected("'}}'");
        Next();
        body->stmts.push_back(MaybeReturn(at, std::move(e), /*emit=*/true));
        break;
      }
      case Tok::kBlockBegin: {
        const Token& name = Peek();
        if (name.type == Tok::kName && std::find(ends.begin(), ends.end(), name.text) != ends.end()) {
          Next();
          if (!tag.empty()) open_.pop_back();
          return name.text;
        }
        ParseStatement(body);
        break;
      }
      case Tok::kEof:
        if (!tag.empty()) {
          FailAt(offset,
                 "'" + tag + "' block is never closed (expected '" + ends.back() + "' before the end of the file)");
        }
        return "";
      default:
        Unexpected("text or a tag");
    }
  }
}

std::unique_ptr<Stmt> Parser::MaybeReturn(uint32_t offset, ExprPtr expr, bool emit) {
  if (expr->kind == ExprKind::kCall) {
    auto* call = static_cast<CallExpr*>(expr.get());
    if (call->callee->kind == ExprKind::kName && static_cast<NameExpr&>(*call->callee).name == "return") {
      expr.release();
      return std::make_unique<ReturnStmt>(offset, std::unique_ptr<CallExpr>(call), emit);
    }
  }
  if (emit) return std::make_unique<EmitStmt>(offset, std::move(expr));
  return std::make_unique<DoStmt>(offset, std::move(expr));
}

void Parser::ParseStatement(Body* body) {
  Next();  // {%
  if (Cur().type != Tok::kName) FailAt(Cur().offset, "expected a tag name after '{%', got " + Describe(Cur()));
  uint32_t at = Cur().offset;
  std::string tag = Next().text;
  if (tag == "if") return ParseIf(body, at);
  if (tag == "for") return ParseFor(body, at);
  if (tag == "set") return ParseSet(body, at);
  if (tag == "macro") return ParseMacro(body, at, false);
  if (tag == "test") return ParseMacro(body, at, true);
  if (tag == "call") return ParseCallBlock(body, at);
  if (tag == "filter") return ParseFilterBlock(body, at);
  if (tag == "with") return ParseWith(body, at);
  if (tag == "snapshot") return ParseSnapshot(body, at);
  if (tag == "docs") return ParseDocs(body, at);
  if (tag == "do") {
    ExprPtr e = ParseTuple();
    ExpectBlockEnd("do");
    body->stmts.push_back(MaybeReturn(at, std::move(e), /*emit=*/false));
    return;
  }
  if (tag == "break" || tag == "continue") {
    if (loop_depth_ == 0) FailAt(at, "'" + tag + "' outside of a for loop");
    ExpectBlockEnd(tag.c_str());
    body->stmts.push_back(std::make_unique<Stmt>(tag == "break" ? StmtKind::kBreak : StmtKind::kContinue, at));
    return;
  }
  if (tag == "materialization") FailAt(at, "materialization blocks are not supported");
  if (tag == "include" || tag == "import" || tag == "from" || tag == "extends" || tag == "block") {
    FailAt(at, "'" + tag + "' is not supported in dbt-style projects (define macros instead)");
  }
  if (tag == "raw") FailAt(at, "malformed raw tag: write {% raw %}");
  std::string context;
  if (!open_.empty()) {
    const OpenBlock& b = open_.back();
    context = "; the innermost open block is '" + b.tag + "' (" + module_->source->Where(b.offset) + "), expecting ";
    for (size_t i = 0; i < b.ends.size(); ++i) {
      context += (i == 0 ? "'" : i + 1 == b.ends.size() ? " or '" : ", '") + b.ends[i] + "'";
    }
  }
  if (std::find(KnownTags().begin(), KnownTags().end(), tag) != KnownTags().end() && IsClosingTag(tag)) {
    FailAt(at, "unexpected '" + tag + "'" + (context.empty() ? std::string(": no block is open") : context));
  }
  FailAt(at, "unknown tag '" + tag + "'" + DidYouMean(tag, KnownTags()) + context);
}

void Parser::ParseIf(Body* body, uint32_t offset) {
  auto node = std::make_unique<IfStmt>(offset);
  std::string end = "elif";
  while (end == "elif") {
    ExprPtr cond = ParseTuple(/*with_condexpr=*/false);
    ExpectBlockEnd(node->branches.empty() ? "if" : "elif");
    Body branch;
    end = ParseBody(&branch, "if", offset, {"elif", "else", "endif"});
    node->branches.emplace_back(std::move(cond), std::move(branch));
    Next();  // elif / else / endif
  }
  if (end == "else") {
    ExpectBlockEnd("else");
    ParseBody(&node->else_body, "if", offset, {"endif"});
    Next();
  }
  ExpectBlockEnd("endif");
  body->stmts.push_back(std::move(node));
}

Target Parser::ParseTarget(bool allow_attr) {
  Target t;
  t.offset = Cur().offset;
  bool paren = SkipOp("(");
  while (true) {
    std::string name = ExpectName("a variable name");
    if (allow_attr && !paren && t.names.empty() && AtOp(".")) {
      Next();
      t.names.push_back(std::move(name));
      t.attr = ExpectName("an attribute name");
      return t;
    }
    t.names.push_back(std::move(name));
    if (!SkipOp(",")) break;
    t.unpack = true;
    if (Cur().type != Tok::kName || AtName("in")) break;
  }
  if (paren) ExpectOp(")");
  if (t.names.size() > 1) t.unpack = true;
  return t;
}

void Parser::ParseFor(Body* body, uint32_t offset) {
  auto node = std::make_unique<ForStmt>(offset);
  node->target = ParseTarget(false);
  if (!SkipName("in")) Unexpected("'in'");
  node->iter = ParseTuple(/*with_condexpr=*/false);
  if (SkipName("if")) node->filter = ParseExpression();
  if (AtName("recursive")) FailAt(Cur().offset, "recursive for loops are not supported");
  ExpectBlockEnd("for");
  ++loop_depth_;
  std::string end = ParseBody(&node->body, "for", offset, {"else", "endfor"});
  --loop_depth_;
  Next();
  if (end == "else") {
    ExpectBlockEnd("else");
    ParseBody(&node->else_body, "for", offset, {"endfor"});
    Next();
  }
  ExpectBlockEnd("endfor");
  body->stmts.push_back(std::move(node));
}

std::unique_ptr<FilterExpr> Parser::ParseFilterCall(ExprPtr operand) {
  if (Cur().type != Tok::kName) Unexpected("a filter name");
  CheckFilter(Cur());
  auto f = std::make_unique<FilterExpr>(Cur().offset, std::move(operand), Cur().text);
  Next();
  if (AtOp("(")) ParseCallArgs(&f->args);
  return f;
}

void Parser::ParseSet(Body* body, uint32_t offset) {
  Target target = ParseTarget(true);
  if (SkipOp("=")) {
    auto node = std::make_unique<SetStmt>(offset);
    node->target = std::move(target);
    node->value = ParseTuple();
    ExpectBlockEnd("set");
    body->stmts.push_back(std::move(node));
    return;
  }
  if (target.unpack) FailAt(target.offset, "a {% set %} block assigns a single name");
  auto node = std::make_unique<SetBlockStmt>(offset);
  node->target = std::move(target);
  while (SkipOp("|")) node->filters.push_back(ParseFilterCall(nullptr));
  if (Cur().type != Tok::kBlockEnd) Unexpected("'=' or '%}'");
  Next();
  ParseBody(&node->body, "set", offset, {"endset"});
  Next();
  ExpectBlockEnd("endset");
  body->stmts.push_back(std::move(node));
}

void Parser::ParseMacroParams(MacroDef* def) {
  ExpectOp("(");
  bool first = true;
  while (!SkipOp(")")) {
    if (!first) {
      ExpectOp(",");
      if (SkipOp(")")) break;
    }
    first = false;
    uint32_t at = Cur().offset;
    std::string name = ExpectName("a parameter name");
    if (std::find(def->params.begin(), def->params.end(), name) != def->params.end()) {
      FailAt(at, "duplicate parameter '" + name + "'");
    }
    ExprPtr def_value;
    if (SkipOp("=")) {
      def_value = ParseExpression();
    } else if (!def->defaults.empty() && def->defaults.back() != nullptr) {
      FailAt(at, "parameter '" + name + "' without a default follows a parameter with one");
    }
    def->params.push_back(std::move(name));
    def->defaults.push_back(std::move(def_value));
  }
}

void Parser::ParseMacro(Body* body, uint32_t offset, bool is_test) {
  auto node = std::make_unique<MacroStmt>(offset);
  MacroDef& def = node->def;
  def.offset = Cur().offset;
  std::string name = ExpectName(is_test ? "a test name" : "a macro name");
  def.name = is_test ? "test_" + name : name;
  def.is_test = is_test;
  ParseMacroParams(&def);
  ExpectBlockEnd(is_test ? "test" : "macro");
  macros_.push_back(&def);
  int saved_loops = loop_depth_;
  loop_depth_ = 0;
  ParseBody(&def.body, is_test ? "test" : "macro", offset, {is_test ? "endtest" : "endmacro"});
  loop_depth_ = saved_loops;
  macros_.pop_back();
  Next();
  ExpectBlockEnd(is_test ? "endtest" : "endmacro");
  body->stmts.push_back(std::move(node));
}

void Parser::ParseCallBlock(Body* body, uint32_t offset) {
  auto node = std::make_unique<CallBlockStmt>(offset);
  node->caller.name = "caller";
  node->caller.offset = offset;
  if (AtOp("(")) ParseMacroParams(&node->caller);
  ExprPtr e = ParseExpression();
  if (e->kind != ExprKind::kCall) FailAt(e->offset, "expected a call after 'call', e.g. {% call my_macro() %}");
  node->call.reset(static_cast<CallExpr*>(e.release()));
  ExpectBlockEnd("call");
  macros_.push_back(&node->caller);
  int saved_loops = loop_depth_;
  loop_depth_ = 0;
  ParseBody(&node->caller.body, "call", offset, {"endcall"});
  loop_depth_ = saved_loops;
  macros_.pop_back();
  Next();
  ExpectBlockEnd("endcall");
  body->stmts.push_back(std::move(node));
}

void Parser::ParseFilterBlock(Body* body, uint32_t offset) {
  auto node = std::make_unique<FilterBlockStmt>(offset);
  do {
    node->filters.push_back(ParseFilterCall(nullptr));
  } while (SkipOp("|"));
  ExpectBlockEnd("filter");
  ParseBody(&node->body, "filter", offset, {"endfilter"});
  Next();
  ExpectBlockEnd("endfilter");
  body->stmts.push_back(std::move(node));
}

void Parser::ParseWith(Body* body, uint32_t offset) {
  auto node = std::make_unique<WithStmt>(offset);
  while (Cur().type != Tok::kBlockEnd) {
    if (!node->assigns.empty()) ExpectOp(",");
    Target t = ParseTarget(false);
    ExpectOp("=");
    node->assigns.emplace_back(std::move(t), ParseExpression());
  }
  ExpectBlockEnd("with");
  ParseBody(&node->body, "with", offset, {"endwith"});
  Next();
  ExpectBlockEnd("endwith");
  body->stmts.push_back(std::move(node));
}

void Parser::ParseSnapshot(Body* body, uint32_t offset) {
  auto node = std::make_unique<SnapshotStmt>(offset);
  node->name = ExpectName("a snapshot name");
  ExpectBlockEnd("snapshot");
  ParseBody(&node->body, "snapshot", offset, {"endsnapshot"});
  Next();
  ExpectBlockEnd("endsnapshot");
  body->stmts.push_back(std::move(node));
}

void Parser::ParseDocs(Body* body, uint32_t offset) {
  auto node = std::make_unique<DocsStmt>(offset);
  node->name = ExpectName("a docs block name");
  ExpectBlockEnd("docs");
  // The lexer emits the raw body as one text token followed by {% enddocs %}.
  if (Cur().type == Tok::kText) node->text = Next().text;
  if (Cur().type != Tok::kBlockBegin) Unexpected("'{% enddocs %}'");
  Next();
  if (!SkipName("enddocs")) Unexpected("'enddocs'");
  ExpectBlockEnd("enddocs");
  body->stmts.push_back(std::move(node));
}

}  // namespace strata::jinja::internal
