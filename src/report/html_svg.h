// Charts of report.html (report/html.h) as inline SVG: the calibration frontier on log-log axes and
// two-series histograms, with the bins of the margin and GM-LS histograms, plus the escaping and
// number grouping the page shares. Each svg_* function returns one self-contained <svg> element
// (no script, no external reference, no xmlns needed inside HTML). Private to audit_html*.cpp;
// plain functions of their arguments, no state.
#pragma once
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fssl {

// `text` with & < > " ' replaced by entities and C0 control characters (other than tab, CR, LF)
// by '?', so that data from the archive (server names, reasons, paths) is inert in text and
// attribute values alike.
std::string html_escape(const std::string& text);

// `n` with thousands separators: 6400 -> "6,400".
std::string grouped(std::uint64_t n);

// One calibration point (docs/audit.md, "Calibration"). fpr_percent or info_percent may be 0:
// log axes cannot show 0, so such points sit in a lane at the left (bottom) edge labelled "0".
struct ChartPoint {
  double fpr_percent = 0.0;
  double info_percent = 0.0;
  bool on_frontier = false;
  bool operating = false;  // the operating point: drawn with a ring and a label
  std::string tooltip;     // plain text (escaped by the chart)
};

// Scatter of all `points` (grey), the frontier points highlighted and joined in order of FPR,
// the operating point ringed. Empty string when `points` is empty.
std::string svg_frontier_chart(const std::vector<ChartPoint>& points);

// Bins of a histogram, left to right. REQUIRES: boundary_labels.size() == n_bins + 1 and
// bin_labels.size() == bin_names.size() == n_bins.
struct HistogramBins {
  std::vector<std::string> bin_names;        // [n_bins] in tooltips, e.g. "(0.1, 0.178]"
  std::vector<std::string> bin_labels;       // [n_bins] under the bin's centre ("" for none)
  std::vector<std::string> boundary_labels;  // [n_bins + 1] tick at each bin boundary ("" for none)
  std::optional<std::size_t> marker;         // a boundary drawn as a dashed line (e.g. the threshold)
  std::string marker_label;
};

// One group of tokens; bars show count / sum(counts), so groups of different sizes compare.
struct HistogramSeries {
  std::string name;                   // legend text
  std::string colour;                 // bar fill, a CSS colour such as "#1a73e8"
  std::vector<std::uint64_t> counts;  // [n_bins]
};

// Side-by-side bars of every series in each bin, y = share of the series' tokens (linear, 0 at
// the bottom), with axis titles. Series with no tokens are drawn as nothing but keep their legend.
std::string svg_histogram(const HistogramBins& bins, const std::vector<HistogramSeries>& series,
                          const std::string& x_title, const std::string& y_title);

// summary.json's margin bins: `upper_edges` ascending, 0 first and +inf last; bin b holds the
// margins in (edge[b-1], edge[b]]. Ticks at decades; `threshold` is marked where it is an edge.
HistogramBins margin_histogram_bins(const std::vector<double>& upper_edges, double threshold);
// The first bin whose upper edge is at least `margin`.
std::size_t margin_histogram_bin(const std::vector<double>& upper_edges, double margin);

// Bins spanning GM-LS values (log-likelihoods, <= 0, often 10 decades apart): -inf leftmost,
// then half decades of -GM-LS from the most negative (at most 12 decades; smaller magnitudes
// share the last), then 0 when some value is 0. observe() every value first, then bins()/bin().
class GmlsBins {
 public:
  void observe(float value);
  HistogramBins bins() const;
  std::size_t size() const { return 1 + n_log() + (zero_ ? 1 : 0); }
  std::size_t bin(float value) const;  // REQUIRES: !isnan(value)

 private:
  int hi() const;  // -GM-LS spans 10^lo() .. 10^hi()
  int lo() const;
  std::size_t n_log() const { return static_cast<std::size_t>(2 * (hi() - lo())); }
  double min_ = HUGE_VAL, max_ = 0;  // of the finite, nonzero -GM-LS observed
  bool zero_ = false;
};

}  // namespace fssl
