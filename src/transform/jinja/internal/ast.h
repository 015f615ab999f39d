// The syntax tree produced by the parser and walked by the evaluator. Immutable after parsing.
// Every node records the byte offset of its token in the source, for error messages.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "transform/jinja/internal/source.h"
#include "transform/jinja/value.h"

namespace strata::jinja::internal {

// ---- expressions ----------------------------------------------------------------------------

enum class ExprKind {
  kLiteral,
  kName,
  kList,
  kDict,
  kGetAttr,
  kGetItem,
  kSlice,
  kCall,
  kUnary,
  kBinary,
  kCompare,
  kLogical,
  kCond,
  kFilter,
  kTest,
};

struct Expr {
  Expr(ExprKind k, uint32_t o) : kind(k), offset(o) {}
  virtual ~Expr() = default;
  ExprKind kind;
  uint32_t offset;
};
using ExprPtr = std::unique_ptr<Expr>;

struct CallArgs {
  std::vector<ExprPtr> positional;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  ExprPtr star_args;    // *args
  ExprPtr star_kwargs;  // **kwargs
};

struct LiteralExpr : Expr {
  LiteralExpr(uint32_t o, Value v) : Expr(ExprKind::kLiteral, o), value(std::move(v)) {}
  Value value;
};
struct NameExpr : Expr {
  NameExpr(uint32_t o, std::string n) : Expr(ExprKind::kName, o), name(std::move(n)) {}
  std::string name;
};
struct ListExpr : Expr {
  explicit ListExpr(uint32_t o) : Expr(ExprKind::kList, o) {}
  std::vector<ExprPtr> items;
  bool tuple = false;
};
struct DictExpr : Expr {
  explicit DictExpr(uint32_t o) : Expr(ExprKind::kDict, o) {}
  std::vector<std::pair<ExprPtr, ExprPtr>> items;
};
struct GetAttrExpr : Expr {  // obj.attr; offset is the attribute name's
  GetAttrExpr(uint32_t o, ExprPtr obj, std::string a)
      : Expr(ExprKind::kGetAttr, o), obj(std::move(obj)), attr(std::move(a)) {}
  ExprPtr obj;
  std::string attr;
};
struct GetItemExpr : Expr {  // obj[key]
  GetItemExpr(uint32_t o, ExprPtr obj, ExprPtr key)
      : Expr(ExprKind::kGetItem, o), obj(std::move(obj)), key(std::move(key)) {}
  ExprPtr obj;
  ExprPtr key;
};
struct SliceExpr : Expr {  // obj[start:stop:step]; absent parts are null
  explicit SliceExpr(uint32_t o) : Expr(ExprKind::kSlice, o) {}
  ExprPtr obj, start, stop, step;
};
struct CallExpr : Expr {  // offset: the callee's (for obj.method(), the method name's)
  CallExpr(uint32_t o, ExprPtr callee) : Expr(ExprKind::kCall, o), callee(std::move(callee)) {}
  ExprPtr callee;
  CallArgs args;
};
enum class UnaryOp { kNeg, kPos, kNot };
struct UnaryExpr : Expr {
  UnaryExpr(uint32_t o, UnaryOp op, ExprPtr e) : Expr(ExprKind::kUnary, o), op(op), operand(std::move(e)) {}
  UnaryOp op;
  ExprPtr operand;
};
enum class BinOp { kAdd, kSub, kMul, kDiv, kFloorDiv, kMod, kPow, kConcat };
struct BinaryExpr : Expr {  // offset: the operator's
  BinaryExpr(uint32_t o, BinOp op, ExprPtr l, ExprPtr r)
      : Expr(ExprKind::kBinary, o), op(op), lhs(std::move(l)), rhs(std::move(r)) {}
  BinOp op;
  ExprPtr lhs, rhs;
};
enum class CmpOp { kEq, kNe, kLt, kLe, kGt, kGe, kIn, kNotIn };
struct CompareExpr : Expr {  // a < b < c, like Python
  CompareExpr(uint32_t o, ExprPtr first) : Expr(ExprKind::kCompare, o), first(std::move(first)) {}
  ExprPtr first;
  struct Operand {
    CmpOp op;
    uint32_t offset;
    ExprPtr expr;
  };
  std::vector<Operand> rest;
};
struct LogicalExpr : Expr {  // and / or, returning an operand like Python
  LogicalExpr(uint32_t o, bool is_and, ExprPtr l, ExprPtr r)
      : Expr(ExprKind::kLogical, o), is_and(is_and), lhs(std::move(l)), rhs(std::move(r)) {}
  bool is_and;
  ExprPtr lhs, rhs;
};
struct CondExpr : Expr {  // then if cond else otherwise (otherwise may be null: undefined)
  explicit CondExpr(uint32_t o) : Expr(ExprKind::kCond, o) {}
  ExprPtr cond, then_expr, else_expr;
};
struct FilterExpr : Expr {  // operand | name(args); operand is null in filter blocks
  FilterExpr(uint32_t o, ExprPtr operand, std::string n)
      : Expr(ExprKind::kFilter, o), operand(std::move(operand)), name(std::move(n)) {}
  ExprPtr operand;
  std::string name;
  CallArgs args;
};
struct TestExpr : Expr {  // operand is [not] name(args)
  TestExpr(uint32_t o, ExprPtr operand, std::string n)
      : Expr(ExprKind::kTest, o), operand(std::move(operand)), name(std::move(n)) {}
  ExprPtr operand;
  std::string name;
  CallArgs args;
  bool negated = false;
};

// ---- statements -----------------------------------------------------------------------------

enum class StmtKind {
  kText,
  kEmit,
  kIf,
  kFor,
  kSet,
  kSetBlock,
  kMacro,
  kCallBlock,
  kDo,
  kFilterBlock,
  kWith,
  kReturn,
  kBreak,
  kContinue,
  kSnapshot,
  kDocs,
};

struct Stmt {
  Stmt(StmtKind k, uint32_t o) : kind(k), offset(o) {}
  virtual ~Stmt() = default;
  StmtKind kind;
  uint32_t offset;
};

struct Body {
  std::vector<std::unique_ptr<Stmt>> stmts;
};

struct TextStmt : Stmt {
  TextStmt(uint32_t o, std::string t) : Stmt(StmtKind::kText, o), text(std::move(t)) {}
  std::string text;
};
struct EmitStmt : Stmt {  // {{ expr }}
  EmitStmt(uint32_t o, ExprPtr e) : Stmt(StmtKind::kEmit, o), expr(std::move(e)) {}
  ExprPtr expr;
};
struct IfStmt : Stmt {
  explicit IfStmt(uint32_t o) : Stmt(StmtKind::kIf, o) {}
  std::vector<std::pair<ExprPtr, Body>> branches;  // if, elif...
  Body else_body;
};

// Where a value is stored: one name, several names (unpacking) or ns.attr.
struct Target {
  uint32_t offset = 0;
  std::vector<std::string> names;
  bool unpack = false;  // a, b = ...
  std::string attr;     // ns.attr when not empty (names[0] is ns)
};

struct ForStmt : Stmt {
  explicit ForStmt(uint32_t o) : Stmt(StmtKind::kFor, o) {}
  Target target;
  ExprPtr iter;
  ExprPtr filter;  // for x in xs if filter
  Body body;
  Body else_body;
};
struct SetStmt : Stmt {
  explicit SetStmt(uint32_t o) : Stmt(StmtKind::kSet, o) {}
  Target target;
  ExprPtr value;
};
struct SetBlockStmt : Stmt {  // {% set x | filters %}body{% endset %}
  explicit SetBlockStmt(uint32_t o) : Stmt(StmtKind::kSetBlock, o) {}
  Target target;
  std::vector<std::unique_ptr<FilterExpr>> filters;
  Body body;
};

struct MacroDef {
  std::string name;
  uint32_t offset = 0;  // of the name
  std::vector<std::string> params;
  std::vector<ExprPtr> defaults;  // one per param; null when none
  Body body;
  bool uses_varargs = false;
  bool uses_kwargs = false;
  bool is_test = false;  // dbt {% test %}
};

struct MacroStmt : Stmt {
  explicit MacroStmt(uint32_t o) : Stmt(StmtKind::kMacro, o) {}
  MacroDef def;
};
struct CallBlockStmt : Stmt {  // {% call(params) expr(args) %}body{% endcall %}
  explicit CallBlockStmt(uint32_t o) : Stmt(StmtKind::kCallBlock, o) {}
  std::unique_ptr<CallExpr> call;
  MacroDef caller;  // the body, callable as caller(params)
};
struct DoStmt : Stmt {
  DoStmt(uint32_t o, ExprPtr e) : Stmt(StmtKind::kDo, o), expr(std::move(e)) {}
  ExprPtr expr;
};
struct FilterBlockStmt : Stmt {
  explicit FilterBlockStmt(uint32_t o) : Stmt(StmtKind::kFilterBlock, o) {}
  std::vector<std::unique_ptr<FilterExpr>> filters;
  Body body;
};
struct WithStmt : Stmt {
  explicit WithStmt(uint32_t o) : Stmt(StmtKind::kWith, o) {}
  std::vector<std::pair<Target, ExprPtr>> assigns;
  Body body;
};
// {{ return(x) }} or {% do return(x) %}: ends the macro without an exception when `return` is
// the built-in; otherwise evaluates `call` like the statement it came from.
struct ReturnStmt : Stmt {
  ReturnStmt(uint32_t o, std::unique_ptr<CallExpr> c, bool emit)
      : Stmt(StmtKind::kReturn, o), call(std::move(c)), emit(emit) {}
  std::unique_ptr<CallExpr> call;
  bool emit;
};
struct SnapshotStmt : Stmt {
  explicit SnapshotStmt(uint32_t o) : Stmt(StmtKind::kSnapshot, o) {}
  std::string name;
  Body body;
};
struct DocsStmt : Stmt {
  explicit DocsStmt(uint32_t o) : Stmt(StmtKind::kDocs, o) {}
  std::string name;
  std::string text;
};

// A parsed file.
struct Module {
  std::shared_ptr<const Source> source;
  Body body;
  // Top-level macros and tests by name: visible to the file's own macros at call time.
  std::unordered_map<std::string, const MacroDef*> macros;
  // The dbt package whose macro file this is (ParseDefinitions): a name no scope, global or
  // sibling defines is then looked up in that package's namespace, the global of this name.
  std::string package;
};

}  // namespace strata::jinja::internal
