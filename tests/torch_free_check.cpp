// The coordinator side builds and runs without libtorch: this program is linked with every
// object of the torch-free module libraries (base, archive, modeldir, noise, results, stats,
// report, audit; CMake WHOLE_ARCHIVE) and no libtorch, so any reference from them to a torch
// symbol fails the link. tests/torch_free_check.cmake then checks that the binary loads no
// libtorch/libc10. It also runs a few coordinator computations against hand-derived values.
#include <nlohmann/json.hpp>

#include <cstdio>

#include "fssl/audit_options.h"
#include "fssl/detection.h"
#include "fssl/results.h"

int main() {
  int failures = 0;
  auto expect = [&](bool ok, const char* what) {
    std::printf("%s: %s\n", ok ? "ok" : "FAILED", what);
    failures += ok ? 0 : 1;
  };
  // verification-math.md §8.1: 459 samples catch >= 1 of a 1% malicious share with 99% confidence
  // (1 - 0.99^459 = 0.99010 >= 0.99 > 1 - 0.99^458 = 0.98999).
  expect(fssl::samples_needed(0.01, 0.99, 1) == 459, "samples_needed(0.01, 0.99, 1) == 459");
  fssl::AuditOptions options;
  options.archive_dir = "ARCHIVE";
  const nlohmann::json config = fssl::to_json(options);
  expect(config.at("archive") == "ARCHIVE" && config.at("score").at("rank_cutoff") == 32, "to_json(AuditOptions)");
  fssl::BatchReport report{7, 1.5, {fssl::message_not_scored({1, 2}, fssl::LogRecord{}, fssl::MessageStatus::kQuarantined, "x")}};
  const fssl::BatchReport back = fssl::batch_report_decode(fssl::batch_report_encode(report));
  expect(back.batch_id == 7 && back.seconds == 1.5 && back.results.size() == 1 &&
             back.results[0].status == fssl::MessageStatus::kQuarantined && back.results[0].reason == "x",
         "BatchReport round trip");
  return failures == 0 ? 0 : 1;
}
