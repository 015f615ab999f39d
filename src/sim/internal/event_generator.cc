#include "sim/internal/event_generator.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string_view>

#include "sim/internal/vocab.h"
#include "sim/rng.h"

namespace strata::sim::internal {
namespace {

constexpr int32_t kDaySeconds = 86400;
constexpr int32_t kBlockSeconds = 6 * 3600;

enum EvType : uint8_t { kPageView, kProductView, kAddToCart, kCheckout, kPurchase };
enum Page : uint8_t { kHome, kCategoryPage, kSearchPage, kProductPage, kCheckoutPage, kConfirmation };
enum Omit : uint8_t {
  kOmitCustomer = 1,
  kOmitPageUrl = 2,
  kOmitReferrer = 4,
  kOmitDevice = 8,
  kOmitUserAgent = 16,
};
enum LineKind : uint64_t { kKindClean = 0, kKindDuplicate = 1, kKindMalformed = 2, kKindUnknown = 3 };

struct Session {
  int64_t customer_id;  // 0 = anonymous (null)
  uint8_t device;
  uint8_t ua;
  int8_t referrer;  // -1 = null (direct)
};

struct Ev {
  int32_t sec;  // second of the day it occurred
  uint32_t session;
  uint8_t type;
  uint8_t page;
  uint8_t omit = 0;
  bool late = false;
  int32_t quantity = 0;
  int64_t product_id = 0;
  int64_t order_id = 0;
  int64_t revenue_cents = 0;
  int64_t page_arg = 0;  // category index, search word index, product id or order id
};

struct LineRef {
  int32_t sec;
  uint64_t key;
  std::string_view text;
};

uint64_t LineKey(int64_t day, LineKind kind, uint64_t index) {
  return (static_cast<uint64_t>(day) << 34) | (static_cast<uint64_t>(kind) << 30) | (index & ((1ULL << 30) - 1));
}

void AppendHex16(std::string* out, uint64_t v) {
  static const char kHex[] = "0123456789abcdef";
  char buf[16];
  for (int i = 15; i >= 0; --i) {
    buf[i] = kHex[v & 15];
    v >>= 4;
  }
  out->append(buf, 16);
}

void AppendInt(std::string* out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, static_cast<size_t>(r.ptr - buf));
}

void AppendCents(std::string* out, int64_t cents) {
  if (cents < 0) {
    out->push_back('-');
    cents = -cents;
  }
  AppendInt(out, cents / 100);
  out->push_back('.');
  out->push_back(static_cast<char>('0' + cents % 100 / 10));
  out->push_back(static_cast<char>('0' + cents % 10));
}

void AppendTime(std::string* out, std::string_view date_prefix, int32_t s) {
  out->append(date_prefix);
  char buf[8] = {static_cast<char>('0' + s / 36000),   static_cast<char>('0' + s / 3600 % 10), ':',
                 static_cast<char>('0' + s / 600 % 6), static_cast<char>('0' + s / 60 % 10),   ':',
                 static_cast<char>('0' + s % 60 / 10), static_cast<char>('0' + s % 10)};
  out->append(buf, 8);
}

void AppendPageUrl(std::string* out, uint8_t page, int64_t arg) {
  out->append(kSiteUrl);
  switch (page) {
    case kHome:
      out->append("/");
      break;
    case kCategoryPage:
      out->append("/c/");
      out->append(kCategories[static_cast<size_t>(arg)].name);
      break;
    case kSearchPage:
      out->append("/search?q=");
      out->append(kSearchWords[static_cast<size_t>(arg)]);
      break;
    case kProductPage:
      out->append("/p/");
      AppendInt(out, arg);
      break;
    case kCheckoutPage:
      out->append("/checkout");
      break;
    case kConfirmation:
      out->append("/checkout/confirmation?order=");
      AppendInt(out, arg);
      break;
  }
}

struct Formatter {
  uint64_t seed;
  int64_t day;
  std::string date_prefix;  // "YYYY-MM-DD "
  bool drift;
  uint64_t session_key;

  // Appends one event as a JSON line (no newline). `prev` is the previous event of the same
  // session (its page is the referrer), or null for the first one.
  void Append(std::string* out, const Ev& e, const Ev* prev, const Session& s, std::string_view id,
              std::string_view type) const {
    out->append("{\"event_id\":\"");
    out->append(id);
    out->append("\",\"event_type\":\"");
    out->append(type);
    out->append("\",\"occurred_at\":\"");
    AppendTime(out, date_prefix, e.sec);
    out->append("\",\"session_id\":\"sess-");
    AppendHex16(out, Mix64(session_key ^ ((static_cast<uint64_t>(day) << 32) | e.session)));
    out->push_back('"');
    if (!(e.omit & kOmitCustomer)) {
      out->append(",\"customer_id\":");
      if (s.customer_id == 0)
        out->append("null");
      else
        AppendInt(out, s.customer_id);
    }
    if (e.product_id != 0) {
      out->append(",\"product_id\":");
      AppendInt(out, e.product_id);
    }
    if (e.order_id != 0) {
      out->append(",\"order_id\":");
      AppendInt(out, e.order_id);
    }
    if (e.quantity != 0) {
      out->append(",\"quantity\":");
      AppendInt(out, e.quantity);
    }
    if (e.type == kPurchase) {
      out->append(",\"revenue\":");
      AppendCents(out, e.revenue_cents);
    }
    if (!(e.omit & kOmitPageUrl)) {
      out->append(",\"page_url\":\"");
      AppendPageUrl(out, e.page, e.page_arg);
      out->push_back('"');
    }
    if (!(e.omit & kOmitReferrer)) {
      out->append(",\"referrer\":");
      if (prev != nullptr) {
        out->push_back('"');
        AppendPageUrl(out, prev->page, prev->page_arg);
        out->push_back('"');
      } else if (s.referrer < 0) {
        out->append("null");
      } else {
        out->push_back('"');
        out->append(kReferrers[static_cast<size_t>(s.referrer)]);
        out->push_back('"');
      }
    }
    if (!(e.omit & kOmitDevice)) {
      out->append(",\"device\":\"");
      out->append(kDevices[s.device]);
      out->push_back('"');
    }
    if (!(e.omit & kOmitUserAgent)) {
      out->append(",\"user_agent\":\"");
      out->append(kUserAgents[s.device][s.ua]);
      out->push_back('"');
    }
    if (drift) {
      out->append(",\"app_version\":\"");
      out->append(s.device == 1 ? "web-4." : "app-4.");
      AppendInt(out, day / 7 % 10);
      out->push_back('.');
      AppendInt(out, static_cast<int64_t>(Mix64(e.session) % 5));
      out->push_back('"');
    }
    out->push_back('}');
  }
};

Session NewSession(Rng& rng, int64_t customer_id) {
  Session s;
  s.customer_id = customer_id;
  double u = rng.Uniform();
  s.device = u < 0.55 ? 0 : u < 0.93 ? 1 : 2;
  s.ua = static_cast<uint8_t>(rng.Below(2));
  s.referrer = rng.Chance(0.4) ? -1 : static_cast<int8_t>(rng.Below(kReferrers.size()));
  return s;
}

Ev LandingView(Rng& rng, uint32_t session) {
  Ev e{};
  e.session = session;
  e.type = kPageView;
  double u = rng.Uniform();
  if (u < 0.5) {
    e.page = kHome;
  } else if (u < 0.8) {
    e.page = kCategoryPage;
    e.page_arg = static_cast<int64_t>(rng.Below(kCategories.size()));
  } else {
    e.page = kSearchPage;
    e.page_arg = static_cast<int64_t>(rng.Below(kSearchWords.size()));
  }
  return e;
}

Ev ProductEvent(uint32_t session, uint8_t type, int64_t product_id, int32_t quantity) {
  Ev e{};
  e.session = session;
  e.type = type;
  e.page = kProductPage;
  e.page_arg = product_id;
  e.product_id = product_id;
  e.quantity = type == kAddToCart ? quantity : 0;
  return e;
}

int64_t RandomProduct(Rng& rng, const std::vector<int64_t>& active) {
  if (active.empty()) return 0;
  double u = std::pow(rng.Uniform(), 1.6);
  size_t idx = std::min(active.size() - 1, static_cast<size_t>(u * static_cast<double>(active.size())));
  return active[idx];
}

// "ev-" + 16 hex digits of a bijection of (day, seq): unique for one seed.
class EventIdMaker {
 public:
  EventIdMaker(uint64_t seed, int64_t day)
      : key_(DeriveSeed(seed, kStreamEventIds)), day_bits_(static_cast<uint64_t>(day) << 32) {
    buf_[0] = 'e';
    buf_[1] = 'v';
    buf_[2] = '-';
  }
  std::string_view Make(uint32_t seq) {
    static const char kHex[] = "0123456789abcdef";
    uint64_t v = Mix64(key_ ^ (day_bits_ | seq));
    for (int i = 18; i >= 3; --i) {
      buf_[i] = kHex[v & 15];
      v >>= 4;
    }
    return std::string_view(buf_, 19);
  }

 private:
  uint64_t key_;
  uint64_t day_bits_;
  char buf_[19];
};

}  // namespace

std::string EventId(uint64_t seed, int64_t day, uint32_t seq) { return std::string(EventIdMaker(seed, day).Make(seq)); }

void GenerateDayEvents(const DayPlan& plan, SimState* state, DayEvents* out) {
  DayEvents& result = *out;
  result.counts = SimCounts();
  for (std::string& f : result.files) f.clear();
  const int64_t day = plan.day;
  const DirtOptions& dirt = state->dirt;
  const int64_t quota = DayQuota(TotalFor(50000, state->scale), day);
  Rng rng = Rng::For(state->seed, kStreamEvents, static_cast<uint64_t>(day));

  std::vector<Session> sessions;
  std::vector<Ev> events;
  events.reserve(static_cast<size_t>(quota) + 16);

  // --- Purchase sessions: one per order, ending in its purchase at placed_at. ---
  // Full form: page_view, (product_view, add_to_cart) per item, checkout_started, purchase;
  // compact form (only when the quota cannot hold the full forms): the purchase alone.
  const size_t num_orders = plan.orders.size();
  std::vector<bool> compact(num_orders, false);
  int64_t needed = 0;
  for (const NewOrder& o : plan.orders) needed += 3 + 2 * o.num_items;
  for (size_t i = num_orders; i > 0 && needed > quota; --i) {
    compact[i - 1] = true;
    needed -= 2 + 2 * plan.orders[i - 1].num_items;
  }
  // A share of the spare budget goes to extra browsing inside purchase sessions.
  int64_t extra_budget = std::max<int64_t>(0, (quota - needed) * 3 / 10);
  std::vector<Ev> seq;
  for (size_t i = 0; i < num_orders; ++i) {
    const NewOrder& o = plan.orders[i];
    const uint32_t sid = static_cast<uint32_t>(sessions.size());
    sessions.push_back(NewSession(rng, o.customer_id));
    seq.clear();
    if (!compact[i]) {
      seq.push_back(LandingView(rng, sid));
      int64_t extra = std::min<int64_t>(extra_budget, rng.Range(0, 2));
      extra_budget -= extra;
      for (int64_t k = 0; k < extra; ++k) {
        seq.push_back(ProductEvent(sid, kProductView, RandomProduct(rng, plan.active_at_start), 0));
      }
      for (int32_t k = 0; k < o.num_items; ++k) {
        const NewItem& item = plan.items[static_cast<size_t>(o.first_item + k)];
        seq.push_back(ProductEvent(sid, kProductView, item.product_id, 0));
        seq.push_back(ProductEvent(sid, kAddToCart, item.product_id, item.quantity));
      }
      Ev checkout{};
      checkout.session = sid;
      checkout.type = kCheckout;
      checkout.page = kCheckoutPage;
      seq.push_back(checkout);
    }
    Ev purchase{};
    purchase.session = sid;
    purchase.type = kPurchase;
    purchase.page = kConfirmation;
    purchase.page_arg = o.id;
    purchase.order_id = o.id;
    purchase.revenue_cents = o.total_cents;
    seq.push_back(purchase);
    // Times run backwards from the purchase; placed_at is at least 01:00, sessions are shorter.
    int32_t t = static_cast<int32_t>(o.placed - plan.date.StartEpochSeconds());
    for (size_t k = seq.size(); k > 0; --k) {
      seq[k - 1].sec = std::max(0, t);
      t -= static_cast<int32_t>(rng.Range(5, 120));
    }
    events.insert(events.end(), seq.begin(), seq.end());
  }

  // --- Filler sessions that stop early in the funnel, up to the quota. ---
  while (static_cast<int64_t>(events.size()) < quota) {
    const uint32_t sid = static_cast<uint32_t>(sessions.size());
    int64_t customer = 0;
    if (plan.customers_at_start > 0 && rng.Chance(0.55)) {
      customer = rng.Range(1, plan.customers_at_start);
    }
    sessions.push_back(NewSession(rng, customer));
    seq.clear();
    seq.push_back(LandingView(rng, sid));
    if (rng.Chance(0.3)) seq.push_back(LandingView(rng, sid));
    int64_t views = plan.active_at_start.empty() ? 0 : rng.Range(0, 4);
    int64_t viewed[4];
    for (int64_t k = 0; k < views; ++k) {
      viewed[k] = RandomProduct(rng, plan.active_at_start);
      seq.push_back(ProductEvent(sid, kProductView, viewed[k], 0));
    }
    if (views > 0 && rng.Chance(0.35)) {
      int64_t carts = rng.Range(1, std::min<int64_t>(2, views));
      for (int64_t k = 0; k < carts; ++k) {
        seq.push_back(ProductEvent(sid, kAddToCart, viewed[k], static_cast<int32_t>(rng.Range(1, 2))));
      }
      if (rng.Chance(0.3)) {
        Ev checkout{};
        checkout.session = sid;
        checkout.type = kCheckout;
        checkout.page = kCheckoutPage;
        seq.push_back(checkout);
      }
    }
    size_t len = std::min<size_t>(seq.size(), static_cast<size_t>(quota) - events.size());
    seq.resize(len);
    int32_t t = static_cast<int32_t>(rng.Range(0, kDaySeconds - 1 - 120 * static_cast<int64_t>(len)));
    for (Ev& e : seq) {
      e.sec = t;
      t += static_cast<int32_t>(rng.Range(5, 120));
    }
    events.insert(events.end(), seq.begin(), seq.end());
  }
  const int64_t num_events = static_cast<int64_t>(events.size());

  // --- Dirt decisions (own stream, so the clean clickstream does not depend on the rates). ---
  Rng drng = Rng::For(state->seed, kStreamDirt, static_cast<uint64_t>(day));
  auto count_for = [&](double rate) {
    return std::max<int64_t>(0, std::llround(rate * static_cast<double>(num_events)));
  };
  auto sample = [&](int64_t k, auto&& fn) {
    k = std::min(k, num_events);
    std::vector<bool> taken(static_cast<size_t>(num_events), false);
    for (int64_t n = 0; n < k;) {
      size_t v = drng.Below(static_cast<uint64_t>(num_events));
      if (taken[v]) continue;
      taken[v] = true;
      fn(events[v]);
      ++n;
    }
    return k;
  };
  const int64_t num_late = sample(count_for(dirt.late_rate), [](Ev& e) { e.late = true; });
  const int64_t num_missing = sample(count_for(dirt.missing_optional_rate), [&](Ev& e) {
    static constexpr uint8_t kChoices[] = {kOmitPageUrl, kOmitReferrer, kOmitDevice, kOmitUserAgent, kOmitCustomer};
    const size_t choices = e.type == kPurchase ? 4 : 5;  // purchases keep customer_id
    int n = drng.Chance(0.7) ? 1 : 2;
    for (int i = 0; i < n; ++i) e.omit |= kChoices[drng.Below(choices)];
  });
  const bool drift = dirt.schema_drift_day >= 0 && day >= dirt.schema_drift_day;

  Formatter fmt{state->seed, day, plan.date.ToString() + " ", drift, DeriveSeed(state->seed, kStreamSessionIds)};
  std::string& arena = result.arena;
  arena.clear();
  arena.reserve(static_cast<size_t>(num_events) * 400 + 4096);
  std::vector<size_t>& offsets = result.offsets;
  offsets.assign(static_cast<size_t>(num_events) + 1, 0);
  EventIdMaker ids(state->seed, day);
  for (int64_t i = 0; i < num_events; ++i) {
    const Ev& e = events[static_cast<size_t>(i)];
    const Ev* prev = i > 0 && events[static_cast<size_t>(i - 1)].session == e.session
                         ? &events[static_cast<size_t>(i - 1)]
                         : nullptr;
    offsets[static_cast<size_t>(i)] = arena.size();
    fmt.Append(&arena, e, prev, sessions[e.session], ids.Make(static_cast<uint32_t>(i)), kEventTypes[e.type]);
  }
  offsets[static_cast<size_t>(num_events)] = arena.size();
  auto line_of = [&](int64_t i) {
    size_t b = offsets[static_cast<size_t>(i)];
    return std::string_view(arena).substr(b, offsets[static_cast<size_t>(i) + 1] - b);
  };

  // Extra lines: unknown event types and malformed lines, appended to the arena.
  struct Extra {
    int32_t sec;
    uint64_t key;
    size_t begin, end;
  };
  std::vector<Extra> extras;
  const int64_t num_unknown = num_events == 0 ? 0 : count_for(dirt.unknown_type_rate);
  for (int64_t k = 0; k < num_unknown; ++k) {
    Ev e = events[drng.Below(static_cast<uint64_t>(num_events))];
    e.omit = 0;
    e.order_id = 0;
    e.quantity = 0;
    if (e.type == kPurchase) e.type = kCheckout;  // keeps revenue off
    std::string_view type = kUnknownEventTypes[drng.Below(kUnknownEventTypes.size())];
    size_t begin = arena.size();
    fmt.Append(&arena, e, nullptr, sessions[e.session], ids.Make(0x80000000u | static_cast<uint32_t>(k)), type);
    extras.push_back({e.sec, LineKey(day, kKindUnknown, static_cast<uint64_t>(k)), begin, arena.size()});
  }
  const int64_t num_malformed = count_for(dirt.malformed_rate);
  for (int64_t k = 0; k < num_malformed; ++k) {
    size_t begin = arena.size();
    if (num_events > 0 && drng.Chance(0.7)) {
      // A truncated object: a proper prefix of a line never closes its outer brace.
      std::string line(line_of(static_cast<int64_t>(drng.Below(static_cast<uint64_t>(num_events)))));
      size_t cut = static_cast<size_t>(drng.Range(10, static_cast<int64_t>(line.size()) - 1));
      arena.append(line, 0, cut);
    } else {
      arena.append(kGarbageLines[drng.Below(kGarbageLines.size())]);
    }
    int32_t sec = static_cast<int32_t>(drng.Range(0, kDaySeconds - 1));
    extras.push_back({sec, LineKey(day, kKindMalformed, static_cast<uint64_t>(k)), begin, arena.size()});
  }
  // The arena does not grow from here on: views into it stay valid.

  std::vector<LineRef> refs;
  refs.reserve(static_cast<size_t>(num_events) + extras.size() + 64);
  std::vector<PendingLine> new_pending;
  std::vector<size_t> on_time;  // indexes into refs of clean on-time lines
  on_time.reserve(static_cast<size_t>(num_events));
  for (int64_t i = 0; i < num_events; ++i) {
    const Ev& e = events[static_cast<size_t>(i)];
    const uint64_t key = LineKey(day, kKindClean, static_cast<uint64_t>(i));
    if (e.late) {
      PendingLine p;
      p.arrive_day = day + drng.Range(1, 3);
      p.arrive_sec = static_cast<int32_t>(drng.Range(0, kDaySeconds - 1));
      p.key = key;
      p.line = std::string(line_of(i));
      new_pending.push_back(std::move(p));
      continue;
    }
    int32_t arrive = std::min<int32_t>(kDaySeconds - 1, e.sec + static_cast<int32_t>(rng.Range(0, 5)));
    on_time.push_back(refs.size());
    refs.push_back({arrive, key, line_of(i)});
  }
  const int64_t num_duplicates = on_time.empty() ? 0 : count_for(dirt.duplicate_rate);
  for (int64_t k = 0; k < num_duplicates; ++k) {
    const LineRef src = refs[on_time[drng.Below(on_time.size())]];
    const uint64_t key = LineKey(day, kKindDuplicate, static_cast<uint64_t>(k));
    int32_t arrive = src.sec + static_cast<int32_t>(drng.Range(1, 6 * 3600));
    if (arrive < kDaySeconds) {
      refs.push_back({arrive, key, src.text});
    } else {
      new_pending.push_back({day + 1, arrive - kDaySeconds, key, std::string(src.text)});
    }
  }
  for (const Extra& x : extras) {
    refs.push_back({x.sec, x.key, std::string_view(arena).substr(x.begin, x.end - x.begin)});
  }
  int64_t delivered = 0;
  for (const PendingLine& p : state->pending) {
    if (p.arrive_day <= day) {
      refs.push_back({p.arrive_sec, p.key, p.line});
      ++delivered;
    }
  }
  std::sort(refs.begin(), refs.end(),
            [](const LineRef& a, const LineRef& b) { return a.sec != b.sec ? a.sec < b.sec : a.key < b.key; });
  size_t bytes = 0;
  for (const LineRef& r : refs) bytes += r.text.size() + 1;
  for (std::string& f : result.files) f.reserve(bytes / 4 + 1024);
  for (const LineRef& r : refs) {
    std::string& f = result.files[static_cast<size_t>(std::min(3, r.sec / kBlockSeconds))];
    f.append(r.text);
    f.push_back('\n');
  }

  // Pending: drop what was delivered, add what is due later; keep it sorted.
  std::erase_if(state->pending, [day](const PendingLine& p) { return p.arrive_day <= day; });
  for (PendingLine& p : new_pending) state->pending.push_back(std::move(p));
  std::sort(state->pending.begin(), state->pending.end(), [](const PendingLine& a, const PendingLine& b) {
    if (a.arrive_day != b.arrive_day) return a.arrive_day < b.arrive_day;
    if (a.arrive_sec != b.arrive_sec) return a.arrive_sec < b.arrive_sec;
    return a.key < b.key;
  });

  SimCounts& c = result.counts;
  c.events = num_events;
  c.duplicate_lines = num_duplicates;
  c.late_events = num_late;
  c.malformed_lines = num_malformed;
  c.missing_optional_events = num_missing;
  c.unknown_type_events = num_unknown;
  c.drifted_events = drift ? num_events + num_unknown : 0;
  c.lines_written = static_cast<int64_t>(refs.size());
  c.late_delivered = delivered;
}

}  // namespace strata::sim::internal
