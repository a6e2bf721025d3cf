// Subcommand dispatch and the --config / command-line merge (cli.h, cli/options.h).
#include "fssl/cli.h"

#include <cstdio>
#include <fstream>
#include <iostream>

#include "cli/options.h"
#include "fssl/error.h"
#include "fssl/version.h"

namespace fssl {
namespace {

struct Command {
  CommandSpec spec;
  int (*run)(const std::vector<std::string>&);
};

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {{"archive import", "import JSONL logs into a sharded, hash-chained archive", ""}, cli_archive_import},
      {{"archive inspect", "summarise an archive from its manifest", ""}, cli_archive_inspect},
      {{"archive validate", "check every invariant, the hash chain and the HMACs", ""}, cli_archive_validate},
      {{"archive export", "write every record as JSONL (importable)", ""}, cli_archive_export},
      {{"archive keygen", "create a random HMAC key file for a logger", ""}, cli_archive_keygen},
      {{"model init", "write a deterministic random Llama/Qwen2/Qwen3 model (HF layout)", ""}, cli_model_init},
      {{"model inspect", "architecture, parameters, dtypes and fingerprint of a model directory", ""}, cli_model_inspect},
      {{"audit", "the audit job: sample, replay and score logged messages across MPI worker groups", ""}, cli_audit},
      {{"plan", "capacity planning: sampling fraction, verifier GPUs, detection confidence, exfiltration timeline", ""}, cli_plan},
      {{"calibrate", "FPR vs extractable-information frontier on honest traffic; writes the operating point", ""},
       cli_calibrate},
      {{"merge", "combine the parts of an audit split over array tasks (--part I/N) into one audit", ""}, cli_merge},
      {{"simulate", "a simulated inference server (honest or adversarial) writing an archive", ""}, cli_simulate},
      {{"bench prefill", "prefill throughput, GFLOP/s and MFU against a measured matmul peak", ""}, cli_bench_prefill},
      {{"bench score", "scored tokens/s, batched vs a per-token loop like the paper's code", ""}, cli_bench_score},
      {{"bench archive", "archive layout: bytes per token, random-read time, manifest scale", ""}, cli_bench_archive},
  };
  return table;
}

void print_top_help() {
  fmt::print("fssl {}: fixed-seed sampling verification of LLM inference logs\n\nusage: fssl <command> [options]\n\n",
             kVersionString);
  for (const Command& c : commands()) fmt::print("  fssl {:<20} {}\n", c.spec.name, c.spec.summary);
  fmt::print(
      "\nEvery command takes --help and --config FILE.ini (the command line wins over the file; calibrate and\n"
      "merge also read the file's [audit] section, their own section winning over it).\n");
}

// Stores config-file values in precedence order: keys of the command's own [section], then of
// the section it shares (spec.shared_section), then flat keys. One po::store per group:
// Program_options keeps the first stored value, so an earlier group wins over a later one (and
// the command line, stored before the file, over all of them).
void store_config_file(const std::string& path, const std::string& section, const std::string& shared_section,
                       po::options_description& options, po::variables_map* vm) {
  std::ifstream in(path);
  FSSL_CHECK(in.good(), ConfigError, "--config {}: cannot open", path);
  po::options_description any;
  po::parsed_options raw = [&] {
    try {
      return po::parse_config_file(in, any, /*allow_unregistered=*/true);
    } catch (const po::error& e) {
      FSSL_THROW(ConfigError, "--config {}: {}", path, e.what());
    }
  }();
  // "" is the flat keys' group.
  std::vector<std::string> groups = {section};
  if (!shared_section.empty() && shared_section != section) groups.push_back(shared_section);
  groups.push_back("");
  for (const std::string& group : groups) {
    po::parsed_options mine(&options);
    const std::string prefix = group + ".";
    for (const po::option& opt : raw.options) {
      std::string key = opt.string_key;
      const bool dotted = key.find('.') != std::string::npos;
      if (group.empty() ? dotted : key.rfind(prefix, 0) != 0) continue;  // another group's key
      if (!group.empty()) key = key.substr(prefix.size());
      if (options.find_nothrow(key, false) == nullptr) {
        // Only the command's own section must be all its options; a shared section's or a flat
        // key may be meant for another command.
        FSSL_CHECK(group != section, ConfigError, "--config {}: unknown option '{}' in [{}]", path, key, section);
        continue;
      }
      mine.options.push_back(po::option(key, opt.value));
    }
    try {
      po::store(mine, *vm);
    } catch (const po::error& e) {
      FSSL_THROW(ConfigError, "--config {}: {}", path, e.what());
    }
  }
}

}  // namespace

std::string cli_section_name(const std::string& command) {
  std::string s = command;
  for (char& c : s) if (c == ' ') c = '-';
  return s;
}

bool cli_parse(const CommandSpec& spec, const std::vector<std::string>& args, po::options_description& options,
               const std::vector<std::string>& positional, po::variables_map* vm) {
  options.add_options()("config", po::value<std::string>(), "INI file with option values (command line wins)")(
      "help,h", "show this help");
  po::positional_options_description pos;
  for (const std::string& name : positional) {
    const bool many = !name.empty() && name.back() == '*';  // "runs*": every remaining argument
    pos.add((many ? name.substr(0, name.size() - 1) : name).c_str(), many ? -1 : 1);
  }
  try {
    po::store(po::command_line_parser(args).options(options).positional(pos).run(), *vm);
  } catch (const po::error& e) {
    FSSL_THROW(ConfigError, "fssl {}: {} (see --help)", spec.name, e.what());
  }
  if (vm->count("help") > 0) {
    std::cout << "usage: " << spec.usage << "\n\n" << options << "\n";
    return false;
  }
  // Program_options keeps the first stored value: the command line, stored above, wins.
  if (vm->count("config") > 0) {
    store_config_file((*vm)["config"].as<std::string>(), cli_section_name(spec.name), spec.shared_section, options,
                      vm);
  }
  try {
    po::notify(*vm);
  } catch (const po::error& e) {
    FSSL_THROW(ConfigError, "fssl {}: {} (see --help)", spec.name, e.what());
  }
  return true;
}

int cli_run(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_top_help();
    return args.empty() ? kExitInput : kExitOk;
  }
  if (args[0] == "--version") {
    fmt::print("fssl {}\n", kVersionString);
    return kExitOk;
  }
  // Longest match: "archive import" before "archive".
  for (const Command& c : commands()) {
    const std::string& name = c.spec.name;
    const std::size_t space = name.find(' ');
    const bool two_words = space != std::string::npos;
    if (two_words ? (args.size() >= 2 && args[0] == name.substr(0, space) && args[1] == name.substr(space + 1))
                  : args[0] == name) {
      return c.run(std::vector<std::string>(args.begin() + (two_words ? 2 : 1), args.end()));
    }
  }
  print_top_help();
  FSSL_THROW(ConfigError, "unknown command '{}'", args.size() >= 2 ? args[0] + " " + args[1] : args[0]);
}

}  // namespace fssl
