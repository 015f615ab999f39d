#include "ingest/collector.h"

#include <fcntl.h>
#include <httplib.h>
#include <simdjson.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "core/clock.h"
#include "core/date.h"
#include "core/file.h"
#include "core/hash.h"
#include "ingest/internal/event_check.h"
#include "lake/jsonl_writer.h"

namespace strata::ingest {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// ---- the write-ahead log ---------------------------------------------------------------------
//
// A segment is a sequence of records: length (4 bytes, little endian, of kind + payload), CRC-32
// of kind + payload (4 bytes), kind (1 byte), payload. Kind 0: an accepted event's JSON text;
// kind 1: a rejected one, as {"reason", "record", "client"}.

constexpr char kAccepted = 0;
constexpr char kRejected = 1;
constexpr uint32_t kMaxRecord = 128u << 20;

uint32_t Crc32(std::string_view data) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : data) c = table[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

void AppendRecord(std::string* out, char kind, std::string_view payload) {
  std::string body;
  body.reserve(payload.size() + 1);
  body.push_back(kind);
  body.append(payload);
  uint32_t len = static_cast<uint32_t>(body.size()), crc = Crc32(body);
  char head[8];
  std::memcpy(head, &len, 4);
  std::memcpy(head + 4, &crc, 4);
  out->append(head, 8);
  out->append(body);
}

struct WalRecord {
  char kind;
  std::string payload;
};

// Reads a segment's records; `*valid` gets the length of its intact prefix (a torn tail, never
// acknowledged, ends it).
Result<std::vector<WalRecord>> ReadSegment(const std::string& path, int64_t* valid) {
  STRATA_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
  std::vector<WalRecord> out;
  size_t pos = 0;
  while (pos + 8 <= data.size()) {
    uint32_t len, crc;
    std::memcpy(&len, data.data() + pos, 4);
    std::memcpy(&crc, data.data() + pos + 4, 4);
    if (len == 0 || len > kMaxRecord || pos + 8 + len > data.size()) break;
    std::string_view body(data.data() + pos + 8, len);
    if (Crc32(body) != crc) break;
    out.push_back({body[0], std::string(body.substr(1))});
    pos += 8 + len;
  }
  *valid = static_cast<int64_t>(pos);
  return out;
}

std::string SegmentName(int64_t n) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "seg-%012lld.wal", static_cast<long long>(n));
  return buf;
}

int64_t SegmentNumber(const std::string& name) {
  if (name.rfind("seg-", 0) != 0 || name.size() != 4 + 12 + 4) return -1;
  return std::atoll(name.c_str() + 4);
}

Status Errno(const std::string& what) { return Status::IOError(what + ": " + std::strerror(errno)); }

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// The event ids acknowledged within the dedup window, and those being written. Ids are kept
// as 128-bit hashes (a few bytes each, whatever their length) in shards with their own locks,
// so that concurrent requests rarely wait for each other and no shard grows large.
class IdWindow {
 public:
  struct Key {
    uint64_t a = 0, b = 0;
    bool operator==(const Key& o) const { return a == o.a && b == o.b; }
  };
  static Key KeyOf(std::string_view id) {
    // Two independent 64-bit hashes: FNV-1a and std::hash.
    uint64_t f = 0xcbf29ce484222325ull;
    for (unsigned char c : id) f = (f ^ c) * 0x100000001b3ull;
    return {f, static_cast<uint64_t>(std::hash<std::string_view>()(id))};
  }

  // Claims `key` for a write whose outcome `pending` will tell. False when it is taken: then
  // `*earlier` is that write's outcome if it is still in flight (else invalid).
  bool Claim(const Key& key, const std::shared_future<Status>& pending, std::shared_future<Status>* earlier) {
    Shard& sh = ShardOf(key);
    std::lock_guard<std::mutex> lock(sh.mu);
    Expire(sh);
    auto [it, inserted] = sh.ids.try_emplace(key, Entry{Clock::time_point::max(), pending});
    if (!inserted) *earlier = it->second.pending;
    return inserted;
  }
  // At most `max_ids` acknowledged ids are kept (the oldest go first), so that memory stays
  // bounded whatever the rate: the window is dedup_seconds or max_ids, whichever is shorter.
  explicit IdWindow(int64_t max_ids) : per_shard_(std::max<int64_t>(1, max_ids / static_cast<int64_t>(kShards))) {}

  // The claimed keys' write ended: kept until `until` when it held, else released.
  void Settle(const std::vector<Key>& keys, bool held, Clock::time_point until) {
    for (const auto& k : keys) {
      Shard& sh = ShardOf(k);
      std::lock_guard<std::mutex> lock(sh.mu);
      if (!held) {
        sh.ids.erase(k);
        continue;
      }
      sh.ids[k] = Entry{until, {}};
      sh.expiry.emplace_back(until, k);
      while (static_cast<int64_t>(sh.expiry.size()) > per_shard_) {
        auto it = sh.ids.find(sh.expiry.front().second);
        if (it != sh.ids.end() && !it->second.pending.valid()) sh.ids.erase(it);
        sh.expiry.pop_front();
      }
    }
  }
  // An acknowledged id found in the log at recovery.
  void Remember(const Key& key, Clock::time_point until) { Settle({key}, true, until); }

 private:
  struct Entry {
    Clock::time_point until;
    std::shared_future<Status> pending;  // valid while the first write is in flight
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return static_cast<size_t>(k.a ^ (k.b * 0x9e3779b97f4a7c15ull)); }
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<Key, Entry, KeyHash> ids;
    std::deque<std::pair<Clock::time_point, Key>> expiry;
  };
  static constexpr size_t kShards = 64;

  Shard& ShardOf(const Key& k) { return shards_[k.b % kShards]; }
  static void Expire(Shard& sh) {
    const auto now = Clock::now();
    while (!sh.expiry.empty() && sh.expiry.front().first <= now) {
      auto it = sh.ids.find(sh.expiry.front().second);
      if (it != sh.ids.end() && !it->second.pending.valid() && it->second.until <= now) sh.ids.erase(it);
      sh.expiry.pop_front();
    }
  }

  std::array<Shard, kShards> shards_;
  int64_t per_shard_;
};

}  // namespace

// ---- configuration -----------------------------------------------------------------------------

Result<CollectorConfig> ParseCollectorSource(const Project& project, const SourceConfig& source) {
  const ConfigNode& n = source.node;
  // The events connector's own keys are allowed too (and unused), so that one source can switch
  // between a drop folder and the collector by its type alone.
  STRATA_RETURN_IF_ERROR(
      n.CheckKeys({"type", "table", "listen", "id_field", "tokens_file", "max_request_bytes", "buffer_mb",
                   "land_seconds", "land_mb", "dedup_seconds", "dedup_max_ids", "type_field", "time_field",
                   "required_fields", "known_types", "max_record_bytes", "path", "pattern", "settle_seconds"}));
  CollectorConfig c;
  CollectorOptions& o = c.options;
  o.wal_dir = JoinPath(project.state_dir, "collector/" + source.name);
  STRATA_ASSIGN_OR_RETURN(o.table, n.String("table", o.table));
  STRATA_ASSIGN_OR_RETURN(o.id_field, n.String("id_field", o.id_field));
  STRATA_ASSIGN_OR_RETURN(std::string listen, n.String("listen", "127.0.0.1:8686"));
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return n["listen"].Error("expected host:port, e.g. 127.0.0.1:8686");
  o.host = listen.substr(0, colon);
  o.port = std::atoi(listen.c_str() + colon + 1);
  STRATA_ASSIGN_OR_RETURN(o.max_request_bytes, n.Int("max_request_bytes", o.max_request_bytes));
  STRATA_ASSIGN_OR_RETURN(int64_t buffer_mb, n.Int("buffer_mb", o.buffer_bytes >> 20));
  STRATA_ASSIGN_OR_RETURN(int64_t land_mb, n.Int("land_mb", o.land_bytes >> 20));
  STRATA_ASSIGN_OR_RETURN(int64_t land_seconds, n.Int("land_seconds", static_cast<int64_t>(o.land_seconds)));
  STRATA_ASSIGN_OR_RETURN(int64_t dedup_seconds, n.Int("dedup_seconds", static_cast<int64_t>(o.dedup_seconds)));
  STRATA_ASSIGN_OR_RETURN(o.dedup_max_ids, n.Int("dedup_max_ids", o.dedup_max_ids));
  if (o.dedup_max_ids < 1) return n["dedup_max_ids"].Error("expected at least 1");
  if (o.max_request_bytes < 1024) return n["max_request_bytes"].Error("expected at least 1024");
  if (buffer_mb < 1 || land_mb < 1 || land_seconds < 1 || dedup_seconds < 0) {
    return n.Error("buffer_mb, land_mb and land_seconds must be at least 1, dedup_seconds at least 0");
  }
  o.buffer_bytes = buffer_mb << 20;
  o.land_bytes = land_mb << 20;
  o.land_seconds = static_cast<double>(land_seconds);
  o.dedup_seconds = static_cast<double>(dedup_seconds);
  if (n.Has("tokens_file")) {
    STRATA_ASSIGN_OR_RETURN(std::string file, n.RequiredString("tokens_file"));
    STRATA_ASSIGN_OR_RETURN(std::string text, ReadFile(project.Resolve(file)));
    size_t pos = 0;
    int line_no = 0;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size();
      std::string line = Trim(std::string_view(text).substr(pos, end - pos));
      pos = end + 1;
      ++line_no;
      if (line.empty() || line[0] == '#') continue;
      std::string hash = line.substr(0, line.find_first_of(" \t"));
      if (hash.size() != 64 || hash.find_first_not_of("0123456789abcdef") != std::string::npos) {
        return Status::InvalidArgument(file + ":" + std::to_string(line_no) +
                                       ": expected a token's SHA-256 in lower-case hex (64 characters)");
      }
      c.token_hashes.push_back(hash);
    }
  }
  if (const char* env = std::getenv("STRATA_COLLECT_TOKENS")) {
    std::string all = env;
    size_t pos = 0;
    while (pos <= all.size()) {
      size_t end = all.find(',', pos);
      if (end == std::string::npos) end = all.size();
      std::string token = Trim(std::string_view(all).substr(pos, end - pos));
      if (!token.empty()) c.token_hashes.push_back(Sha256::Of(token));
      pos = end + 1;
    }
  }
  if (c.token_hashes.empty()) {
    return Status::InvalidArgument("source '" + source.name +
                                   "': no client tokens (set STRATA_COLLECT_TOKENS, or tokens_file with their "
                                   "SHA-256 hashes): the collector takes no anonymous events");
  }
  return c;
}

// ---- the collector -----------------------------------------------------------------------------

struct Collector::Impl {
  std::string source;
  CollectorOptions o;
  std::vector<std::string> token_hashes;
  internal::EventRules rules;
  lake::Lake* lake = nullptr;

  // The writer: requests queue their records; one thread writes and fsyncs them together.
  struct Pending {
    std::string bytes;
    std::promise<Status> done;
  };
  std::mutex wmu;
  std::condition_variable wcv;
  std::deque<Pending*> queue;
  bool seal_requested = false;
  int64_t seal_generation = 0;  // bumped each time a requested seal is done
  std::condition_variable sealed_cv;
  int fd = -1;
  int64_t segment = 0;        // the current segment's number
  int64_t segment_bytes = 0;  // durable bytes in it
  std::atomic<int64_t> unlanded_bytes{0};
  std::atomic<bool> stopping{false};  // no new requests
  bool writer_exit = false;           // (under wmu) the writer ends once its queue is empty
  std::thread writer, lander;

  // Landing state.
  std::mutex lmu;
  int64_t landed_through = 0;  // the last segment a manifest holds
  // The table's state as the latest manifest left it: its other keys (a drop folder's
  // "consumed", when the source switched from the events connector) are carried over.
  json base_state = json::object();
  std::atomic<bool> lake_failing{false};
  std::string last_land_error;

  std::unique_ptr<IdWindow> seen_window;
  IdWindow& seen_ref() { return *seen_window; }

  // Counters.
  std::atomic<int64_t> n_ok{0}, n_rejected{0}, n_duplicate{0}, n_requests{0}, n_refused{0};

  httplib::Server http;
  int bound_port = 0;
  std::mutex stop_mu;
  bool stopped = false;

  std::string SegmentPath(int64_t n) const { return JoinPath(o.wal_dir, SegmentName(n)); }

  // ---- segments ----

  Status OpenSegment(int64_t n) {
    const std::string path = SegmentPath(n);
    int f = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (f < 0) return Errno("cannot create " + path);
    fd = f;
    segment = n;
    segment_bytes = 0;
    return SyncDir(o.wal_dir);
  }

  void WriterLoop() {
    std::vector<Pending*> batch;
    for (;;) {
      bool seal = false;
      {
        std::unique_lock<std::mutex> lock(wmu);
        wcv.wait(lock, [&] { return !queue.empty() || seal_requested || writer_exit; });
        if (queue.empty() && !seal_requested && writer_exit) return;
        batch.assign(queue.begin(), queue.end());
        queue.clear();
        seal = seal_requested;
      }
      std::string bytes;
      for (Pending* p : batch) bytes += p->bytes;
      Status st = Status::OK();
      if (!bytes.empty()) {
        st = WriteAll(fd, bytes, SegmentPath(segment));
        if (st.ok() && ::fdatasync(fd) != 0) st = Errno("cannot fsync the collector's log " + SegmentPath(segment));
        if (st.ok()) {
          segment_bytes += static_cast<int64_t>(bytes.size());
          unlanded_bytes += static_cast<int64_t>(bytes.size());
        } else {
          // What was written but not synced may be torn: start a new segment, so the next
          // records never follow a torn one (recovery stops a segment at its first bad record).
          ::ftruncate(fd, segment_bytes);
          ::close(fd);
          fd = -1;
          Status reopened = OpenSegment(segment + 1);
          if (!reopened.ok()) st = Status::IOError(st.message() + "; " + reopened.message());
        }
      }
      for (Pending* p : batch) p->done.set_value(st);
      batch.clear();
      if (seal || segment_bytes >= o.land_bytes) {
        if (segment_bytes > 0 && fd >= 0) {
          ::close(fd);
          fd = -1;
          Status opened = OpenSegment(segment + 1);
          (void)opened;  // a failure shows on the next write
        }
        std::lock_guard<std::mutex> lock(wmu);
        if (seal) {
          seal_requested = false;
          ++seal_generation;
          sealed_cv.notify_all();
        }
      }
    }
  }

  // Appends `bytes` durably (group commit); OK once fsync'd.
  Status Append(std::string bytes) {
    Pending p;
    p.bytes = std::move(bytes);
    std::future<Status> f = p.done.get_future();
    {
      std::lock_guard<std::mutex> lock(wmu);
      if (stopping) return Status::Unavailable("the collector is stopping");
      queue.push_back(&p);
    }
    wcv.notify_one();
    return f.get();
  }

  // Seals the current segment if it has records; returns the last sealed segment's number.
  int64_t Seal() {
    std::unique_lock<std::mutex> lock(wmu);
    const int64_t gen = seal_generation;
    seal_requested = true;
    wcv.notify_one();
    sealed_cv.wait(lock, [&] { return seal_generation != gen; });
    return segment - 1;
  }

  // ---- landing ----

  // Lands segments (landed_through, last] as one batch; the manifest records `last`.
  Status LandThrough(int64_t last) {
    std::lock_guard<std::mutex> lock(lmu);
    if (last <= landed_through) return Status::OK();
    std::vector<int64_t> segments;
    int64_t total = 0;
    std::error_code ec;
    for (int64_t n = landed_through + 1; n <= last; ++n) {
      if (!fs::exists(SegmentPath(n), ec)) continue;
      segments.push_back(n);
      total += static_cast<int64_t>(fs::file_size(SegmentPath(n), ec));
    }
    if (total == 0) {
      landed_through = last;  // nothing in them: no batch
      return Status::OK();
    }
    STRATA_ASSIGN_OR_RETURN(auto batch, lake->BeginBatch(source, o.table, Date::TodayUtc().ToString()));
    std::unique_ptr<lake::JsonlZstdWriter> part;
    std::string part_key;
    internal::JsonSchemaBuilder schema;
    simdjson::dom::parser parser;
    int64_t received = 0, landed = 0, bytes = 0;
    auto finish_part = [&]() -> Status {
      if (!part) return Status::OK();
      int64_t rows = part->rows();
      STRATA_ASSIGN_OR_RETURN(lake::ObjectInfo info, part->Finish());
      batch->AddFile({part_key, "jsonl.zst", rows, info.size, info.sha256});
      part.reset();
      return Status::OK();
    };
    for (int64_t n : segments) {
      int64_t valid = 0;
      STRATA_ASSIGN_OR_RETURN(auto records, ReadSegment(SegmentPath(n), &valid));
      bytes += valid;
      int64_t index = 0;
      for (auto& r : records) {
        ++received;
        ++index;
        if (r.kind == kRejected) {
          json q = json::parse(r.payload, nullptr, false);
          json where = {{"segment", n}, {"record", index}};
          if (q.is_object() && q.contains("client")) where["client"] = q["client"];
          batch->Quarantine(where, q.is_object() ? q.value("reason", "rejected") : "rejected",
                            q.is_object() ? q.value("record", "") : r.payload);
          continue;
        }
        // Accepted events were checked when posted; observe their keys for the schema.
        std::string check = internal::CheckEvent(rules, parser, r.payload, false, &schema);
        (void)check;
        if (!part) {
          STRATA_ASSIGN_OR_RETURN(auto writer, batch->NewPart("jsonl.zst", &part_key));
          part = std::make_unique<lake::JsonlZstdWriter>(std::move(writer),
                                                         /*level=*/1);  // cheap: it runs beside live requests
        }
        STRATA_RETURN_IF_ERROR(part->AddLine(r.payload));
        ++landed;
        if (part->uncompressed_bytes() >= (int64_t{64} << 20)) STRATA_RETURN_IF_ERROR(finish_part());
      }
    }
    STRATA_RETURN_IF_ERROR(finish_part());
    lake::Manifest m;
    m.schema = schema.Build();
    m.records_received = received;
    m.records_landed = landed;
    m.state = base_state;
    m.state["collector"] = {{"landed_through", last}};
    m.details = {{"connector", "collector"}, {"segments", segments}};
    json state = m.state;
    STRATA_RETURN_IF_ERROR(batch->Commit(std::move(m)).status());
    base_state = std::move(state);
    landed_through = last;
    unlanded_bytes -= bytes;
    if (unlanded_bytes < 0) unlanded_bytes = 0;
    return Status::OK();
  }

  // Deletes landed segments older than the dedup window (their ids stop counting with them).
  void Retire() {
    std::error_code ec;
    const auto now = fs::file_time_type::clock::now();
    for (const auto& e : fs::directory_iterator(o.wal_dir, ec)) {
      int64_t n = SegmentNumber(e.path().filename().string());
      if (n < 0 || n > landed_through) continue;
      auto age = std::chrono::duration<double>(now - e.last_write_time(ec)).count();
      if (age >= o.dedup_seconds) fs::remove(e.path(), ec);
    }
  }

  Status LandNow() {
    const int64_t last = Seal();
    Status s = LandThrough(last);
    lake_failing = !s.ok();
    if (!s.ok()) {
      std::lock_guard<std::mutex> lock(lmu);
      last_land_error = s.message();
    }
    Retire();
    return s;
  }

  void LanderLoop() {
    // Landing compresses whole segments: at a lower priority than the threads answering
    // clients, so that a landing does not become their tail latency.
    ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);
    auto next = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(o.land_seconds * 1000));
    double backoff = 1;
    while (!stopping) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      const bool due = Clock::now() >= next || unlanded_bytes >= o.land_bytes;
      if (!due) continue;
      Status s = LandNow();
      if (s.ok()) {
        backoff = 1;
        next = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(o.land_seconds * 1000));
      } else {
        std::fprintf(stderr, "strata collect: landing failed (will retry): %s\n", s.message().c_str());
        backoff = std::min(backoff * 2, std::max(5.0, o.land_seconds));
        next = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(backoff * 1000));
      }
    }
  }

  // ---- recovery ----

  Status Recover() {
    STRATA_RETURN_IF_ERROR(MakeDirs(o.wal_dir));
    STRATA_ASSIGN_OR_RETURN(auto latest, lake->Latest(source, o.table));
    if (latest) base_state = latest->state.is_object() ? latest->state : json::object();
    if (base_state.contains("collector")) landed_through = base_state["collector"].value("landed_through", int64_t{0});
    std::vector<int64_t> numbers;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(o.wal_dir, ec)) {
      int64_t n = SegmentNumber(e.path().filename().string());
      if (n >= 0) numbers.push_back(n);
    }
    std::sort(numbers.begin(), numbers.end());
    int64_t pending = 0;
    const auto now = fs::file_time_type::clock::now();
    for (int64_t n : numbers) {
      int64_t valid = 0;
      const std::string path = SegmentPath(n);
      STRATA_ASSIGN_OR_RETURN(auto records, ReadSegment(path, &valid));
      if (valid < static_cast<int64_t>(fs::file_size(path, ec))) {
        // The newest segment may end in a torn record: written but never fsync'd, so never
        // acknowledged; it is cut off. Anywhere else a bad record is damage to acknowledged
        // events: refuse to go on rather than drop them.
        if (n != numbers.back()) {
          return Status::Corruption("the collector's log " + path + " is damaged at byte " + std::to_string(valid) +
                                    " (a record fails its checksum) and holds acknowledged events; move it aside "
                                    "(after saving what can be saved) to start without it");
        }
        if (::truncate(path.c_str(), valid) != 0) return Errno("cannot truncate " + path);
      }
      if (n > landed_through) pending += valid;
      // Ids of acknowledged events still count for dedup, for the rest of their window.
      auto age = std::chrono::duration<double>(now - fs::last_write_time(path, ec)).count();
      auto until =
          Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(std::max(0.0, o.dedup_seconds - age) * 1000));
      simdjson::dom::parser parser;
      for (const auto& r : records) {
        if (r.kind != kAccepted) continue;
        std::string id = IdOf(parser, r.payload);
        if (!id.empty()) seen_ref().Remember(IdWindow::KeyOf(id), until);
      }
    }
    unlanded_bytes = pending;
    STRATA_RETURN_IF_ERROR(
        OpenSegment(numbers.empty() ? std::max<int64_t>(1, landed_through + 1) : numbers.back() + 1));
    // Land what no manifest holds yet (the lake may be down: then later).
    if (!numbers.empty() && numbers.back() > landed_through) {
      Status s = LandThrough(numbers.back());
      if (!s.ok())
        std::fprintf(stderr, "strata collect: landing after recovery failed (will retry): %s\n", s.message().c_str());
    }
    Retire();
    return Status::OK();
  }

  std::string IdOf(simdjson::dom::parser& parser, std::string_view event) const {
    simdjson::dom::element doc;
    if (parser.parse(event.data(), event.size(), true).get(doc)) return "";
    simdjson::dom::element v;
    if (doc.at_key(o.id_field).get(v)) return "";
    std::string_view s;
    if (!v.get_string().get(s)) return std::string(s);
    int64_t i;
    if (!v.get_int64().get(i)) return std::to_string(i);
    return "";
  }

  // ---- requests ----

  bool Authorized(std::string_view header) const {
    constexpr std::string_view kBearer = "Bearer ";
    if (header.substr(0, kBearer.size()) != kBearer) return false;
    const std::string hash = Sha256::Of(header.substr(kBearer.size()));
    bool ok = false;
    for (const auto& h : token_hashes) {
      // Constant time over the hash (it reveals nothing of the token anyway).
      unsigned char diff = 0;
      for (size_t i = 0; i < h.size() && i < hash.size(); ++i) diff |= static_cast<unsigned char>(h[i] ^ hash[i]);
      ok |= diff == 0 && h.size() == hash.size();
    }
    return ok;
  }

  Answer Post(std::string_view authorization, std::string_view content_type, std::string_view body) {
    ++n_requests;
    auto error = [&](int status, const std::string& message, int retry_after = 0) {
      if (status == 503) ++n_refused;
      return Answer{status, json({{"error", message}}).dump(), retry_after};
    };
    if (!Authorized(authorization)) return error(401, "missing or unknown token (Authorization: Bearer <token>)");
    if (static_cast<int64_t>(body.size()) > o.max_request_bytes) {
      return error(413, "the body is over " + std::to_string(o.max_request_bytes) + " bytes");
    }
    if (stopping) return error(503, "the collector is stopping", 1);
    if (unlanded_bytes >= o.buffer_bytes) {
      return error(503,
                   "the collector's buffer is full (" + std::to_string(o.buffer_bytes >> 20) + " MiB not yet landed" +
                       (lake_failing ? ": the lake is failing" : "") + ")",
                   5);
    }
    // The events, as given.
    std::vector<std::string> events;
    std::string_view trimmed = body;
    while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.front()))) trimmed.remove_prefix(1);
    const bool array =
        content_type.find("application/json") != std::string_view::npos || (!trimmed.empty() && trimmed.front() == '[');
    if (array) {
      simdjson::dom::parser parser;
      simdjson::dom::element doc;
      auto err = parser.parse(body.data(), body.size(), true).get(doc);
      if (err) return error(400, std::string("the body is not JSON: ") + simdjson::error_message(err));
      simdjson::dom::array items;
      if (doc.get_array().get(items)) return error(400, "expected a JSON array of events (or NDJSON)");
      for (auto item : items) events.push_back(simdjson::to_string(item));
    } else {
      size_t pos = 0;
      while (pos < body.size()) {
        size_t end = body.find('\n', pos);
        if (end == std::string_view::npos) end = body.size();
        std::string_view line = body.substr(pos, end - pos);
        pos = end + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (Trim(line).empty()) continue;
        events.emplace_back(line);
      }
    }
    // Check each (outside any lock), then claim the ids of the accepted ones.
    simdjson::dom::parser parser;
    std::vector<std::string> reasons(events.size());
    std::vector<IdWindow::Key> keys(events.size());
    std::vector<bool> has_id(events.size(), false);
    std::string id;
    for (size_t i = 0; i < events.size(); ++i) {
      reasons[i] = internal::CheckEvent(rules, parser, events[i], false, nullptr, &o.id_field, &id);
      if (reasons[i].empty() && !id.empty()) {
        keys[i] = IdWindow::KeyOf(id);
        has_id[i] = true;
      }
    }
    // The answer, written as it goes: one result per event.
    std::string results = "[";
    std::string bytes;
    std::vector<IdWindow::Key> claimed;
    std::vector<std::shared_future<Status>> waits;
    std::promise<Status> mine;
    std::shared_future<Status> my_future = mine.get_future().share();
    int64_t ok = 0, rejected = 0, duplicates = 0;
    for (size_t i = 0; i < events.size(); ++i) {
      if (!reasons[i].empty()) {
        AppendRecord(&bytes, kRejected, json({{"reason", reasons[i]}, {"record", events[i]}}).dump());
        results += (i ? "," : "") + json({{"rejected", reasons[i]}}).dump();
        ++rejected;
        continue;
      }
      if (has_id[i]) {
        std::shared_future<Status> earlier;
        if (!seen_ref().Claim(keys[i], my_future, &earlier)) {
          if (earlier.valid()) waits.push_back(earlier);
          results += i ? ",\"duplicate\"" : "\"duplicate\"";
          ++duplicates;
          continue;
        }
        claimed.push_back(keys[i]);
      }
      AppendRecord(&bytes, kAccepted, events[i]);
      results += i ? ",\"ok\"" : "\"ok\"";
      ++ok;
    }
    Status st = bytes.empty() ? Status::OK() : Append(std::move(bytes));
    mine.set_value(st);
    seen_ref().Settle(claimed, st.ok(),
                      Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(o.dedup_seconds * 1000)));
    if (!st.ok()) return error(503, "not kept: " + st.message(), 1);
    // A duplicate of an event still being written is only a duplicate once that write holds.
    for (auto& w : waits) {
      if (!w.get().ok()) return error(503, "an earlier post of some of these events failed; post them again", 1);
    }
    n_ok += ok;
    n_rejected += rejected;
    n_duplicate += duplicates;
    results += "]";
    return Answer{200,
                  "{\"accepted\":" + std::to_string(ok) + ",\"duplicates\":" + std::to_string(duplicates) +
                      ",\"rejected\":" + std::to_string(rejected) + ",\"results\":" + results + "}",
                  0};
  }

  json Health() {
    return {{"ok", !lake_failing.load()},
            {"requests", n_requests.load()},
            {"accepted", n_ok.load()},
            {"rejected", n_rejected.load()},
            {"duplicates", n_duplicate.load()},
            {"refused", n_refused.load()},
            {"unlanded_bytes", unlanded_bytes.load()},
            {"landed_through_segment", landed_through},
            {"lake_failing", lake_failing.load()}};
  }
};

Result<std::unique_ptr<Collector>> Collector::Open(const Project& project, const SourceConfig& source,
                                                   const CollectorConfig& config, lake::Lake* lake) {
  std::unique_ptr<Collector> c(new Collector());
  c->impl_ = std::make_unique<Impl>();
  Impl& i = *c->impl_;
  i.source = source.name;
  i.o = config.options;
  i.token_hashes = config.token_hashes;
  i.lake = lake;
  i.seen_window = std::make_unique<IdWindow>(i.o.dedup_max_ids);
  STRATA_ASSIGN_OR_RETURN(i.rules, internal::ParseEventRules(source.node));
  (void)project;
  return c;
}

Collector::~Collector() {
  if (impl_) Stop();
}

Status Collector::Start() {
  Impl& i = *impl_;
  STRATA_RETURN_IF_ERROR(i.Recover());
  i.writer = std::thread([&i] { i.WriterLoop(); });
  i.lander = std::thread([&i] { i.LanderLoop(); });
  i.http.new_task_queue = [&i] { return new httplib::ThreadPool(static_cast<size_t>(std::max(1, i.o.threads))); };
  i.http.set_payload_max_length(static_cast<size_t>(i.o.max_request_bytes) + 1);
  // Answers are small and written in pieces: without TCP_NODELAY, Nagle's algorithm and the
  // client's delayed ACK hold each one back by tens of milliseconds.
  i.http.set_tcp_nodelay(true);
  i.http.Post("/v1/events", [&i](const httplib::Request& req, httplib::Response& res) {
    Answer a = i.Post(req.get_header_value("Authorization"), req.get_header_value("Content-Type"), req.body);
    res.status = a.status;
    if (a.retry_after > 0) res.set_header("Retry-After", std::to_string(a.retry_after));
    res.set_content(a.body, "application/json");
  });
  // Lands everything acknowledged so far, now (a client that needs its events in the lake
  // before a load: `strata sim post-events` ends with it).
  i.http.Post("/v1/flush", [&i](const httplib::Request& req, httplib::Response& res) {
    if (!i.Authorized(req.get_header_value("Authorization"))) {
      res.status = 401;
      res.set_content(json({{"error", "missing or unknown token"}}).dump(), "application/json");
      return;
    }
    Status s = i.LandNow();
    res.status = s.ok() ? 200 : 503;
    res.set_content(s.ok() ? json({{"ok", true}, {"landed_through_segment", i.landed_through}}).dump()
                           : json({{"error", s.message()}}).dump(),
                    "application/json");
  });
  i.http.Get("/v1/health", [&i](const httplib::Request&, httplib::Response& res) {
    res.set_content(i.Health().dump(), "application/json");
  });
  // httplib listens with a backlog of 5: many clients connecting at once would have their
  // SYNs dropped and wait a second to retry. The listening socket is caught here and given a
  // real backlog once bound (and SO_REUSEADDR rather than httplib's SO_REUSEPORT, which would
  // let a second collector bind the same port).
  int listen_fd = -1;
  i.http.set_socket_options([&listen_fd](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    listen_fd = sock;
  });
  if (i.o.port == 0) {
    i.bound_port = i.http.bind_to_any_port(i.o.host);
  } else {
    i.bound_port = i.http.bind_to_port(i.o.host, i.o.port) ? i.o.port : -1;
  }
  if (i.bound_port <= 0) {
    return Status::Unavailable("cannot listen on " + i.o.host + ":" + std::to_string(i.o.port) +
                               " (in use, or not an address of this machine)");
  }
  if (listen_fd >= 0) ::listen(listen_fd, 1024);
  return Status::OK();
}

int Collector::port() const { return impl_->bound_port; }

Status Collector::Run() {
  impl_->http.listen_after_bind();
  return Status::OK();
}

void Collector::Interrupt() {
  impl_->stopping = true;
  impl_->http.stop();
}

void Collector::Stop() {
  Impl& i = *impl_;
  std::lock_guard<std::mutex> once(i.stop_mu);
  if (i.stopped) return;
  i.stopped = true;
  i.stopping = true;
  i.http.stop();
  if (i.lander.joinable()) i.lander.join();
  // Land everything acknowledged; what cannot land now stays in the log for the next start.
  if (i.writer.joinable()) {
    Status s = i.LandNow();
    if (!s.ok())
      std::fprintf(stderr, "strata collect: landing at stop failed (kept for the next start): %s\n",
                   s.message().c_str());
    {
      std::lock_guard<std::mutex> lock(i.wmu);
      i.writer_exit = true;
    }
    i.wcv.notify_all();
    i.writer.join();
  }
  if (i.fd >= 0) ::close(i.fd);
  i.fd = -1;
}

Collector::Answer Collector::Post(std::string_view authorization, std::string_view content_type,
                                  std::string_view body) {
  return impl_->Post(authorization, content_type, body);
}

Status Collector::LandNow() { return impl_->LandNow(); }

}  // namespace strata::ingest
