// `fssl archive import|inspect|validate|export|keygen`.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/options.h"
#include "fssl/archive.h"
#include "fssl/archive_import.h"
#include "fssl/archive_tools.h"
#include "fssl/log.h"

namespace fssl {
namespace {

std::optional<std::vector<std::uint8_t>> key_option(const po::variables_map& vm) {
  if (vm.count("key") == 0) return std::nullopt;
  return key_file_read(vm["key"].as<std::string>());
}

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int cli_archive_import(const std::vector<std::string>& args) {
  CommandSpec spec{"archive import", "", "fssl archive import --input FILE.jsonl --out DIR --vocab-size V [options]"};
  po::options_description o("Options");
  ImportDefaults d;
  o.add_options()
      ("input", po::value<std::string>()->default_value("-"), "JSONL input file, '-' for standard input")
      ("format", po::value<std::string>()->default_value("jsonl"), "input format: jsonl (fssl or token-difr layout, per line)")
      ("out", po::value<std::string>()->required(), "archive directory (created, or appended to)")
      ("vocab-size", po::value<std::uint32_t>(&d.vocab_size)->required(), "logits width V of the model(s); token ids must be < V")
      ("model-fingerprint", po::value<std::string>(&d.model_fingerprint)->default_value(""), "hex model fingerprint for every model in the input")
      ("tokenizer", po::value<std::string>(&d.tokenizer)->default_value(""), "tokenizer identity for every model in the input")
      ("model", po::value<std::string>(&d.model)->default_value("unknown"), "model name for lines without 'model'")
      ("server", po::value<std::string>(&d.server)->default_value("unknown"), "server id for lines without 'server'")
      ("seed", po::value<std::uint64_t>(), "seed for token-difr lines without 'seed' (output j gets seed + j)")
      ("sampler-profile", po::value<std::string>(&d.sampler.profile)->default_value("fssl-philox"), "sampler profile spec for lines without one")
      ("temperature", po::value<float>(&d.sampler.temperature)->default_value(1.0f), "default temperature")
      ("top-k", po::value<std::int32_t>(&d.sampler.top_k)->default_value(0), "default top-k (0 = disabled)")
      ("top-p", po::value<float>(&d.sampler.top_p)->default_value(1.0f), "default top-p (1 = disabled)")
      ("min-p", po::value<float>(&d.sampler.min_p)->default_value(0.0f), "default min-p (0 = disabled)")
      ("shard-messages", po::value<std::uint64_t>()->default_value(100000), "messages per shard")
      ("key", po::value<std::string>(), "HMAC key file (fssl archive keygen); authenticates shards and manifest")
      ("strict", po::bool_switch(), "exit 2 if any line was skipped (good lines are still imported)");
  po::variables_map vm;
  if (!cli_parse(spec, args, o, {"input"}, &vm)) return kExitOk;
  FSSL_CHECK(vm["format"].as<std::string>() == "jsonl", ConfigError, "--format {}: only 'jsonl' is supported",
             vm["format"].as<std::string>());
  FSSL_CHECK(d.vocab_size > 0, ConfigError, "--vocab-size must be > 0");
  Digest32 unused{};
  FSSL_CHECK(d.model_fingerprint.empty() || hex_decode_digest(d.model_fingerprint, &unused), ConfigError,
             "--model-fingerprint '{}': expected 64 hex digits (fssl model inspect prints it) or nothing",
             d.model_fingerprint);
  if (vm.count("seed") > 0) d.seed = vm["seed"].as<std::uint64_t>();
  d.timestamp_us = now_us();
  WriterOptions w;
  w.shard_messages = vm["shard-messages"].as<std::uint64_t>();
  w.key = key_option(vm);
  const std::string input = vm["input"].as<std::string>();
  const std::string out_dir = vm["out"].as<std::string>();
  std::ifstream file;
  if (input != "-") {
    file.open(input);
    FSSL_CHECK(file.good(), ConfigError, "--input {}: cannot open", input);
  }
  ArchiveWriter writer = ArchiveWriter::open(out_dir, w);
  const auto start = std::chrono::steady_clock::now();
  ImportStats stats = archive_import_jsonl(input == "-" ? std::cin : file, input == "-" ? "<stdin>" : input, writer, d);
  writer.close();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (const std::string& p : stats.problems) fmt::print("SKIPPED: {}\n", p);
  if (stats.n_bad_lines > stats.problems.size()) {
    fmt::print("SKIPPED: ... {} more bad lines not listed\n", stats.n_bad_lines - stats.problems.size());
  }
  fmt::print("# input            : {} ({} lines)\n", input, stats.n_lines);
  fmt::print("# imported         : {} messages in {:.2f} s\n", stats.n_messages, seconds);
  fmt::print("# skipped lines    : {}\n", stats.n_bad_lines);
  for (const auto& [reason, n] : stats.bad_by_reason) {
    fmt::print("#   {:<16} : {}\n", reason, n);
  }
  const Manifest& m = writer.manifest();
  fmt::print("# archive          : {} ({} shards, {} messages)\n", out_dir, m.shards.size(), m.n_messages());
  return stats.n_bad_lines > 0 && vm["strict"].as<bool>() ? kExitInput : kExitOk;
}

int cli_archive_inspect(const std::vector<std::string>& args) {
  CommandSpec spec{"archive inspect", "", "fssl archive inspect [--archive] DIR [--json]"};
  po::options_description o("Options");
  o.add_options()("archive", po::value<std::string>()->required(), "archive directory")(
      "json", po::bool_switch(), "print JSON instead of the text summary");
  po::variables_map vm;
  if (!cli_parse(spec, args, o, {"archive"}, &vm)) return kExitOk;
  const std::string dir = vm["archive"].as<std::string>();
  const Manifest m = Manifest::read(dir);
  std::cout << (vm["json"].as<bool>() ? archive_summary_json(m, dir) : archive_summary_text(m, dir));
  return kExitOk;
}

int cli_archive_validate(const std::vector<std::string>& args) {
  CommandSpec spec{"archive validate", "", "fssl archive validate [--archive] DIR [--key FILE] [--json]"};
  po::options_description o("Options");
  o.add_options()("archive", po::value<std::string>()->required(), "archive directory")(
      "key", po::value<std::string>(), "HMAC key file: also verify shard and manifest HMACs")(
      "json", po::bool_switch(), "print the report as JSON");
  po::variables_map vm;
  if (!cli_parse(spec, args, o, {"archive"}, &vm)) return kExitOk;
  const std::string dir = vm["archive"].as<std::string>();
  FSSL_CHECK(std::filesystem::is_directory(dir), ConfigError, "{}: no such archive directory", dir);
  const auto key = key_option(vm);
  ValidationReport report = archive_validate(dir, key ? &*key : nullptr);
  std::cout << (vm["json"].as<bool>() ? validation_report_json(report, dir) : validation_report_text(report, dir));
  return report.ok() ? kExitOk : kExitFindings;
}

int cli_archive_export(const std::vector<std::string>& args) {
  CommandSpec spec{"archive export", "", "fssl archive export [--archive] DIR [--out FILE.jsonl]"};
  po::options_description o("Options");
  o.add_options()("archive", po::value<std::string>()->required(), "archive directory")(
      "out", po::value<std::string>()->default_value("-"), "output JSONL file, '-' for standard output");
  po::variables_map vm;
  if (!cli_parse(spec, args, o, {"archive"}, &vm)) return kExitOk;
  ArchiveReader reader = ArchiveReader::open(vm["archive"].as<std::string>());
  const std::string out = vm["out"].as<std::string>();
  if (out == "-") {
    archive_export_jsonl(reader, std::cout);
    return kExitOk;
  }
  std::ofstream file(out, std::ios::trunc);
  FSSL_CHECK(file.good(), ConfigError, "--out {}: cannot create", out);
  const std::uint64_t n = archive_export_jsonl(reader, file);
  file.flush();
  FSSL_CHECK(file.good(), ArchiveError, "--out {}: write failed", out);
  FSSL_LOG_INFO("exported {} records to {}", n, out);
  return kExitOk;
}

int cli_archive_keygen(const std::vector<std::string>& args) {
  CommandSpec spec{"archive keygen", "", "fssl archive keygen --out FILE"};
  po::options_description o("Options");
  o.add_options()("out", po::value<std::string>()->required(), "key file to create (mode 0600, never overwritten)");
  po::variables_map vm;
  if (!cli_parse(spec, args, o, {"out"}, &vm)) return kExitOk;
  key_file_generate(vm["out"].as<std::string>());
  fmt::print("# key written to {} (32 random bytes, mode 0600): keep it with the logger only\n",
             vm["out"].as<std::string>());
  return kExitOk;
}

}  // namespace fssl
