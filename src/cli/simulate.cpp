// `fssl simulate`: a simulated inference server writing an archive (simulate.h). Runs on one
// process, or under mpiexec as one tensor-parallel server group over all ranks.
#include <cstdio>
#include <sstream>

#include "cli/options.h"
#include "fssl/comm.h"
#include "fssl/mpi.h"
#include "fssl/simulate.h"

namespace fssl {
namespace {

std::vector<std::int32_t> parse_token_list(const std::string& text) {
  std::vector<std::int32_t> out;
  std::stringstream list(text);
  for (std::string item; std::getline(list, item, ',');) {
    FSSL_CHECK(!item.empty() && item.size() < 10 && item.find_first_not_of("0123456789") == std::string::npos,
               ConfigError, "--stop-tokens: '{}' is not a token id", item);
    out.push_back(static_cast<std::int32_t>(std::stol(item)));
  }
  return out;
}

}  // namespace

int cli_simulate(const std::vector<std::string>& args) {
  CommandSpec spec{"simulate", "",
                   "[mpiexec -n T] fssl simulate --model DIR --out ARCHIVE [--messages N] [--profile SPEC] "
                   "[--temperature T --top-k K --top-p P --min-p M] [--dtype bf16] [--logit-noise SIGMA]"};
  po::options_description o("Options");
  SimulateOptions s;
  std::string stop_tokens;
  o.add_options()
      ("model", po::value<std::string>(&s.model_dir)->required(), "Hugging Face model directory the server runs")
      ("model-name", po::value<std::string>(&s.model_name)->default_value(s.model_name), "logged model name")
      ("out", po::value<std::string>(&s.archive_dir)->required(), "archive directory (created, or appended to)")
      ("key", po::value<std::string>(&s.key_file), "HMAC key file of the logger (fssl archive keygen)")
      ("shard-messages", po::value<std::uint64_t>(&s.shard_messages)->default_value(s.shard_messages), "messages per shard")
      ("messages", po::value<std::uint64_t>(&s.messages)->default_value(s.messages), "messages to serve")
      ("seed", po::value<std::uint64_t>(&s.seed)->default_value(s.seed), "simulation seed (prompts, message seeds, noise)")
      ("fixed-seed", po::value<std::uint64_t>(), "sample every message with this seed (default: a fresh seed each)")
      ("prompts", po::value<std::string>(&s.prompts_file), "JSONL file of {\"prompt\": [token ids]} (default: random)")
      ("prompt-log-mean", po::value<double>(&s.prompt_log_mean)->default_value(s.prompt_log_mean), "random prompts: mean of ln length")
      ("prompt-log-sd", po::value<double>(&s.prompt_log_sd)->default_value(s.prompt_log_sd), "random prompts: sd of ln length")
      ("prompt-max", po::value<std::int64_t>(&s.prompt_max)->default_value(s.prompt_max), "longest prompt")
      ("max-tokens", po::value<std::int64_t>(&s.max_tokens)->default_value(s.max_tokens), "output tokens per message at most")
      ("stop-tokens", po::value<std::string>(&stop_tokens), "comma-separated ids that end a message (emitted)")
      ("profile", po::value<std::string>(&s.profile)->default_value(s.profile), "sampler profile spec (docs/sampler-spec.md)")
      ("temperature", po::value<float>(&s.params.temperature)->default_value(s.params.temperature), "0 = greedy")
      ("top-k", po::value<std::int32_t>(&s.params.top_k)->default_value(s.params.top_k), "0 = off")
      ("top-p", po::value<float>(&s.params.top_p)->default_value(s.params.top_p), "1 = off")
      ("min-p", po::value<float>(&s.params.min_p)->default_value(s.params.min_p), "0 = off")
      ("processors", po::value<std::string>(&s.processors)->default_value(s.processors),
       "none | random: clients' logits processors (penalties, logit bias, min_tokens, bad words, allowed ids) "
       "drawn per message, those the profile's engine has")
      ("batch", po::value<std::int64_t>(&s.batch)->default_value(s.batch), "messages decoded together")
      ("dtype", po::value<std::string>(&s.dtype)->default_value(s.dtype), "server compute dtype: fp32 | bf16")
      ("logit-noise", po::value<double>(&s.logit_noise)->default_value(s.logit_noise), "sigma of injected Gaussian logit noise")
      ("threads", po::value<int>(&s.n_threads)->default_value(s.n_threads), "intra-op threads per rank (0: default)")
      ("servers", po::value<int>(&s.n_servers)->default_value(s.n_servers), "server ids logged round-robin")
      ("adversary", po::value<std::string>(&s.adversary)->default_value(s.adversary),
       "none | random-tokens | topk-stego | admissible-stego (hides a payload; ground truth in ARCHIVE.truth.jsonl)")
      ("adversary-fraction", po::value<double>(&s.adversary_fraction)->default_value(s.adversary_fraction),
       "share of messages the adversary takes")
      ("payload", po::value<std::string>(&s.payload_file), "file whose bits are hidden (default: the model's weights)")
      ("stego-bits", po::value<int>(&s.stego_bits)->default_value(s.stego_bits), "topk-stego: bits per token")
      ("stego-margin", po::value<double>(&s.stego_margin)->default_value(s.stego_margin),
       "admissible-stego: the verifier's margin threshold delta")
      ("bug", po::value<std::string>(&s.bug)->default_value(s.bug),
       "none | buggy-processor | wrong-temperature | wrong-seed | quantized-4bit | quantized-8bit | unlogged-processors")
      ("quantize-group", po::value<std::int64_t>(&s.quantize_group)->default_value(s.quantize_group),
       "quantized-*: inputs per group");
  po::variables_map vm;
  if (!cli_parse(spec, args, o, {}, &vm)) return kExitOk;
  if (vm.count("fixed-seed")) s.fixed_seed = vm["fixed-seed"].as<std::uint64_t>();
  if (!stop_tokens.empty()) s.stop_tokens = parse_token_list(stop_tokens);

  MpiEnvironment env(nullptr, nullptr);
  MpiComm world;
  auto comm = world.world_size() > 1 ? comm_mpi(world) : comm_local();
  const SimulateSummary sum = simulate(s, *comm);
  if (world.rank() == 0) {
    fmt::print("# simulate: {} messages, {} prompt + {} output tokens in {:.1f} s ({:.0f} output tok/s, TP {}) -> {}\n",
               sum.messages, sum.prompt_tokens, sum.output_tokens, sum.seconds,
               static_cast<double>(sum.output_tokens) / std::max(sum.seconds, 1e-9), world.world_size(), s.archive_dir);
    if (s.adversary != "none" || s.bug != "none") {
      fmt::print("# adversary {} on {} messages, {} payload bits hidden; bug {}; ground truth -> {}\n", s.adversary,
                 sum.adversarial_messages, sum.embedded_bits, s.bug, simulate_truth_path(s.archive_dir));
    }
  }
  return kExitOk;
}

}  // namespace fssl
