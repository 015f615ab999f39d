// Small string helpers shared by modules.
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace strata {

// Lower-cases A-Z and leaves every other byte as it is (UTF-8 stays intact).
std::string AsciiLower(std::string_view s);

// `sql` without trailing blanks and semicolons, so that it can be wrapped in another
// statement or prepared alone.
std::string_view TrimSqlEnd(std::string_view sql);

// `s` with & < > " ' as HTML entities (as Jinja's `escape` writes them: &#34; and &#39;).
std::string HtmlEscape(std::string_view s);

// The 1-based line and column of byte `offset` of `text`.
std::pair<int, int> LineColumn(std::string_view text, size_t offset);

}  // namespace strata
