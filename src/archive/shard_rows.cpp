// ShardReader's record reads: single rows, and batches through one union-of-hyperslabs read per
// flat dataset (the tokens, and in format v2 the processors' variable-length data).
#include <algorithm>
#include <cstring>

#include "fssl/archive.h"
#include "archive/format.h"
#include "archive/shard_impl.h"
#include "fssl/h5.h"

namespace fssl {
namespace {

struct Span {
  std::int64_t offset = 0;
  std::int32_t length = 0;
};

// The values of each span of a 1-D dataset, read with one HDF5 read of the spans' merged union
// (spans may overlap or repeat: readers never assume a layout).
template <typename T>
std::vector<std::vector<T>> read_spans(hid_t dataset, const std::vector<Span>& spans) {
  struct Range { std::int64_t start, end; };
  std::vector<Range> sorted;
  for (const Span& s : spans) {
    if (s.length > 0) sorted.push_back({s.offset, s.offset + s.length});
  }
  std::sort(sorted.begin(), sorted.end(), [](const Range& a, const Range& b) { return a.start < b.start; });
  std::vector<Range> merged;
  for (const Range& r : sorted) {
    if (!merged.empty() && r.start <= merged.back().end) {
      merged.back().end = std::max(merged.back().end, r.end);
    } else {
      merged.push_back(r);
    }
  }
  std::vector<std::pair<hsize_t, hsize_t>> ranges;
  std::vector<std::int64_t> at;  // where merged[k] starts in `buffer`
  std::int64_t total = 0;
  for (const Range& m : merged) {
    ranges.emplace_back(static_cast<hsize_t>(m.start), static_cast<hsize_t>(m.end - m.start));
    at.push_back(total);
    total += m.end - m.start;
  }
  std::vector<T> buffer(static_cast<std::size_t>(total));
  if (total > 0) h5::dataset_read_ranges<T>(dataset, ranges, buffer.data());
  std::vector<std::vector<T>> out(spans.size());
  for (std::size_t i = 0; i < spans.size(); ++i) {
    if (spans[i].length <= 0) continue;
    auto it = std::upper_bound(merged.begin(), merged.end(), spans[i].offset,
                               [](std::int64_t v, const Range& m) { return v < m.start; });
    const std::size_t k = static_cast<std::size_t>(it - merged.begin()) - 1;
    const T* first = buffer.data() + at[k] + (spans[i].offset - merged[k].start);
    out[i].assign(first, first + spans[i].length);
  }
  return out;
}

// Length-prefixed sequences [len_1, ids_1..., len_2, ids_2...] (section 2.5), or why they do not parse.
std::string split_bad_words(const std::vector<std::int32_t>& flat, std::vector<std::vector<std::int32_t>>* out) {
  for (std::size_t i = 0; i < flat.size();) {
    const std::int32_t n = flat[i++];
    if (n < 1 || static_cast<std::size_t>(n) > flat.size() - i) {
      return fmt::format("bad_words holds a sequence of length {} with {} values left", n, flat.size() - i);
    }
    out->emplace_back(flat.begin() + static_cast<std::ptrdiff_t>(i), flat.begin() + static_cast<std::ptrdiff_t>(i + n));
    i += static_cast<std::size_t>(n);
  }
  return "";
}

}  // namespace

LogRecord ShardReader::read(std::uint64_t row) const { return std::move(read_batch({row}).front()); }

std::vector<LogRecord> ShardReader::read_batch(const std::vector<std::uint64_t>& rows) const {
  // Structure first, before any token is read, as the batched read checks it.
  for (std::uint64_t row : rows) {
    if (row >= impl_->n_messages) {
      FSSL_THROW(RecordError, "{}: row {} is past the last record ({})", impl_->path, row, impl_->n_messages);
    }
    if (std::string problem = row_structure_problem(row); !problem.empty()) {
      FSSL_THROW(RecordError, "{}: {}", row_context(row), problem);
    }
  }
  std::vector<RowRead> read = read_rows(rows);
  std::vector<LogRecord> out;
  out.reserve(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (auto* p = std::get_if<RecordProblem>(&read[i])) {
      FSSL_THROW(RecordError, "{}: {}", row_context(rows[i]), p->reason);
    }
    out.push_back(std::move(std::get<LogRecord>(read[i])));
  }
  return out;
}

std::vector<RowRead> ShardReader::read_rows(const std::vector<std::uint64_t>& rows) const {
  const MessageColumns& c = impl_->cols;
  const bool v2 = impl_->version >= 2;
  std::vector<RowRead> out(rows.size());
  std::vector<std::uint64_t> usable;  // rows whose structure is sound, in request order
  std::vector<std::size_t> slot;      // their index in `out`
  for (std::size_t i = 0; i < rows.size(); ++i) {
    std::string problem = rows[i] >= impl_->n_messages
                              ? fmt::format("row {} is past the last record ({})", rows[i], impl_->n_messages)
                              : row_structure_problem(rows[i]);
    if (!problem.empty()) {
      out[i] = RecordProblem{std::move(problem)};
    } else {
      usable.push_back(rows[i]);
      slot.push_back(i);
    }
  }
  std::vector<Span> tokens, stop, allowed, bias, bad;
  for (std::uint64_t row : usable) {
    tokens.push_back({c.prompt_offset[row], c.prompt_length[row]});
    tokens.push_back({c.output_offset[row], c.output_length[row]});
    if (v2) {
      stop.push_back({c.stop_offset[row], c.stop_length[row]});
      allowed.push_back({c.allowed_offset[row], c.allowed_length[row]});
      bias.push_back({c.logit_bias_offset[row], c.logit_bias_length[row]});
      bad.push_back({c.bad_words_offset[row], c.bad_words_length[row]});
    }
  }
  const auto token_ids = read_spans<std::int32_t>(impl_->tokens.id(), tokens);
  std::vector<std::vector<std::int32_t>> stop_ids, allowed_ids, bias_ids, bad_words;
  std::vector<std::vector<float>> bias_values;
  if (v2) {
    stop_ids = read_spans<std::int32_t>(impl_->stop_ids.id(), stop);
    allowed_ids = read_spans<std::int32_t>(impl_->allowed_ids.id(), allowed);
    bias_ids = read_spans<std::int32_t>(impl_->bias_ids.id(), bias);
    bias_values = read_spans<float>(impl_->bias_values.id(), bias);
    bad_words = read_spans<std::int32_t>(impl_->bad_words.id(), bad);
  }
  for (std::size_t u = 0; u < usable.size(); ++u) {
    const std::uint64_t row = usable[u];
    LogRecord r;
    r.message_id = c.message_id[row];
    r.timestamp_us = c.timestamp_us[row];
    r.seed = c.seed[row];
    r.sampler = {impl_->profiles[c.sampler_profile[row]], c.temperature[row], c.top_k[row], c.top_p[row], c.min_p[row],
                 {}};
    r.model = impl_->models[c.model[row]];
    r.server = impl_->servers[c.server[row]];
    r.prompt = token_ids[2 * u];
    r.output = token_ids[2 * u + 1];
    std::string problem;
    if (v2) {
      LogitsProcessors& p = r.sampler.processors;
      p.repetition_penalty = c.repetition_penalty[row];
      p.presence_penalty = c.presence_penalty[row];
      p.frequency_penalty = c.frequency_penalty[row];
      p.min_tokens = c.min_tokens[row];
      p.repeat_last_n = c.repeat_last_n[row];
      p.stop_token_ids = stop_ids[u];
      p.allowed_token_ids = allowed_ids[u];
      for (std::size_t b = 0; b < bias_ids[u].size(); ++b) p.logit_bias.emplace_back(bias_ids[u][b], bias_values[u][b]);
      problem = split_bad_words(bad_words[u], &p.bad_words);
      r.engine = impl_->engines[c.engine[row]];
    }
    if (problem.empty()) problem = record_problem(r);
    if (!problem.empty()) {
      out[slot[u]] = RecordProblem{std::move(problem)};
    } else {
      out[slot[u]] = std::move(r);
    }
  }
  return out;
}

}  // namespace fssl
