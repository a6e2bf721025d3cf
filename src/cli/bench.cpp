// `fssl bench archive`, `fssl bench prefill` (CPU or one GPU), `fssl bench score`: options -> bench.h.
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "cli/options.h"
#include "fssl/bench.h"
#include "fssl/error.h"

namespace fssl {
namespace {

// "1,2,4" -> {1, 2, 4}; ConfigError naming the option otherwise.
std::vector<std::uint64_t> parse_positive_list(const std::string& text, const char* option) {
  std::vector<std::uint64_t> out;
  std::stringstream list(text);
  for (std::string item; std::getline(list, item, ',');) {
    FSSL_CHECK(!item.empty() && item.size() < 12 && item.find_first_not_of("0123456789") == std::string::npos &&
                   std::stoull(item) > 0, ConfigError, "{}: '{}' is not a positive integer", option, item);
    out.push_back(std::stoull(item));
  }
  FSSL_CHECK(!out.empty(), ConfigError, "{}: empty list", option);
  return out;
}

}  // namespace

int cli_bench_archive(const std::vector<std::string>& args) {
  CommandSpec spec{"bench archive", "", "fssl bench archive [--messages N] [--vocab-size V] [--chunks 4096,8192,...]"};
  po::options_description o("Options");
  ArchiveBenchOptions b;
  std::string chunks = "4096,8192,16384,65536";
  o.add_options()
      ("scratch-dir", po::value<std::string>(), "where the test archives go (default: a new directory in $TMPDIR or /tmp)")
      ("messages", po::value<std::uint64_t>(&b.n_messages)->default_value(b.n_messages), "messages per test archive")
      ("vocab-size", po::value<std::uint32_t>(&b.vocab_size)->default_value(b.vocab_size), "token ids are uniform below this")
      ("chunks", po::value<std::string>(&chunks)->default_value(chunks), "comma-separated /tokens chunk sizes (elements)")
      ("reads", po::value<std::uint64_t>(&b.n_reads)->default_value(b.n_reads), "random messages read per layout")
      ("batch", po::value<std::uint64_t>(&b.batch_size)->default_value(b.batch_size), "messages per batched read")
      ("manifest-shards", po::value<std::uint64_t>(&b.manifest_shards)->default_value(b.manifest_shards),
       "shards in the 10^9-message manifest planning check")
      ("seed", po::value<std::uint64_t>(&b.seed)->default_value(b.seed), "seed of the synthetic traffic");
  po::variables_map vm;
  if (!cli_parse(spec, args, o, {}, &vm)) return kExitOk;
  b.tokens_chunks = parse_positive_list(chunks, "--chunks");
  FSSL_CHECK(b.n_messages > 0 && b.n_reads > 0 && b.batch_size > 0 && b.manifest_shards > 0, ConfigError,
             "--messages, --reads, --batch and --manifest-shards must be > 0");
  const bool own_dir = vm.count("scratch-dir") == 0;
  if (own_dir) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp ? tmp : "/tmp") + "/fssl-bench-XXXXXX";
    FSSL_CHECK(::mkdtemp(pattern.data()) != nullptr, ConfigError, "cannot create a scratch directory in {}",
               tmp ? tmp : "/tmp");
    b.scratch_dir = pattern;
  } else {
    b.scratch_dir = vm["scratch-dir"].as<std::string>();
    std::filesystem::create_directories(b.scratch_dir);
  }
  bench_archive(b);
  if (own_dir) std::filesystem::remove_all(b.scratch_dir);
  return kExitOk;
}

int cli_bench_prefill(const std::vector<std::string>& args) {
  CommandSpec spec{"bench prefill", "",
                   "fssl bench prefill (--model DIR | --shape tiny|llama-8b|...) [--device cpu|cuda[:N]] [--dtype bf16] "
                   "[--threads 1,2] [--sequences N --length L]"};
  po::options_description o("Options");
  PrefillBenchOptions b;
  std::string threads = "1,2";
  o.add_options()
      ("model", po::value<std::string>(&b.model_dir), "Hugging Face model directory")
      ("shape", po::value<std::string>(&b.shape),
       "instead of --model: random weights of a named shape (tiny, small, medium, llama-1b, llama-8b)")
      ("device", po::value<std::string>(&b.device)->default_value(b.device),
       "cpu, cuda (this rank's local GPU) or cuda:N")
      ("threads", po::value<std::string>(&threads)->default_value(threads),
       "comma-separated intra-op thread counts (CPU)")
      ("sequences", po::value<std::int64_t>(&b.n_sequences),
       "sequences in the packed batch (default: 8 on CPU, 4 on CUDA)")
      ("length", po::value<std::int64_t>(&b.sequence_length),
       "maximum tokens per sequence, lengths vary over [32, length] like real messages "
       "(default: 512 on CPU; on CUDA 2048, all equal)")
      ("fixed-length", po::bool_switch(&b.fixed_length), "every sequence exactly --length tokens")
      ("repeats", po::value<int>(&b.repeats)->default_value(b.repeats), "timed passes (best reported) after a warm-up")
      ("dtype", po::value<std::string>(&b.dtype)->default_value(b.dtype), "compute dtype: f32 | bf16 | f16 (CUDA)")
      ("seed", po::value<std::uint64_t>(&b.seed)->default_value(b.seed), "seed of the --shape weights")
      ("json", po::bool_switch(&b.json), "one JSON line per measurement");
  po::variables_map vm;
  if (!cli_parse(spec, args, o, {"model"}, &vm)) return kExitOk;
  FSSL_CHECK(b.model_dir.empty() != b.shape.empty(), ConfigError, "bench prefill: give --model DIR or --shape NAME");
  b.threads.clear();
  for (std::uint64_t n : parse_positive_list(threads, "--threads")) b.threads.push_back(static_cast<int>(n));
  FSSL_CHECK(vm.count("sequences") == 0 || b.n_sequences > 0, ConfigError, "--sequences must be > 0");
  FSSL_CHECK(vm.count("length") == 0 || b.sequence_length > 0, ConfigError, "--length must be > 0");
  FSSL_CHECK(b.repeats > 0, ConfigError, "--repeats must be > 0");
  FSSL_CHECK(b.dtype == "f32" || b.dtype == "bf16" || b.dtype == "f16", ConfigError, "--dtype {}: f32, bf16 or f16",
             b.dtype);
  bench_prefill(b);
  return kExitOk;
}

int cli_bench_score(const std::vector<std::string>& args) {
  CommandSpec spec{"bench score", "", "fssl bench score [--vocab 32000,128256] [--threads 1,2] [--tokens 512]"};
  po::options_description o("Options");
  ScoreBenchOptions b;
  std::string vocab = "32000,128256", threads = "1,2";
  o.add_options()
      ("vocab", po::value<std::string>(&vocab)->default_value(vocab), "comma-separated vocabulary sizes")
      ("threads", po::value<std::string>(&threads)->default_value(threads), "comma-separated intra-op thread counts")
      ("tokens", po::value<std::int64_t>(&b.n_tokens)->default_value(b.n_tokens), "tokens scored by fssl per configuration")
      ("rows-per-call", po::value<std::int64_t>(&b.rows_per_call)->default_value(b.rows_per_call), "rows per scoring call")
      ("naive-tokens", po::value<std::int64_t>(&b.naive_tokens)->default_value(b.naive_tokens), "tokens scored by the per-token loop")
      ("top-k", po::value<std::int32_t>(&b.top_k)->default_value(b.top_k), "top-k of the scored sampler")
      ("top-p", po::value<float>(&b.top_p)->default_value(b.top_p), "top-p of the scored sampler")
      ("json", po::bool_switch(&b.json), "one JSON line per configuration");
  po::variables_map vm;
  if (!cli_parse(spec, args, o, {}, &vm)) return kExitOk;
  b.vocab_sizes.clear();
  for (std::uint64_t v : parse_positive_list(vocab, "--vocab")) b.vocab_sizes.push_back(static_cast<std::int64_t>(v));
  b.threads.clear();
  for (std::uint64_t n : parse_positive_list(threads, "--threads")) b.threads.push_back(static_cast<int>(n));
  FSSL_CHECK(b.n_tokens > 0 && b.rows_per_call > 0 && b.naive_tokens > 0, ConfigError,
             "--tokens, --rows-per-call and --naive-tokens must be > 0");
  bench_score(b);
  return kExitOk;
}

}  // namespace fssl
