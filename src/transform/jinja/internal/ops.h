// Python semantics of operators and built-in protocols (len, iter, in, [], slicing, %).
// Failures throw an unlocated Error that the evaluator locates at the expression.
#pragma once

#include <compare>
#include <string>
#include <vector>

#include "transform/jinja/callable.h"
#include "transform/jinja/internal/ast.h"
#include "transform/jinja/value.h"

namespace strata::jinja::internal {

// Throws the error for misusing an undefined value ("'x' is undefined").
[[noreturn]] void FailUndefined(const Value& undefined);

// + - * / // % ** (not ~, which the evaluator handles).
Value Arith(BinOp op, const Value& a, const Value& b);
Value Negate(const Value& v, bool positive);
// == != < <= > >= in, not in.
bool CompareValues(CmpOp op, const Value& a, const Value& b);
// Ordering for <, sort, min, max; unorderable pairs throw ("'<' not supported between ...").
std::partial_ordering Order(const Value& a, const Value& b);
bool Contains(const Value& container, const Value& item);
// The items of a for loop: list items, dict keys, string characters; undefined is empty.
std::vector<Value> Iterate(const Value& v);
int64_t Length(const Value& v);
// obj[key] without attribute fallback: undefined (with a hint) when absent.
Value Subscript(const Value& obj, const Value& key);
// obj[start:stop:step] for strings, lists and tuples; absent parts are undefined or none.
Value SliceValue(const Value& obj, const Value& start, const Value& stop, const Value& step);
// Keys must be hashable (not lists or dicts), as in Python.
void CheckHashable(const Value& key);

// "fmt" % args (printf-style; args is a value, a tuple or a dict for %(name)s).
std::string PercentFormat(const std::string& fmt, const Value& args);
// "fmt".format(*args, **kwargs), with the common format-spec subset
// ([[fill]align][sign][0][width][,][.precision][type]).
std::string PyFormat(const std::string& fmt, const Args& args);

}  // namespace strata::jinja::internal
