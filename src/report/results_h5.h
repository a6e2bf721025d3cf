// The audit's per-token results file, results.h5: one row per sampled message (/messages) and one
// row per scored output token (/tokens), with the run's provenance and score grids as root
// attributes. Format for users, with an h5py example: docs/results-format.md.
//
// Not collective: the coordinator writes the file once, at the end of the audit, from the results
// it gathered. One thread at a time (HDF5 is built without thread-safety).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "fssl/results.h"

namespace fssl {

// What the root attributes of results.h5 record about the run, so that the file alone says which
// archive and model it audited and how to read its likelihood and admissible columns.
struct ResultsFileInfo {
  std::string archive_dir;        // archive directory as given on the command line
  std::string archive_digest;     // hex digest identifying the archive (as the audit journal keys it)
  std::string model_dir;          // model directory as given on the command line
  std::string model_fingerprint;  // hex SHA-256 model fingerprint
  std::string config_json;        // the effective RunConfig as JSON text
  std::uint64_t audit_seed = 0;   // seed of the sampling plan (audit_plan.h)
  // Gumbel-max messages: GM-LS noise scales (logit units), the columns of /tokens/likelihood;
  // admissible-set margin thresholds (logit units), the columns of /tokens/admissible.
  std::vector<double> sigmas, margin_grid;
  // Inverse-CDF messages: IPT-LS jitter scales and admissible-set distances (probability units).
  std::vector<double> ipt_sigmas, ipt_distance_grid;
};

// Writes the results of an audit to `path`.
//   results[i]       the i-th message of the plan, in plan order; becomes row i of /messages.
//   flag_reasons[i]  "" when message i is not flagged, else why it is (free text).
// Only messages with status kScored contribute token rows; the token columns of unverifiable or
// quarantined results are ignored (their output_tokens is 0). /tokens/likelihood has
// max(|sigmas|, |ipt_sigmas|) columns, padded with NaN; /tokens/admissible has
// max(|margin_grid|, |ipt_distance_grid|) columns, padded with -1. Empty `results` give a valid
// file with empty datasets.
// REQUIRES: flag_reasons.size() == results.size(); for each scored message of n tokens, every
// per-token vector of `tokens` has n entries, likelihood n * |ipt_sigmas| (inverse_cdf) or
// n * |sigmas|, admissible n * |ipt_distance_grid| or n * |margin_grid|.
// Atomic: writes PATH.tmp, fsyncs it, renames it over PATH and fsyncs the directory, so a reader
// sees either the previous file or the complete new one. A failure before the rename leaves PATH
// untouched and removes PATH.tmp.
// Errors: ArchiveError naming `path` (and the message id when a requirement above is violated,
// checked before anything is written).
void write_results_h5(const std::string& path, const std::vector<MessageResult>& results,
                      const std::vector<std::string>& flag_reasons, const ResultsFileInfo& info);

}  // namespace fssl
