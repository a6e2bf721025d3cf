// Independent reference for the llamacpp-dist stream: the draws llama.cpp's dist sampler makes
// (src/llama-sampler.cpp, llama_sampler_dist_apply: a std::mt19937 seeded with the effective seed,
// one std::uniform_real_distribution<double>(0.0f, 1.0f) constructed and drawn per sampling step),
// printed exactly (%a) for tests/noise_test.cpp. Built with the system's standard library:
//   g++ -std=c++17 -O2 llamacpp_dist_reference.cpp -o ref && ./ref > llamacpp_dist_golden.txt
#include <cstdint>
#include <cstdio>
#include <random>

int main() {
  // 0xFFFFFFFE: the largest seed that is not LLAMA_DEFAULT_SEED (0xFFFFFFFF means "pick a random seed").
  const std::uint32_t seeds[] = {0u, 1u, 42u, 1234u, 5489u, 0xFFFFFFFEu};
  // Draws 0-7, then 310-313 (the engine's 624-word state is regenerated inside draw 311), then 1000.
  const int picks[] = {0, 1, 2, 3, 4, 5, 6, 7, 310, 311, 312, 313, 1000};
  std::printf("# llama.cpp dist draws: seed draw_index value(%%a) value(%%.17g); %s\n",
#if defined(__GLIBCXX__)
              "libstdc++"
#elif defined(_LIBCPP_VERSION)
              "libc++"
#else
              "other standard library"
#endif
  );
  for (const std::uint32_t seed : seeds) {
    std::mt19937 rng(seed);
    int next_pick = 0;
    for (int draw = 0; draw <= 1000; ++draw) {
      std::uniform_real_distribution<double> dist(0.0f, 1.0f);
      const double rnd = dist(rng);
      if (draw == picks[next_pick]) {
        std::printf("%u %d %a %.17g\n", seed, draw, rnd, rnd);
        ++next_pick;
      }
    }
  }
  return 0;
}
