// Deterministic pseudo-random numbers for the simulator.
//
// Every random decision the simulator makes comes from an Rng derived from (seed, stream, key):
// the same inputs give the same sequence on every platform and every run, independent of how
// many days were simulated in one process. Not for cryptography.
#pragma once

#include <cmath>
#include <cstdint>

namespace strata::sim {

// The splitmix64 finalizer: a bijection on 64-bit integers with good avalanche.
// Distinct inputs give distinct outputs, which makes it usable for unique identifiers.
inline uint64_t Mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// Hashes (seed, a, b) into one 64-bit value; used to derive independent streams.
inline uint64_t DeriveSeed(uint64_t seed, uint64_t a, uint64_t b = 0) {
  uint64_t h = Mix64(seed ^ 0x6a09e667f3bcc908ULL);
  h = Mix64(h ^ (a + 0x9e3779b97f4a7c15ULL));
  h = Mix64(h ^ (b + 0x3c6ef372fe94f82bULL));
  return h;
}

// xoshiro256** seeded through splitmix64.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (uint64_t& s : s_) {
      seed += 0x9e3779b97f4a7c15ULL;
      s = Mix64(seed);
    }
  }
  // The stream for (seed, a, b), e.g. (seed, kStreamOrders, day index).
  static Rng For(uint64_t seed, uint64_t a, uint64_t b = 0) { return Rng(DeriveSeed(seed, a, b)); }

  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1), 53 bits.
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

  // Uniform in [0, n); 0 when n == 0. (Multiply-shift: bias below 2^-64 * n, irrelevant here.)
  uint64_t Below(uint64_t n) { return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >> 64); }

  // Uniform in [lo, hi] (inclusive); lo when hi < lo.
  int64_t Range(int64_t lo, int64_t hi) {
    if (hi <= lo) return lo;
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo) + 1));
  }

  bool Chance(double p) { return Uniform() < p; }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace strata::sim
