// Small string helpers shared by modules.
#pragma once

#include <string>
#include <string_view>

namespace strata {

// Lower-cases A-Z and leaves every other byte as it is (UTF-8 stays intact).
std::string AsciiLower(std::string_view s);

// `sql` without trailing blanks and semicolons, so that it can be wrapped in another
// statement or prepared alone.
std::string_view TrimSqlEnd(std::string_view sql);

}  // namespace strata
