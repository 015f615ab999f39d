// Lexer: template source to a flat token list.
//
// Text between tags becomes kText tokens, with Jinja's whitespace control already applied
// ({%- strips whitespace, newlines included, before the tag; -%} after it). Comments vanish;
// {% raw %} bodies become kText. The bodies of {% docs %} blocks are kept raw too (dbt).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "transform/jinja/internal/source.h"

namespace strata::jinja::internal {

enum class Tok : uint8_t {
  kText,
  kVarBegin,    // {{
  kVarEnd,      // }}
  kBlockBegin,  // {%
  kBlockEnd,    // %}
  kName,
  kString,
  kInt,
  kFloat,
  kOp,  // text holds the operator: "+", "//", "(", ...
  kEof,
};

struct Token {
  Tok type = Tok::kEof;
  uint32_t offset = 0;
  std::string text;  // kText: the text; kName: the name; kString: decoded value; kOp: operator
  int64_t int_value = 0;
  double float_value = 0;
};

// Throws Error (located) on unterminated tags, strings or comments and unknown characters.
std::vector<Token> Lex(const std::shared_ptr<const Source>& source);

// Human-readable token for messages: "'}}'", "name 'foo'", "end of template", ...
std::string Describe(const Token& t);

}  // namespace strata::jinja::internal
