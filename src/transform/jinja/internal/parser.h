// Parser: tokens to the syntax tree (recursive descent, Jinja2's grammar and precedence).
// Statements are in parser.cc, expressions in parser_expr.cc.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "transform/jinja/internal/ast.h"
#include "transform/jinja/internal/lexer.h"

namespace strata::jinja {
class Environment;
}

namespace strata::jinja::internal {

// Lexes and parses module->source into module->body. Unknown filters and tests (checked
// against `env`), unknown tags and unbalanced blocks are errors. Throws Error.
void ParseModule(const Environment& env, Module* module);

class Parser {
 public:
  Parser(const Environment& env, Module* module);
  void Run();

 private:
  // An open block, for "unclosed" and "unexpected end tag" messages.
  struct OpenBlock {
    std::string tag;
    uint32_t offset;
    std::vector<std::string> ends;  // tags that may follow (elif, else, endif...)
  };

  // ---- tokens ----
  const Token& Cur() const { return toks_[pos_]; }
  const Token& Peek(size_t k = 1) const { return toks_[std::min(pos_ + k, toks_.size() - 1)]; }
  const Token& Next() { return toks_[pos_ < toks_.size() - 1 ? pos_++ : pos_]; }
  bool AtOp(const char* op) const { return Cur().type == Tok::kOp && Cur().text == op; }
  bool AtName(const char* name) const { return Cur().type == Tok::kName && Cur().text == name; }
  bool SkipOp(const char* op);
  bool SkipName(const char* name);
  void ExpectOp(const char* op);
  std::string ExpectName(const char* what);
  void ExpectBlockEnd(const char* tag);
  [[noreturn]] void FailAt(uint32_t offset, std::string message) const;
  [[noreturn]] void Unexpected(const char* expected) const;

  // ---- statements (parser.cc) ----
  // Parses until one of `ends` (the tag name is left as the current token); returns which.
  std::string ParseBody(Body* body, const std::string& tag, uint32_t offset, std::vector<std::string> ends);
  void ParseStatement(Body* body);
  void ParseIf(Body* body, uint32_t offset);
  void ParseFor(Body* body, uint32_t offset);
  void ParseSet(Body* body, uint32_t offset);
  void ParseMacro(Body* body, uint32_t offset, bool is_test);
  void ParseMacroParams(MacroDef* def);
  void ParseCallBlock(Body* body, uint32_t offset);
  void ParseFilterBlock(Body* body, uint32_t offset);
  void ParseWith(Body* body, uint32_t offset);
  void ParseSnapshot(Body* body, uint32_t offset);
  void ParseDocs(Body* body, uint32_t offset);
  Target ParseTarget(bool allow_attr);
  std::unique_ptr<FilterExpr> ParseFilterCall(ExprPtr operand);
  std::unique_ptr<Stmt> MaybeReturn(uint32_t offset, ExprPtr expr, bool emit);

  // ---- expressions (parser_expr.cc) ----
  ExprPtr ParseTuple(bool with_condexpr = true);
  ExprPtr ParseExpression(bool with_condexpr = true);
  ExprPtr ParseCondExpr();
  ExprPtr ParseOr();
  ExprPtr ParseAnd();
  ExprPtr ParseNot();
  ExprPtr ParseCompare();
  ExprPtr ParseMath1();
  ExprPtr ParseConcat();
  ExprPtr ParseMath2();
  ExprPtr ParsePow();
  ExprPtr ParseUnary(bool with_filter);
  ExprPtr ParsePrimary();
  ExprPtr ParsePostfix(ExprPtr node);
  ExprPtr ParseFilterExpr(ExprPtr node);
  ExprPtr ParseSubscript(ExprPtr node);
  ExprPtr ParseTest(ExprPtr node);
  void ParseCallArgs(CallArgs* args);
  void CheckFilter(const Token& name) const;
  void CheckTest(const Token& name) const;

  const Environment& env_;
  Module* module_;
  std::vector<Token> toks_;
  size_t pos_ = 0;
  std::vector<OpenBlock> open_;
  std::vector<MacroDef*> macros_;  // macros being parsed, innermost last
  int loop_depth_ = 0;             // for loops around the current statement, within the macro
  int depth_ = 0;                  // expression nesting
};

}  // namespace strata::jinja::internal
