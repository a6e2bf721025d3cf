// SVG charts of report.html (report/html_svg.h): the calibration frontier on log-log axes and the
// honest-vs-flagged histograms. Colours are presentation attributes, so a chart copied out of the
// page still renders the same.
#include "report/html_svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace fssl {
namespace {

constexpr const char* kGrey = "#9aa0a6";
constexpr const char* kFrontier = "#1a73e8";
constexpr const char* kOperating = "#d93025";
constexpr const char* kAxis = "#444";
constexpr const char* kGrid = "#e6e6e6";

// A log10 axis from pixel `origin` towards `end`. Log axes cannot show 0: when some values are 0
// they get a lane of their own next to the origin, split from the decades by a dashed break.
struct LogAxis {
  int lo = -3, hi = 0;  // decades 10^lo .. 10^hi
  bool zero_lane = false;
  double origin = 0, end = 0, lane = 0, start = 0;  // pixels: axis origin, far end, 0 lane, 10^lo

  double map(double v) const {
    if (!(v > 0)) return lane;
    const double t = (std::log10(v) - lo) / static_cast<double>(hi - lo);
    return start + t * (end - start);
  }
};

LogAxis log_axis(const std::vector<double>& values, double origin, double end) {
  LogAxis a;
  a.origin = origin, a.end = end;
  double lo = HUGE_VAL, hi = -HUGE_VAL;
  for (double v : values) {
    if (v > 0 && std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    if (v == 0) a.zero_lane = true;
  }
  if (lo <= hi) {
    a.lo = static_cast<int>(std::floor(std::log10(lo)));
    a.hi = static_cast<int>(std::ceil(std::log10(hi)));
  }
  if (a.hi <= a.lo) a.hi = a.lo + 1;
  const double dir = end > origin ? 1.0 : -1.0;
  a.lane = origin + dir * 12;
  a.start = a.zero_lane ? origin + dir * 44 : origin;
  return a;
}

std::string svg_open(double width, double height) {
  return fmt::format(R"(<svg class="chart" width="{0}" height="{1}" viewBox="0 0 {0} {1}" role="img" )"
                     R"(font-size="11" font-family="sans-serif">)",
                     width, height);
}

std::string decade_label(int k) { return fmt::format("{:g}", std::pow(10.0, k)); }

// "nice" upper end of a linear axis holding `top` (> 0), and its tick step.
std::pair<double, double> nice_axis(double top) {
  const double raw = top / 4;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = 10 * mag;
  for (double m : {1.0, 2.0, 2.5, 5.0}) {
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  }
  return {std::ceil(top / step - 1e-9) * step, step};
}

void axis_titles(std::string* out, double cx, double bottom, double cy, double left, const std::string& x_title,
                 const std::string& y_title) {
  *out +=
      fmt::format(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="middle">{}</text>)", cx, bottom, html_escape(x_title));
  *out += fmt::format(R"svg(<text transform="translate({:.1f},{:.1f}) rotate(-90)" text-anchor="middle">{}</text>)svg",
                      left, cy, html_escape(y_title));
}

}  // namespace

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        // C0 controls are parse errors in HTML and unreadable anyway; bytes >= 0x80 (UTF-8) pass.
        out += (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') ? '?' : c;
    }
  }
  return out;
}

std::string grouped(std::uint64_t n) {
  const std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string svg_frontier_chart(const std::vector<ChartPoint>& points) {
  if (points.empty()) return "";
  const double width = 660, height = 420, left = 72, right = 640, top = 34, bottom = 360;
  std::vector<double> xs, ys;
  for (const ChartPoint& p : points) xs.push_back(p.fpr_percent), ys.push_back(p.info_percent);
  const LogAxis x = log_axis(xs, left, right), y = log_axis(ys, bottom, top);
  std::string s = svg_open(width, height);
  s += "<title>FPR % vs Info % of every kept calibration point, frontier highlighted</title>";
  for (int k = x.lo; k <= x.hi; ++k) {
    const double px = x.map(std::pow(10.0, k));
    s += fmt::format(R"(<line x1="{0:.1f}" y1="{1}" x2="{0:.1f}" y2="{2}" stroke="{3}"/>)", px, top, bottom, kGrid);
    s += fmt::format(R"(<text x="{:.1f}" y="{}" text-anchor="middle">{}</text>)", px, bottom + 16, decade_label(k));
  }
  for (int k = y.lo; k <= y.hi; ++k) {
    const double py = y.map(std::pow(10.0, k));
    s += fmt::format(R"(<line x1="{1}" y1="{0:.1f}" x2="{2}" y2="{0:.1f}" stroke="{3}"/>)", py, left, right, kGrid);
    s += fmt::format(R"(<text x="{}" y="{:.1f}" text-anchor="end">{}</text>)", left - 6, py + 4, decade_label(k));
  }
  if (x.zero_lane) {
    s += fmt::format(R"(<line x1="{0:.1f}" y1="{1}" x2="{0:.1f}" y2="{2}" stroke="#bbb" stroke-dasharray="3 3"/>)",
                     (x.lane + x.start) / 2, top, bottom);
    s += fmt::format(R"(<text x="{:.1f}" y="{}" text-anchor="middle">0</text>)", x.lane, bottom + 16);
    s += fmt::format(R"(<text x="{:.1f}" y="{}" text-anchor="start">(FPR 0)</text>)", x.lane - 6, bottom + 30);
  }
  if (y.zero_lane) {
    s += fmt::format(R"(<line x1="{1}" y1="{0:.1f}" x2="{2}" y2="{0:.1f}" stroke="#bbb" stroke-dasharray="3 3"/>)",
                     (y.lane + y.start) / 2, left, right);
    s += fmt::format(R"(<text x="{}" y="{:.1f}" text-anchor="end">0</text>)", left - 6, y.lane + 4);
  }
  s += fmt::format(R"(<path d="M{0} {1}V{2}H{3}" fill="none" stroke="{4}"/>)", left, top, bottom, right, kAxis);
  axis_titles(&s, (left + right) / 2, height - 8, (top + bottom) / 2, 18,
              "token false-positive rate, FPR % (log scale)", "information, Info % of log2 V (log scale)");

  // The frontier, joined left to right: lower FPR costs more information.
  std::vector<std::size_t> frontier;
  for (std::size_t i = 0; i < points.size(); ++i) {
    if (points[i].on_frontier) frontier.push_back(i);
  }
  std::sort(frontier.begin(), frontier.end(), [&](std::size_t a, std::size_t b) {
    const ChartPoint &p = points[a], &q = points[b];
    return p.fpr_percent != q.fpr_percent ? p.fpr_percent < q.fpr_percent : p.info_percent > q.info_percent;
  });
  if (frontier.size() > 1) {
    s += fmt::format(R"(<polyline fill="none" stroke="{}" stroke-width="1.5" points=")", kFrontier);
    for (std::size_t i : frontier)
      s += fmt::format("{:.1f},{:.1f} ", x.map(points[i].fpr_percent), y.map(points[i].info_percent));
    s += "\"/>";
  }
  // Grey first, so that frontier points and the operating point are drawn on top.
  for (int pass = 0; pass < 3; ++pass) {
    for (const ChartPoint& p : points) {
      if (pass != (p.operating ? 2 : p.on_frontier ? 1 : 0)) continue;
      const double px = x.map(p.fpr_percent), py = y.map(p.info_percent);
      const std::string title = "<title>" + html_escape(p.tooltip) + "</title>";
      if (pass == 2) {
        s += fmt::format(R"(<circle cx="{:.1f}" cy="{:.1f}" r="4.5" fill="{}"/>)", px, py, kFrontier);
        s +=
            fmt::format(R"(<circle cx="{:.1f}" cy="{:.1f}" r="9" fill="none" stroke="{}" stroke-width="2">{}</circle>)",
                        px, py, kOperating, title);
        s += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" fill="{}">operating point</text>)", px + 12, py - 10,
                         kOperating);
      } else {
        s += fmt::format(R"(<circle cx="{:.1f}" cy="{:.1f}" r="{}" fill="{}">{}</circle>)", px, py,
                         pass == 1 ? "4.5" : "3", pass == 1 ? kFrontier : kGrey, title);
      }
    }
  }
  s += fmt::format(R"(<circle cx="{0}" cy="14" r="3" fill="{1}"/><text x="{2}" y="18">kept point</text>)", left + 6,
                   kGrey, left + 14);
  s += fmt::format(R"(<circle cx="{0}" cy="14" r="4.5" fill="{1}"/><text x="{2}" y="18">frontier</text>)", left + 106,
                   kFrontier, left + 114);
  s += fmt::format(R"(<circle cx="{0}" cy="14" r="7" fill="none" stroke="{1}" stroke-width="2"/>)"
                   R"(<text x="{2}" y="18">operating point</text>)",
                   left + 196, kOperating, left + 208);
  return s + "</svg>";
}

std::string svg_histogram(const HistogramBins& bins, const std::vector<HistogramSeries>& series,
                          const std::string& x_title, const std::string& y_title) {
  const std::size_t n_bins = bins.bin_names.size();
  const double width = 780, height = 330, left = 64, right = 764, top = 34, bottom = 270;
  const double bin_width = (right - left) / static_cast<double>(std::max<std::size_t>(n_bins, 1));
  std::vector<double> totals;
  double top_share = 0;
  for (const HistogramSeries& h : series) {
    totals.push_back(static_cast<double>(std::accumulate(h.counts.begin(), h.counts.end(), std::uint64_t{0})));
    for (std::uint64_t c : h.counts)
      top_share = std::max(top_share, totals.back() > 0 ? static_cast<double>(c) / totals.back() : 0.0);
  }
  const auto [y_max, y_step] = nice_axis(top_share > 0 ? top_share : 1.0);
  auto y_of = [&](double share) { return bottom - share / y_max * (bottom - top); };
  std::string s = svg_open(width, height);
  s += "<title>" + html_escape(x_title) + ": share of each group's tokens per bin</title>";
  for (double v = 0; v <= y_max + y_step / 2; v += y_step) {
    s +=
        fmt::format(R"(<line x1="{1}" y1="{0:.1f}" x2="{2}" y2="{0:.1f}" stroke="{3}"/>)", y_of(v), left, right, kGrid);
    s += fmt::format(R"(<text x="{}" y="{:.1f}" text-anchor="end">{:g}%</text>)", left - 6, y_of(v) + 4, 100 * v);
  }
  const double slot = bin_width * 0.84 / static_cast<double>(std::max<std::size_t>(series.size(), 1));
  for (std::size_t b = 0; b < n_bins; ++b) {
    for (std::size_t k = 0; k < series.size(); ++k) {
      const std::uint64_t c = b < series[k].counts.size() ? series[k].counts[b] : 0;
      if (c == 0 || totals[k] <= 0) continue;
      const double share = static_cast<double>(c) / totals[k];
      const double x = left + bin_width * (static_cast<double>(b) + 0.08) + slot * static_cast<double>(k);
      // At least 1 px tall, so that a single token in a bin is visible.
      const double y = std::min(y_of(share), bottom - 1.0);
      s += fmt::format(R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}">)"
                       R"(<title>{}: {}: {:.3g}% ({} of {} tokens)</title></rect>)",
                       x, y, slot, bottom - y, html_escape(series[k].colour), html_escape(series[k].name),
                       html_escape(bins.bin_names[b]), 100 * share, c, static_cast<std::uint64_t>(totals[k]));
    }
    if (b < bins.bin_labels.size() && !bins.bin_labels[b].empty()) {
      s += fmt::format(R"(<text x="{:.1f}" y="{}" text-anchor="middle">{}</text>)",
                       left + bin_width * (static_cast<double>(b) + 0.5), bottom + 30, html_escape(bins.bin_labels[b]));
    }
  }
  for (std::size_t b = 0; b < bins.boundary_labels.size(); ++b) {
    if (bins.boundary_labels[b].empty()) continue;
    const double x = left + bin_width * static_cast<double>(b);
    s += fmt::format(R"(<line x1="{0:.1f}" y1="{1}" x2="{0:.1f}" y2="{2}" stroke="{3}"/>)", x, bottom, bottom + 5,
                     kAxis);
    s += fmt::format(R"(<text x="{:.1f}" y="{}" text-anchor="middle">{}</text>)", x, bottom + 16,
                     html_escape(bins.boundary_labels[b]));
  }
  if (bins.marker && *bins.marker <= n_bins) {
    const double x = left + bin_width * static_cast<double>(*bins.marker);
    s += fmt::format(R"(<line x1="{0:.1f}" y1="{1}" x2="{0:.1f}" y2="{2}" stroke="{3}" stroke-dasharray="4 3"/>)", x,
                     top, bottom, kOperating);
    s += fmt::format(R"(<text x="{:.1f}" y="{}" fill="{}">{}</text>)", x + 4, top + 10, kOperating,
                     html_escape(bins.marker_label));
  }
  s += fmt::format(R"(<path d="M{0} {1}V{2}H{3}" fill="none" stroke="{4}"/>)", left, top, bottom, right, kAxis);
  axis_titles(&s, (left + right) / 2, height - 8, (top + bottom) / 2, 16, x_title, y_title);
  double legend_x = left;
  for (std::size_t k = 0; k < series.size(); ++k) {
    const std::string text =
        fmt::format("{} ({} tokens)", series[k].name, grouped(static_cast<std::uint64_t>(totals[k])));
    s += fmt::format(R"(<rect x="{:.1f}" y="8" width="12" height="12" fill="{}"/><text x="{:.1f}" y="18">{}</text>)",
                     legend_x, html_escape(series[k].colour), legend_x + 16, html_escape(text));
    legend_x += 40 + 6.5 * static_cast<double>(text.size());
  }
  return s + "</svg>";
}

namespace {
bool is_decade(double x) { return x > 0 && std::fabs(std::log10(x) - std::round(std::log10(x))) < 1e-9; }
}  // namespace

HistogramBins margin_histogram_bins(const std::vector<double>& upper_edges, double threshold) {
  const std::size_t n = upper_edges.size();
  HistogramBins bins;
  bins.boundary_labels.assign(n + 1, "");
  for (std::size_t b = 0; b < n; ++b) {
    const double e = upper_edges[b];
    bins.bin_names.push_back(b == 0 ? fmt::format("Δ ≤ {:g}", e)
                                    : fmt::format("Δ in ({:.3g}, {:.3g}]", upper_edges[b - 1], e));
    bins.bin_labels.push_back(b == 0                ? fmt::format("≤{:g}", e)
                              : b + 1 == n && b > 0 ? fmt::format(">{:g}", upper_edges[b - 1])
                                                    : "");
    if (b + 1 < n && is_decade(e)) bins.boundary_labels[b + 1] = fmt::format("{:g}", e);
    if (b + 1 < n && std::fabs(e - threshold) <= 1e-9 * std::max(1.0, std::fabs(threshold))) {
      bins.marker = b + 1;
      bins.marker_label = fmt::format("margin threshold {:g}", threshold);
    }
  }
  return bins;
}

std::size_t margin_histogram_bin(const std::vector<double>& upper_edges, double margin) {
  const auto b = std::lower_bound(upper_edges.begin(), upper_edges.end(), margin) - upper_edges.begin();
  return std::min(static_cast<std::size_t>(b), upper_edges.size() - 1);
}

void GmlsBins::observe(float value) {
  if (!std::isfinite(value)) return;
  const double a = -static_cast<double>(value);
  if (a > 0) min_ = std::min(min_, a), max_ = std::max(max_, a);
  zero_ = zero_ || a <= 0;
}

int GmlsBins::hi() const {
  const int h = min_ <= max_ ? static_cast<int>(std::ceil(std::log10(max_))) : 0;
  const int l = min_ <= max_ ? static_cast<int>(std::floor(std::log10(min_))) : -1;
  return h > l ? h : l + 1;
}

int GmlsBins::lo() const {
  const int l = min_ <= max_ ? static_cast<int>(std::floor(std::log10(min_))) : -1;
  return std::max(l, hi() - 12);
}

std::size_t GmlsBins::bin(float value) const {
  if (!std::isfinite(value)) return 0;
  const double a = -static_cast<double>(value);
  if (a <= 0) return zero_ ? size() - 1 : n_log();
  // Half decade j (from the left) holds -GM-LS in [10^(hi - (j+1)/2), 10^(hi - j/2)).
  const double j = std::ceil(2 * (hi() - std::log10(a))) - 1;
  return 1 + static_cast<std::size_t>(std::clamp(j, 0.0, static_cast<double>(n_log() - 1)));
}

HistogramBins GmlsBins::bins() const {
  HistogramBins bins;
  bins.boundary_labels.assign(size() + 1, "");
  bins.bin_names.push_back("GM-LS = −∞");
  bins.bin_labels.push_back("−∞");
  for (std::size_t j = 0; j < n_log(); ++j) {
    const double left = -std::pow(10.0, hi() - static_cast<double>(j) / 2);
    const double right = -std::pow(10.0, hi() - static_cast<double>(j + 1) / 2);
    const bool open_end = j + 1 == n_log() && min_ < std::pow(10.0, lo());  // smaller magnitudes share it
    bins.bin_names.push_back(open_end ? fmt::format("GM-LS in ({:.3g}, 0)", left)
                                      : fmt::format("GM-LS in ({:.3g}, {:.3g}]", left, right));
    bins.bin_labels.push_back("");
    if (j % 2 == 0) bins.boundary_labels[1 + j] = fmt::format("{:g}", left);
  }
  bins.boundary_labels[1 + n_log()] = fmt::format("{:g}", -std::pow(10.0, lo()));
  if (zero_) bins.bin_names.push_back("GM-LS = 0"), bins.bin_labels.push_back("0");
  return bins;
}

}  // namespace fssl
