// The built-in filters, tests and globals every Environment starts with.
#pragma once

#include <string>

#include "transform/jinja/environment.h"

namespace strata::jinja::internal {

void RegisterStringFilters(Environment* env);    // filters.cc
void RegisterSequenceFilters(Environment* env);  // filters_seq.cc
void RegisterTests(Environment* env);            // tests.cc
void RegisterGlobals(Environment* env);          // globals.cc

// Jinja's attribute paths for filters (attribute='a.b.0'): missing parts give undefined.
Value GetPath(const Value& item, const std::string& path);
// The sort key of a value: lowercased when it is a string and !case_sensitive.
Value SortKey(const Value& v, bool case_sensitive);

}  // namespace strata::jinja::internal
