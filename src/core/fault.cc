#include "core/fault.h"

#include <atomic>
#include <mutex>

namespace strata {
namespace {

std::atomic<bool> armed{false};
std::mutex mu;
std::string armed_point;
int armed_nth = 0;
int hits = 0;
Status armed_error;

}  // namespace

void ArmFailPoint(const std::string& point, int nth, Status error) {
  std::lock_guard<std::mutex> lock(mu);
  armed_point = point;
  armed_nth = nth;
  hits = 0;
  armed_error = std::move(error);
  armed.store(true);
}

void DisarmFailPoints() {
  std::lock_guard<std::mutex> lock(mu);
  armed.store(false);
  armed_point.clear();
}

int FailPointHits() {
  std::lock_guard<std::mutex> lock(mu);
  return hits;
}

Status FailPoint(const char* point) {
  if (!armed.load(std::memory_order_relaxed)) return Status::OK();
  std::lock_guard<std::mutex> lock(mu);
  if (armed_point != point) return Status::OK();
  if (++hits == armed_nth) return armed_error;
  return Status::OK();
}

}  // namespace strata
