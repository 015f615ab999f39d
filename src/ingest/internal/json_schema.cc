#include "ingest/internal/connectors.h"

namespace strata::ingest::internal {

void JsonSchemaBuilder::Observe(std::string_view key, Kind kind) {
  auto it = index_.find(std::string(key));
  if (it == index_.end()) {
    index_.emplace(std::string(key), order_.size());
    order_.emplace_back(key);
    kinds_.push_back(kind);
    return;
  }
  Kind& k = kinds_[it->second];
  if (k == kind || kind == Kind::kNull) return;
  if (k == Kind::kNull) {
    k = kind;
  } else if ((k == Kind::kInt && kind == Kind::kDouble) || (k == Kind::kDouble && kind == Kind::kInt)) {
    k = Kind::kDouble;
  } else {
    k = Kind::kString;  // incompatible kinds: keep the text
  }
}

std::vector<lake::ColumnSchema> JsonSchemaBuilder::Build() const {
  std::vector<lake::ColumnSchema> out;
  for (size_t i = 0; i < order_.size(); ++i) {
    const char* type = "VARCHAR";
    switch (kinds_[i]) {
      case Kind::kBool:
        type = "BOOLEAN";
        break;
      case Kind::kInt:
        type = "BIGINT";
        break;
      case Kind::kDouble:
        type = "DOUBLE";
        break;
      case Kind::kNested:
        type = "JSON";
        break;
      case Kind::kNull:
      case Kind::kString:
        type = "VARCHAR";
        break;
    }
    out.push_back({order_[i], type});
  }
  return out;
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace strata::ingest::internal
