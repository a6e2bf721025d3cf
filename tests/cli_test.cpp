// The fssl binary as users run it: help, exit codes, --config files and their precedence.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>

#include "archive_tamper.h"
#include "test_util.h"

namespace fssl {
namespace {

using Result = test::CommandResult;

Result fssl(const std::string& args) { return test::run_fssl(args); }

TEST(Cli, HelpListsCommandsAndOptionsWithDefaults) {
  Result top = fssl("--help");
  EXPECT_EQ(top.code, 0);
  EXPECT_NE(top.output.find("archive validate"), std::string::npos) << top.output;
  Result sub = fssl("archive import --help");
  EXPECT_EQ(sub.code, 0);
  EXPECT_NE(sub.output.find("--shard-messages arg (=100000)"), std::string::npos) << sub.output;
}

TEST(Cli, UnknownCommandOrOptionIsAConfigurationError) {
  EXPECT_EQ(fssl("archive frobnicate").code, 2);
  Result r = fssl("archive inspect --archiv x");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("archiv"), std::string::npos) << r.output;
}

TEST(Cli, CommandLineWinsOverConfigFileSection) {
  test::TempDir dir;
  std::ofstream(dir / "in.jsonl") << R"({"prompt_token_ids":[1],"output_token_ids":[70],"seed":1})" << "\n";
  std::ofstream(dir / "run.ini") << "server = from-top-level\n[archive-import]\nvocab-size = 50\nout = "
                                 << (dir / "arch") << "\n";
  // From the file alone V = 50 rejects token 70; the command line's V = 100 must win.
  Result file_only = fssl("archive import --config " + (dir / "run.ini") + " " + (dir / "in.jsonl") + " --strict");
  EXPECT_EQ(file_only.code, 2) << file_only.output;
  EXPECT_NE(file_only.output.find("in.jsonl:1:"), std::string::npos) << file_only.output;
  Result both = fssl("archive import --config " + (dir / "run.ini") + " --vocab-size 100 " + (dir / "in.jsonl"));
  EXPECT_EQ(both.code, 0) << both.output;
  Result exported = fssl("archive export " + (dir / "arch"));
  EXPECT_NE(exported.output.find("\"server\":\"from-top-level\""), std::string::npos) << exported.output;
}

TEST(Cli, UnknownKeyInTheCommandsOwnSectionIsRefused) {
  test::TempDir dir;
  std::ofstream(dir / "bad.ini") << "[archive-inspect]\narchve = x\n";
  Result r = fssl("archive inspect --config " + (dir / "bad.ini") + " " + dir.path());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("unknown option 'archve' in [archive-inspect]"), std::string::npos) << r.output;
}

// configs/audit.ini has an [audit] section; calibrate and merge take the audit's options and must
// read it (a merge that ignored it would see another plan than its parts'), their own section
// winning over it and the command line over both. Keys the command lacks (merge has no --part or
// --target-fpr) are the other commands' and skipped; each error names the value that was used.
TEST(Cli, CalibrateAndMergeReadTheAuditSectionTheirOwnSectionWins) {
  test::TempDir dir;
  std::ofstream(dir / "shared.ini") << "[audit]\narchive = " << (dir / "archive") << "\nmodel = "
                                    << (dir / "model-from-audit") << "\npart = 1/2\ntarget-fpr = 0.5\n"
                                    << "stratify = bogus-from-audit\n";
  const std::string merge = "merge --config " + (dir / "shared.ini") + " --out " + (dir / "merged") + " --stratify none " +
                            (dir / "part-0");
  Result from_audit = fssl(merge);
  EXPECT_EQ(from_audit.code, 2) << from_audit.output;
  EXPECT_NE(from_audit.output.find("model-from-audit/config.json"), std::string::npos) << from_audit.output;
  Result calibrate = fssl("calibrate --config " + (dir / "shared.ini") + " --out " + (dir / "cal"));
  EXPECT_EQ(calibrate.code, 2) << calibrate.output;
  EXPECT_NE(calibrate.output.find("--stratify bogus-from-audit"), std::string::npos) << calibrate.output;

  std::ofstream(dir / "shared.ini", std::ios::app) << "[merge]\nmodel = " << (dir / "model-from-merge") << "\n"
                                                   << "[calibrate]\nstratify = bogus-from-calibrate\n";
  Result own = fssl(merge);
  EXPECT_NE(own.output.find("model-from-merge/config.json"), std::string::npos) << own.output;
  Result own_calibrate = fssl("calibrate --config " + (dir / "shared.ini") + " --out " + (dir / "cal"));
  EXPECT_NE(own_calibrate.output.find("--stratify bogus-from-calibrate"), std::string::npos) << own_calibrate.output;
  Result cli = fssl(merge + " --model " + (dir / "model-from-cli"));
  EXPECT_NE(cli.output.find("model-from-cli/config.json"), std::string::npos) << cli.output;

  // `fssl audit` itself still refuses an unknown key in [audit]; merge skips it there.
  std::ofstream(dir / "typo.ini") << "[audit]\nsampel = 3\n";
  Result typo = fssl("audit --config " + (dir / "typo.ini"));
  EXPECT_NE(typo.output.find("unknown option 'sampel' in [audit]"), std::string::npos) << typo.output;
  Result typo_merge = fssl("merge --config " + (dir / "typo.ini"));
  EXPECT_EQ(typo_merge.output.find("sampel"), std::string::npos) << typo_merge.output;
}

TEST(Cli, MalformedModelFingerprintIsAConfigurationError) {
  test::TempDir dir;
  std::ofstream(dir / "in.jsonl") << R"({"prompt_token_ids":[1],"output_token_ids":[2],"seed":1})" << "\n";
  Result r = fssl("archive import " + (dir / "in.jsonl") + " --out " + (dir / "a") +
                  " --vocab-size 10 --model-fingerprint not-a-digest");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("--model-fingerprint 'not-a-digest'"), std::string::npos) << r.output;
}

TEST(Cli, ValidateExitCodes) {
  test::TempDir dir;
  test::write_test_archive(dir / "a", 12, 5);
  std::ofstream(dir / "key", std::ios::binary).write(reinterpret_cast<const char*>(test::test_key().data()), 32);
  Result ok = fssl("archive validate " + (dir / "a") + " --key " + (dir / "key"));
  EXPECT_EQ(ok.code, 0) << ok.output;
  EXPECT_NE(ok.output.find("# verdict          : VALID"), std::string::npos) << ok.output;
  test::poke<std::uint64_t>(dir / "a/shard-000001.h5", "/messages/seed", 2, 1, H5T_NATIVE_UINT64);
  Result bad = fssl("archive validate " + (dir / "a") + " --json");
  EXPECT_EQ(bad.code, 3) << bad.output;
  EXPECT_NE(bad.output.find("\"valid\": false"), std::string::npos) << bad.output;
  EXPECT_EQ(fssl("archive validate " + (dir / "missing")).code, 2);
}

TEST(Cli, ExportThenImportRebuildsTheSameChain) {
  test::TempDir dir;
  test::write_test_archive(dir / "a", 23, 10, /*with_key=*/false);
  ASSERT_EQ(fssl("archive export " + (dir / "a") + " --out " + (dir / "all.jsonl")).code, 0);
  Result imp = fssl("archive import " + (dir / "all.jsonl") + " --out " + (dir / "b") +
                    " --vocab-size 7 --shard-messages 10");  // per-line vocab_size overrides the flag
  ASSERT_EQ(imp.code, 0) << imp.output;
  const Manifest a = Manifest::read(dir / "a"), b = Manifest::read(dir / "b");
  ASSERT_EQ(a.shards.size(), b.shards.size());
  for (std::size_t k = 0; k < a.shards.size(); ++k) {
    EXPECT_EQ(hex_encode(a.shards[k].chain_head), hex_encode(b.shards[k].chain_head)) << "shard " << k;
  }
}

}  // namespace
}  // namespace fssl
