// Exhaustive search for the fssl-philox hard cases (docs/sampler-spec.md, "fssl-philox"): the inputs
// whose exact -ln(u) (E, over all 2^32 words x) or -ln(E) (G, over every float32 E that occurs) lies
// within 2^-50 (relative) of a float32 rounding boundary. Outside this list a double-precision log with
// relative error below 2^-51, rounded once to float32, gives the correctly rounded value.
//   g++ -std=c++17 -O2 -pthread fssl_philox_hard_cases.cpp -lquadmath -o hard && ./hard > hard_cases.txt
// Candidates are found with glibc's log (relative error < 2^-52) and confirmed with libquadmath's
// 113-bit logq; stderr gets the counts and the smallest confirmed distance (must be >> 2^-100).
#include <quadmath.h>

#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

namespace {

constexpr double kCandidate = 0x1p-47;  // wide net on the double result
constexpr double kHard = 0x1p-50;       // the published criterion, on the exact value

std::uint32_t float_bits(float f) {
  std::uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

// Relative distance from v to the nearest float32 rounding boundary (midpoint of two neighbours)
// around RN32(v); both midpoints are exact doubles.
double boundary_distance(double v) {
  const float f = static_cast<float>(v);
  const double m_lo = (static_cast<double>(f) + static_cast<double>(std::nextafter(f, -INFINITY))) / 2;
  const double m_hi = (static_cast<double>(f) + static_cast<double>(std::nextafter(f, INFINITY))) / 2;
  return std::fmin(std::fabs(v - m_lo), std::fabs(v - m_hi)) / std::fabs(v);
}

__float128 quad_boundary_distance(__float128 t) {
  const float f = static_cast<float>(t);
  const __float128 m_lo = (static_cast<__float128>(f) + static_cast<__float128>(std::nextafter(f, -INFINITY))) / 2;
  const __float128 m_hi = (static_cast<__float128>(f) + static_cast<__float128>(std::nextafter(f, INFINITY))) / 2;
  return fminq(fabsq(t - m_lo), fabsq(t - m_hi)) / fabsq(t);
}

struct Hard {
  char kind;           // 'E' (key: word x) or 'G' (key: float32 bits of E)
  std::uint32_t key;
  std::uint32_t bits;  // float32 bits of the correctly rounded value
  double distance;     // relative distance of the exact value to the boundary
  bool double_wrong;   // RN32(glibc double) differs from the correct value
};

struct Result {
  std::vector<Hard> hard;
  std::uint64_t candidates = 0;
  std::uint64_t g_evaluated = 0;
};

void search(std::uint64_t begin, std::uint64_t end, Result* out) {
  std::uint32_t prev_e = 0xffffffffu;
  for (std::uint64_t x = begin; x < end; ++x) {
    const double u = (static_cast<double>(x) + 0.5) * 0x1p-32;
    const double d = -std::log(u);
    float e = static_cast<float>(d);
    if (boundary_distance(d) < kCandidate) {
      ++out->candidates;
      const __float128 t = -logq((static_cast<__float128>(x) + static_cast<__float128>(0.5)) * static_cast<__float128>(0x1p-32));
      const float exact = static_cast<float>(t);
      const double dist = static_cast<double>(quad_boundary_distance(t));
      if (dist < kHard) {
        out->hard.push_back({'E', static_cast<std::uint32_t>(x), float_bits(exact), dist, exact != e});
      }
      e = exact;
    }
    const std::uint32_t eb = float_bits(e);
    if (eb == prev_e) continue;  // G depends on E only
    prev_e = eb;
    ++out->g_evaluated;
    const double g = -std::log(static_cast<double>(e));
    if (g == 0.0) continue;  // E == 1 exactly: G = 0 exactly
    if (boundary_distance(g) < kCandidate) {
      ++out->candidates;
      const __float128 t = -logq(static_cast<__float128>(e));
      const float exact = static_cast<float>(t);
      const double dist = static_cast<double>(quad_boundary_distance(t));
      if (dist < kHard) out->hard.push_back({'G', eb, float_bits(exact), dist, exact != static_cast<float>(g)});
    }
  }
}

}  // namespace

int main() {
  const unsigned n_threads = std::max(1u, std::thread::hardware_concurrency());
  const std::uint64_t total = std::uint64_t{1} << 32;
  std::vector<Result> results(n_threads);
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < n_threads; ++t) {
    threads.emplace_back(search, total * t / n_threads, total * (t + 1) / n_threads, &results[t]);
  }
  for (auto& t : threads) t.join();
  std::vector<Hard> all;
  std::uint64_t candidates = 0, g_evaluated = 0;
  for (const auto& r : results) {
    all.insert(all.end(), r.hard.begin(), r.hard.end());
    candidates += r.candidates;
    g_evaluated += r.g_evaluated;
  }
  double min_dist = 1;
  int n_e = 0, n_g = 0, n_wrong = 0;
  std::uint32_t last_g = 0xffffffffu;
  std::printf("# kind key result_bits rel_distance glibc_double_rounds_wrong\n");
  for (const auto& h : all) {
    if (h.kind == 'G' && h.key == last_g) continue;  // an E at a thread boundary is seen twice
    if (h.kind == 'G') last_g = h.key;
    std::printf("%c 0x%08" PRIx32 " 0x%08" PRIx32 " %.3e %d\n", h.kind, h.key, h.bits, h.distance,
                h.double_wrong ? 1 : 0);
    min_dist = std::fmin(min_dist, h.distance);
    (h.kind == 'E' ? n_e : n_g)++;
    n_wrong += h.double_wrong;
  }
  std::fprintf(stderr, "E hard: %d, G hard: %d, glibc-double rounding wrong: %d, candidates: %" PRIu64
               ", distinct E: %" PRIu64 ", smallest distance: %.3e (%.1f bits)\n",
               n_e, n_g, n_wrong, candidates, g_evaluated, min_dist, std::log2(min_dist));
  return 0;
}
