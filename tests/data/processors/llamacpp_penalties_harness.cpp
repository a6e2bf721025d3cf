// llama.cpp's own logit-bias and penalties samplers (libllama, linked) on rows read from stdin: the
// llama.cpp side of processors_golden.txt (gen_processors_golden.py runs it; see README.md).
//
// stdin, one case per line (numbers in decimal, floats as float32 bit patterns in hex):
//   V last_n repeat freq present n_bias (id bias)... n_tokens token... n_rows (row of V floats)...
// where the tokens are prompt + output and row j is the row after n_tokens - n_rows + j of them.
// stdout: each processed row, V hex floats per line, in token-id order.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <vector>

#include "llama.h"

static float from_bits(std::uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }
static std::uint32_t to_bits(float f) { std::uint32_t u; std::memcpy(&u, &f, 4); return u; }

int main() {
  int V;
  while (std::cin >> V) {
    int last_n, n_bias, n_tokens, n_rows;
    std::uint32_t rep, freq, pres;
    std::cin >> last_n >> std::hex >> rep >> freq >> pres >> std::dec >> n_bias;
    std::vector<llama_logit_bias> bias(n_bias);
    for (auto& b : bias) {
      std::uint32_t v;
      std::cin >> b.token >> std::hex >> v >> std::dec;
      b.bias = from_bits(v);
    }
    std::cin >> n_tokens;
    std::vector<llama_token> tokens(n_tokens);
    for (auto& t : tokens) std::cin >> t;
    std::cin >> n_rows;
    // The server's chain: logit_bias first (common_sampler_init), then penalties.
    llama_sampler* chain = llama_sampler_chain_init(llama_sampler_chain_default_params());
    if (n_bias > 0) llama_sampler_chain_add(chain, llama_sampler_init_logit_bias(V, n_bias, bias.data()));
    llama_sampler_chain_add(chain, llama_sampler_init_penalties(V, last_n, from_bits(rep), from_bits(freq), from_bits(pres)));
    const int before = n_tokens - n_rows;
    for (int k = 0; k < before; ++k) llama_sampler_accept(chain, tokens[k]);
    std::vector<llama_token_data> data(V);
    for (int j = 0; j < n_rows; ++j) {
      for (int i = 0; i < V; ++i) {
        std::uint32_t v;
        std::cin >> std::hex >> v >> std::dec;
        data[i] = {i, from_bits(v), 0.0f};
      }
      llama_token_data_array arr{data.data(), static_cast<size_t>(V), -1, false};
      llama_sampler_apply(chain, &arr);
      for (int i = 0; i < V; ++i) std::printf("%08x%c", to_bits(arr.data[i].logit), i + 1 < V ? ' ' : '\n');
      llama_sampler_accept(chain, tokens[before + j]);
    }
    llama_sampler_free(chain);
  }
  return 0;
}
