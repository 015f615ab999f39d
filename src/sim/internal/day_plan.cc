#include "sim/internal/day_plan.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string_view>

#include "sim/internal/vocab.h"
#include "sim/rng.h"

namespace strata::sim::internal {
namespace {

constexpr int64_t kDaySeconds = 86400;
constexpr int kMaxItemsPerOrder = 5;

std::string Lower(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c >= 'A' && c <= 'Z')
      out.push_back(static_cast<char>(c - 'A' + 'a'));
    else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
      out.push_back(c);
  }
  return out;
}

// Rounds a price to end in .99 (at least 0.99).
int64_t To99(double cents) {
  int64_t whole = static_cast<int64_t>(std::floor(cents / 100.0));
  return std::max<int64_t>(0, whole) * 100 + 99;
}

// `k` distinct values of [0, n), in draw order.
std::vector<int64_t> SampleDistinct(Rng& rng, int64_t n, int64_t k) {
  std::vector<int64_t> out;
  if (n <= 0 || k <= 0) return out;
  k = std::min(k, n);
  std::vector<bool> taken(static_cast<size_t>(n), false);
  out.reserve(static_cast<size_t>(k));
  while (static_cast<int64_t>(out.size()) < k) {
    int64_t v = static_cast<int64_t>(rng.Below(static_cast<uint64_t>(n)));
    if (taken[static_cast<size_t>(v)]) continue;
    taken[static_cast<size_t>(v)] = true;
    out.push_back(v);
  }
  return out;
}

uint8_t PickCountry(Rng& rng) {
  int total = 0;
  for (const Country& c : kCountries) total += c.weight;
  int64_t r = static_cast<int64_t>(rng.Below(static_cast<uint64_t>(total)));
  for (size_t i = 0; i < kCountries.size(); ++i) {
    r -= kCountries[i].weight;
    if (r < 0) return static_cast<uint8_t>(i);
  }
  return 0;
}

uint8_t InitialSegment(Rng& rng) {
  double u = rng.Uniform();
  if (u < 0.60) return 0;
  if (u < 0.85) return 1;
  if (u < 0.97) return 2;
  return 3;
}

void PlanProducts(const SimState& state, int64_t day_start, World* world, DayPlan* plan) {
  Rng rng = Rng::For(state.seed, kStreamProducts, 0);
  int64_t count = ProductCount(state.scale);
  std::vector<int64_t> times(static_cast<size_t>(count));
  for (auto& t : times) t = day_start + rng.Range(0, 3599);
  std::sort(times.begin(), times.end());
  for (int64_t i = 0; i < count; ++i) {
    NewProduct p;
    p.id = static_cast<int64_t>(world->products.size()) + 1;
    p.category = static_cast<uint8_t>(rng.Below(kCategories.size()));
    const Category& cat = kCategories[p.category];
    std::string_view noun = cat.nouns[rng.Below(cat.nouns.size())];
    std::string_view adj = kAdjectives[rng.Below(kAdjectives.size())];
    if (!rng.Chance(0.05)) p.brand = std::string(kBrands[rng.Below(kBrands.size())]);
    char model[16];
    std::snprintf(model, sizeof model, "%c%d", static_cast<char>('A' + rng.Below(26)),
                  static_cast<int>(rng.Range(1, 99)));
    p.name = (p.brand.empty() ? "" : p.brand + " ") + std::string(adj) + " " + std::string(noun) + " " + model;
    char sku[32];
    std::string cat3 = std::string(cat.name.substr(0, 3));
    for (char& c : cat3) c = static_cast<char>(c - 'a' + 'A');
    std::snprintf(sku, sizeof sku, "SKU-%s-%06lld", cat3.c_str(), static_cast<long long>(p.id));
    p.sku = sku;
    double lo = std::log(static_cast<double>(cat.min_price_cents));
    double hi = std::log(static_cast<double>(cat.max_price_cents));
    p.price_cents = To99(std::exp(lo + (hi - lo) * rng.Uniform()));
    p.created = times[static_cast<size_t>(i)];
    world->products.push_back({p.price_cents, true});
    plan->products.push_back(std::move(p));
  }
}

// Price changes (~1% of products a day) and an occasional deactivation. Applied to the world
// later, in time order, while orders are placed.
void PlanProductChanges(const SimState& state, int64_t day, int64_t day_start, const World& world, DayPlan* plan) {
  Rng rng = Rng::For(state.seed, kStreamProductChanges, static_cast<uint64_t>(day));
  int64_t n = static_cast<int64_t>(world.products.size());
  int64_t k = static_cast<int64_t>(std::floor(0.01 * static_cast<double>(n) + rng.Uniform()));
  for (int64_t idx : SampleDistinct(rng, n, k)) {
    const ProductRec& p = world.products[static_cast<size_t>(idx)];
    double factor = 1.0 + (rng.Uniform() * 0.4 - 0.2);
    int64_t price = To99(static_cast<double>(p.price_cents) * factor);
    if (price == p.price_cents) price += 100;
    plan->product_changes.push_back({idx + 1, day_start + rng.Range(0, kDaySeconds - 1), price, false});
  }
  int64_t active = static_cast<int64_t>(plan->active_at_start.size());
  if (rng.Chance(0.1) && active > 0 && active * 10 > n * 8) {
    int64_t id = plan->active_at_start[rng.Below(static_cast<uint64_t>(active))];
    plan->product_changes.push_back({id, day_start + rng.Range(0, kDaySeconds - 1), -1, true});
  }
  std::stable_sort(plan->product_changes.begin(), plan->product_changes.end(),
                   [](const ProductChange& a, const ProductChange& b) { return a.ts < b.ts; });
}

void PlanCustomers(const SimState& state, int64_t day, int64_t day_start, World* world, DayPlan* plan) {
  Rng rng = Rng::For(state.seed, kStreamCustomers, static_cast<uint64_t>(day));
  int64_t count = DayQuota(TotalFor(1000, state.scale), day);
  // Day 0's customers sign up in its first hour, before the first orders (placed from 01:00).
  int64_t window = day == 0 ? 3600 : kDaySeconds;
  std::vector<int64_t> times(static_cast<size_t>(count));
  for (auto& t : times) t = day_start + rng.Range(0, window - 1);
  std::sort(times.begin(), times.end());
  for (int64_t i = 0; i < count; ++i) {
    NewCustomer c;
    c.id = static_cast<int64_t>(world->customers.size()) + 1;
    std::string_view first = kFirstNames[rng.Below(kFirstNames.size())];
    std::string_view last = kLastNames[rng.Below(kLastNames.size())];
    std::string_view domain = kEmailDomains[rng.Below(kEmailDomains.size())];
    c.email = Lower(first) + "." + Lower(last) + std::to_string(c.id) + "@" + std::string(domain);
    if (!rng.Chance(0.01)) c.first_name = std::string(first);
    if (!rng.Chance(0.01)) c.last_name = std::string(last);
    c.country = rng.Chance(0.01) ? kNull8 : PickCountry(rng);
    c.city = static_cast<uint8_t>(rng.Below(4));
    c.segment = InitialSegment(rng);
    c.created = times[static_cast<size_t>(i)];
    world->customers.push_back({c.segment, c.country});
    plan->customers.push_back(std::move(c));
  }
}

// ~2% of the customers that existed before the day change segment, mostly by one step.
void PlanSegmentChanges(const SimState& state, int64_t day, int64_t day_start, World* world, DayPlan* plan) {
  Rng rng = Rng::For(state.seed, kStreamSegments, static_cast<uint64_t>(day));
  int64_t n = plan->customers_at_start;
  int64_t k = static_cast<int64_t>(std::llround(0.02 * static_cast<double>(n)));
  for (int64_t idx : SampleDistinct(rng, n, k)) {
    CustomerRec& c = world->customers[static_cast<size_t>(idx)];
    int step = rng.Chance(0.9) ? 1 : 2;
    int dir = rng.Chance(0.55) ? 1 : -1;
    int seg = c.segment + dir * step;
    if (seg < 0 || seg > 3) seg = c.segment - dir * step;
    seg = std::clamp(seg, 0, 3);
    if (seg == c.segment) seg = c.segment == 0 ? 1 : c.segment - 1;
    c.segment = static_cast<uint8_t>(seg);
    plan->segment_changes.push_back({idx + 1, c.segment, day_start + rng.Range(0, kDaySeconds - 1)});
  }
  std::sort(plan->segment_changes.begin(), plan->segment_changes.end(),
            [](const SegmentChange& a, const SegmentChange& b) { return a.id < b.id; });
}

void PlanOrders(SimState* state, int64_t day, int64_t day_start, World* world, DayPlan* plan) {
  Rng rng = Rng::For(state->seed, kStreamOrders, static_cast<uint64_t>(day));
  int64_t num_orders = DayQuota(TotalFor(5000, state->scale), day);
  int64_t num_items = DayQuota(TotalFor(10000, state->scale), day);
  int64_t total_customers = static_cast<int64_t>(world->customers.size());
  if (total_customers == 0) num_orders = 0;

  std::vector<int64_t> active = plan->active_at_start;
  int64_t cap = std::min<int64_t>(kMaxItemsPerOrder, static_cast<int64_t>(active.size()));
  if (cap == 0) num_orders = 0;
  num_items = std::clamp(num_items, num_orders, num_orders * cap);

  std::vector<int64_t> placed(static_cast<size_t>(num_orders));
  for (auto& t : placed) t = day_start + rng.Range(3600, kDaySeconds - 1);
  std::sort(placed.begin(), placed.end());

  std::vector<int32_t> counts(static_cast<size_t>(num_orders), 1);
  for (int64_t left = num_items - num_orders; left > 0;) {
    size_t o = rng.Below(static_cast<uint64_t>(num_orders));
    if (counts[o] < cap) {
      ++counts[o];
      --left;
    }
  }

  size_t next_change = 0;
  auto apply_changes_until = [&](int64_t ts) {
    while (next_change < plan->product_changes.size() && plan->product_changes[next_change].ts <= ts) {
      const ProductChange& ch = plan->product_changes[next_change++];
      ProductRec& p = world->products[static_cast<size_t>(ch.id - 1)];
      if (ch.new_price_cents >= 0) p.price_cents = ch.new_price_cents;
      if (ch.deactivate && p.active) {
        p.active = false;
        active.erase(std::find(active.begin(), active.end(), ch.id));
      }
    }
  };

  // Customers who signed up today, by created time (ids ascending).
  const int64_t first_new_id = plan->customers_at_start + 1;
  size_t new_eligible = 0;
  state->day_first_order_id.push_back(state->next_order_id);
  for (int64_t o = 0; o < num_orders; ++o) {
    const int64_t ts = placed[static_cast<size_t>(o)];
    apply_changes_until(ts);
    while (new_eligible < plan->customers.size() && plan->customers[new_eligible].created < ts) {
      ++new_eligible;
    }
    const int64_t eligible = plan->customers_at_start + static_cast<int64_t>(new_eligible);
    int64_t customer_id;
    if (eligible == 0) {
      continue;  // nobody can order yet (only with absurdly small scales)
    } else if (new_eligible > 0 && rng.Chance(0.25)) {
      customer_id = first_new_id + static_cast<int64_t>(rng.Below(new_eligible));
    } else {
      // Skewed towards older customers: loyal customers order more.
      double u = std::pow(rng.Uniform(), 1.3);
      customer_id = 1 + std::min<int64_t>(eligible - 1, static_cast<int64_t>(u * static_cast<double>(eligible)));
    }
    int32_t n = std::min<int32_t>(counts[static_cast<size_t>(o)], static_cast<int32_t>(active.size()));
    if (n == 0) continue;

    NewOrder order;
    order.id = state->next_order_id++;
    order.customer_id = customer_id;
    order.placed = ts;
    order.payment = rng.Chance(0.02) ? kNull8 : static_cast<uint8_t>(rng.Below(kPaymentMethods.size()));
    order.shipping_country = world->customers[static_cast<size_t>(customer_id - 1)].country;
    order.first_item = static_cast<int32_t>(plan->items.size());
    order.num_items = n;
    order.total_cents = 0;
    int64_t chosen[kMaxItemsPerOrder];
    for (int32_t i = 0; i < n; ++i) {
      int64_t pid;
      bool dup;
      do {
        double u = std::pow(rng.Uniform(), 1.6);
        size_t idx = std::min(active.size() - 1, static_cast<size_t>(u * static_cast<double>(active.size())));
        pid = active[idx];
        dup = std::find(chosen, chosen + i, pid) != chosen + i;
      } while (dup);
      chosen[i] = pid;
      NewItem item;
      item.id = state->next_item_id++;
      item.order_id = order.id;
      item.product_id = pid;
      double q = rng.Uniform();
      item.quantity = q < 0.70 ? 1 : q < 0.90 ? 2 : q < 0.97 ? 3 : static_cast<int32_t>(rng.Range(4, 5));
      item.unit_price_cents = world->products[static_cast<size_t>(pid - 1)].price_cents;
      int64_t line = item.quantity * item.unit_price_cents;
      item.discount_cents = 0;
      if (rng.Chance(0.2)) {
        int64_t pct = 5 * rng.Range(1, 4);
        item.discount_cents = (line * pct + 50) / 100;
      }
      order.total_cents += line - item.discount_cents;
      plan->items.push_back(item);
    }
    plan->orders.push_back(order);
  }
  apply_changes_until(day_start + kDaySeconds);
}

void PlanStatusChanges(const SimState& state, int64_t day, int64_t day_start, DayPlan* plan) {
  int64_t first_day = std::max<int64_t>(0, day - kLifecycleHorizonDays);
  for (int64_t p = first_day; p < day; ++p) {
    int64_t begin = state.day_first_order_id[static_cast<size_t>(p)];
    int64_t end = p + 1 < static_cast<int64_t>(state.day_first_order_id.size())
                      ? state.day_first_order_id[static_cast<size_t>(p + 1)]
                      : state.next_order_id;
    for (int64_t id = begin; id < end; ++id) {
      Transition t[3];
      int n = PlanOrderLifecycle(state.seed, id, p, t);
      for (int i = 0; i < n; ++i) {
        if (t[i].day == day) plan->status_changes.push_back({id, t[i].status, day_start + t[i].sec});
      }
    }
  }
}

}  // namespace

const char* OrderStatusName(uint8_t status) {
  switch (status) {
    case kPlaced:
      return "placed";
    case kShipped:
      return "shipped";
    case kDelivered:
      return "delivered";
    case kCancelled:
      return "cancelled";
    case kReturned:
      return "returned";
  }
  return "unknown";
}

int64_t DayQuota(int64_t total, int64_t day) {
  int64_t i = day % 30;
  return total * (i + 1) / 30 - total * i / 30;
}

int64_t TotalFor(double per_30_days_at_scale_1, double scale) { return std::llround(per_30_days_at_scale_1 * scale); }

int64_t ProductCount(double scale) { return std::max<int64_t>(1, std::llround(200.0 * std::sqrt(scale))); }

int PlanOrderLifecycle(uint64_t seed, int64_t order_id, int64_t placed_day, Transition out[3]) {
  Rng rng = Rng::For(seed, kStreamLifecycle, static_cast<uint64_t>(order_id));
  if (rng.Chance(0.05)) {
    out[0] = {placed_day + rng.Range(1, 2), kCancelled, static_cast<int32_t>(rng.Range(0, kDaySeconds - 1))};
    return 1;
  }
  int64_t ship = placed_day + rng.Range(1, 3);
  int64_t deliver = ship + rng.Range(2, 5);
  out[0] = {ship, kShipped, static_cast<int32_t>(rng.Range(0, kDaySeconds - 1))};
  out[1] = {deliver, kDelivered, static_cast<int32_t>(rng.Range(0, kDaySeconds - 1))};
  if (rng.Chance(0.03)) {
    out[2] = {deliver + rng.Range(1, 14), kReturned, static_cast<int32_t>(rng.Range(0, kDaySeconds - 1))};
    return 3;
  }
  return 2;
}

DayPlan PlanDay(World* world, SimState* state) {
  DayPlan plan;
  plan.day = state->days_simulated;
  plan.date = state->start + plan.day;
  const int64_t day_start = plan.date.StartEpochSeconds();
  plan.customers_at_start = static_cast<int64_t>(world->customers.size());

  if (plan.day == 0 && world->products.empty()) PlanProducts(*state, day_start, world, &plan);
  for (size_t i = 0; i < world->products.size(); ++i) {
    if (world->products[i].active) plan.active_at_start.push_back(static_cast<int64_t>(i) + 1);
  }
  if (plan.day > 0) PlanProductChanges(*state, plan.day, day_start, *world, &plan);
  PlanCustomers(*state, plan.day, day_start, world, &plan);
  if (plan.day > 0) PlanSegmentChanges(*state, plan.day, day_start, world, &plan);
  PlanStatusChanges(*state, plan.day, day_start, &plan);
  PlanOrders(state, plan.day, day_start, world, &plan);
  return plan;
}

}  // namespace strata::sim::internal
