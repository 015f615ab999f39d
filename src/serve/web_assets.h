// The web app's files, embedded in the binary at build time (cmake/embed_web.cmake): the
// pages under src/serve/web/ and ECharts (fetched by scripts/bootstrap.sh, integrity-checked).
#pragma once

#include <string_view>
#include <vector>

namespace strata::serve {

struct WebAsset {
  std::string_view path;  // the URL path: "/app.js", "/vendor/echarts.min.js"
  std::string_view content_type;
  std::string_view data;
  std::string_view sha256;  // hex, for ETags
};

const std::vector<WebAsset>& WebAssets();

}  // namespace strata::serve
