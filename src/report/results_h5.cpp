// write_results_h5 (report/results_h5.h): results.h5 as per-message and per-token columns
// (docs/results-format.md), written to PATH.tmp and renamed into place.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>

#include "report/results_h5.h"

#include "fssl/alarm.h"
#include "fssl/file.h"
#include "fssl/h5.h"

namespace fssl {
namespace {

constexpr const char* kFormat = "fssl-audit-results";
constexpr std::int32_t kVersion = 1;
constexpr const char* kMessages = "messages";
constexpr const char* kTokens = "tokens";

// Like the archive's /tokens: shuffle groups the bytes of f32/i64 columns so deflate sees runs.
const h5::ChunkedLayout kLayout{4096, 4, /*shuffle=*/true};

bool is_scored(const MessageResult& r) { return r.status == MessageStatus::kScored; }

std::size_t likelihood_width(const MessageResult& r, const ResultsFileInfo& info) {
  return r.inverse_cdf ? info.ipt_sigmas.size() : info.sigmas.size();
}

std::size_t admissible_width(const MessageResult& r, const ResultsFileInfo& info) {
  return r.inverse_cdf ? info.ipt_distance_grid.size() : info.margin_grid.size();
}

// Checks every scored message's columns against its token count and its family's widths before
// anything is written; returns the number of token rows.
hsize_t check_results(const std::string& path, const std::vector<MessageResult>& results,
                      const std::vector<std::string>& flag_reasons, const ResultsFileInfo& info) {
  FSSL_CHECK(flag_reasons.size() == results.size(), ArchiveError, "{}: {} flag reasons for {} messages", path,
             flag_reasons.size(), results.size());
  hsize_t n_tokens = 0;
  for (const MessageResult& r : results) {
    if (!is_scored(r)) continue;
    const TokenScores& t = r.tokens;
    const std::size_t n = t.size();
    FSSL_CHECK(t.tier.size() == n && t.margin.size() == n && t.logit_rank.size() == n && t.gumbel_rank.size() == n &&
                   t.bits.size() == n,
               ArchiveError, "{}: message {}: per-token columns differ in length (exact has {})", path, r.message_id,
               n);
    const char* family = r.inverse_cdf ? "inverse-CDF" : "Gumbel-max";
    const std::size_t ws = likelihood_width(r, info), wg = admissible_width(r, info);
    FSSL_CHECK(t.likelihood.size() == n * ws, ArchiveError,
               "{}: message {} ({}): {} likelihood values for {} tokens, expected {} per token", path, r.message_id,
               family, t.likelihood.size(), n, ws);
    FSSL_CHECK(t.admissible.size() == n * wg, ArchiveError,
               "{}: message {} ({}): {} admissible values for {} tokens, expected {} per token", path, r.message_id,
               family, t.admissible.size(), n, wg);
    n_tokens += n;
  }
  return n_tokens;
}

template <typename T, typename Get>
void write_message_column(hid_t group, const char* name, const std::vector<MessageResult>& results, Get get) {
  std::vector<T> column;
  column.reserve(results.size());
  for (const MessageResult& r : results) column.push_back(static_cast<T>(get(r)));
  h5::dataset_write_array<T>(group, name, {column.size()}, column.data(), kLayout);
}

template <typename Get>
void write_message_strings(hid_t group, const char* name, const std::vector<MessageResult>& results, Get get) {
  std::vector<std::string> column;
  column.reserve(results.size());
  for (const MessageResult& r : results) column.push_back(get(r));
  h5::dataset_write_strings(group, name, column);
}

// One 1-D per-token field of every scored message, concatenated in plan order. Built and written
// one column at a time so that the extra memory is one column, not a copy of every result.
template <typename T, typename Field>
void write_token_column(hid_t group, const char* name, const std::vector<MessageResult>& results, hsize_t n_tokens,
                        Field field) {
  std::vector<T> column;
  column.reserve(n_tokens);
  for (const MessageResult& r : results) {
    if (!is_scored(r)) continue;
    const std::vector<T>& values = field(r.tokens);
    column.insert(column.end(), values.begin(), values.end());
  }
  h5::dataset_write_array<T>(group, name, {n_tokens}, column.data(), kLayout);
}

// A 2-D per-token field [n_tokens, width]: each message's rows are its own width (which depends
// on its scoring family), padded on the right with `pad`.
template <typename T, typename Field, typename Width>
void write_token_matrix(hid_t group, const char* name, const std::vector<MessageResult>& results, hsize_t n_tokens,
                        std::size_t width, T pad, Field field, Width own_width) {
  std::vector<T> column(n_tokens * width, pad);
  std::size_t row = 0;
  for (const MessageResult& r : results) {
    if (!is_scored(r)) continue;
    const std::vector<T>& values = field(r.tokens);
    const std::size_t w = own_width(r);
    for (std::size_t i = 0; i < r.tokens.size(); ++i, ++row) {
      std::copy_n(values.begin() + static_cast<std::ptrdiff_t>(i * w), w,
                  column.begin() + static_cast<std::ptrdiff_t>(row * width));
    }
  }
  h5::dataset_write_array<T>(group, name, {n_tokens, width}, column.data(), kLayout);
}

void write_messages(hid_t file, const std::vector<MessageResult>& results,
                    const std::vector<std::string>& flag_reasons) {
  h5::Handle g = h5::group_create(file, kMessages);
  using R = const MessageResult&;
  write_message_column<std::uint32_t>(g.id(), "shard", results, [](R r) { return r.ref.shard; });
  write_message_column<std::uint64_t>(g.id(), "row", results, [](R r) { return r.ref.row; });
  write_message_column<std::uint64_t>(g.id(), "message_id", results, [](R r) { return r.message_id; });
  write_message_column<std::int64_t>(g.id(), "timestamp_us", results, [](R r) { return r.timestamp_us; });
  write_message_column<std::uint8_t>(g.id(), "status", results, [](R r) { return r.status; });
  write_message_column<std::uint8_t>(g.id(), "inverse_cdf", results, [](R r) { return r.inverse_cdf; });
  std::vector<std::uint8_t> flagged(results.size());
  for (std::size_t i = 0; i < results.size(); ++i) flagged[i] = flag_reasons[i].empty() ? 0 : 1;
  h5::dataset_write_array<std::uint8_t>(g.id(), "flagged", {flagged.size()}, flagged.data(), kLayout);
  // The alarm rule's message statistic (alarm.h), so an operator sees how far each message is from
  // the calibrated threshold without recomputing it.
  write_message_column<double>(g.id(), "evidence", results, [](R r) {
    return is_scored(r) ? message_evidence(r.tokens) : std::numeric_limits<double>::quiet_NaN();
  });
  write_message_column<std::uint64_t>(g.id(), "prompt_tokens", results, [](R r) { return r.prompt_tokens; });
  const auto n_output = [](R r) -> std::uint64_t { return is_scored(r) ? r.tokens.size() : 0; };
  write_message_column<std::uint64_t>(g.id(), "output_tokens", results, n_output);
  std::uint64_t next = 0;
  write_message_column<std::uint64_t>(g.id(), "token_offset", results, [&](R r) {
    const std::uint64_t offset = next;
    next += n_output(r);
    return offset;
  });
  write_message_strings(g.id(), "server", results, [](R r) { return r.server; });
  write_message_strings(g.id(), "model", results, [](R r) { return r.model; });
  write_message_strings(g.id(), "profile", results, [](R r) { return r.profile; });
  write_message_strings(g.id(), "reason", results, [](R r) { return r.reason; });
  h5::dataset_write_strings(g.id(), "flag_reason", flag_reasons);
}

void write_tokens(hid_t file, const std::vector<MessageResult>& results, hsize_t n_tokens,
                  const ResultsFileInfo& info) {
  h5::Handle g = h5::group_create(file, kTokens);
  using S = const TokenScores&;
  write_token_column<std::uint8_t>(g.id(), "exact", results, n_tokens, [](S t) -> auto& { return t.exact; });
  write_token_column<std::uint8_t>(g.id(), "tier", results, n_tokens, [](S t) -> auto& { return t.tier; });
  write_token_column<float>(g.id(), "margin", results, n_tokens, [](S t) -> auto& { return t.margin; });
  // NaN and -1 pad the narrower family's rows: neither is a value a real score can take.
  const std::size_t n_sigmas = std::max(info.sigmas.size(), info.ipt_sigmas.size());
  const std::size_t n_grid = std::max(info.margin_grid.size(), info.ipt_distance_grid.size());
  write_token_matrix<float>(g.id(), "likelihood", results, n_tokens, n_sigmas, std::numeric_limits<float>::quiet_NaN(),
                            [](S t) -> auto& { return t.likelihood; },
                            [&](const MessageResult& r) { return likelihood_width(r, info); });
  write_token_column<std::int64_t>(g.id(), "logit_rank", results, n_tokens, [](S t) -> auto& { return t.logit_rank; });
  write_token_column<std::int64_t>(g.id(), "gumbel_rank", results, n_tokens,
                                   [](S t) -> auto& { return t.gumbel_rank; });
  write_token_matrix<std::int64_t>(g.id(), "admissible", results, n_tokens, n_grid, -1,
                                   [](S t) -> auto& { return t.admissible; },
                                   [&](const MessageResult& r) { return admissible_width(r, info); });
  write_token_column<double>(g.id(), "bits", results, n_tokens, [](S t) -> auto& { return t.bits; });
}

void write_file(const std::string& path, const std::vector<MessageResult>& results,
                const std::vector<std::string>& flag_reasons, const ResultsFileInfo& info, hsize_t n_tokens) {
  h5::Handle file = h5::file_create(path);
  const hid_t f = file.id();
  h5::attribute_write_string(f, "format", kFormat);
  h5::attribute_write_int(f, "version", kVersion, H5T_STD_I32LE);
  h5::attribute_write_string(f, "archive_dir", info.archive_dir);
  h5::attribute_write_string(f, "archive_digest", info.archive_digest);
  h5::attribute_write_string(f, "model_dir", info.model_dir);
  h5::attribute_write_string(f, "model_fingerprint", info.model_fingerprint);
  h5::attribute_write_string(f, "config_json", info.config_json);
  h5::attribute_write_uint64(f, "audit_seed", info.audit_seed);
  h5::attribute_write_doubles(f, "sigmas", info.sigmas);
  h5::attribute_write_doubles(f, "margin_grid", info.margin_grid);
  h5::attribute_write_doubles(f, "ipt_sigmas", info.ipt_sigmas);
  h5::attribute_write_doubles(f, "ipt_distance_grid", info.ipt_distance_grid);
  write_messages(f, results, flag_reasons);
  write_tokens(f, results, n_tokens, info);
  file.close();  // flushes; its errors (a full disk) must reach the caller before the rename
}

}  // namespace

void write_results_h5(const std::string& path, const std::vector<MessageResult>& results,
                      const std::vector<std::string>& flag_reasons, const ResultsFileInfo& info) {
  const hsize_t n_tokens = check_results(path, results, flag_reasons, info);
  const std::string tmp = path + ".tmp";
  h5::silence_auto_printing();
  try {
    write_file(tmp, results, flag_reasons, info, n_tokens);
  } catch (const Error& e) {
    std::remove(tmp.c_str());
    FSSL_THROW(ArchiveError, "{}: cannot write results: {}", path, e.what());
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  commit_file_atomic(tmp, path);
}

}  // namespace fssl
