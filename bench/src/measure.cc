#include "src/measure.h"

#include <algorithm>

#include <fmt/format.h>

namespace ks::bench {

double Latencies::Percentile(double p) const {
  if (values_.empty()) return 0;
  std::vector<double> sorted = values_;
  const auto index = static_cast<size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1));
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(index), sorted.end());
  return sorted[index];
}

Sample MedianOf(int repeats, const std::function<Sample()>& run) {
  std::vector<Sample> samples;
  for (int i = 0; i < repeats; ++i) samples.push_back(run());
  std::sort(samples.begin(), samples.end(), [](const Sample& a, const Sample& b) { return a.per_second < b.per_second; });
  return samples[samples.size() / 2];
}

std::string FormatTable(const std::vector<Figure>& figures) {
  std::string out = fmt::format("{:<38} {:>12} {:>9} {:>9}   {:<34} {:>12} {:>7} {:>7}\n", "figure", "per second",
                                "p50 ms", "p99 ms", "reference (same run)", "per second", "ratio", "target");
  for (const Figure& f : figures) {
    const double ratio = f.reference.per_second > 0 ? f.value.per_second / f.reference.per_second : 0;
    out += fmt::format("{:<38} {:>12.0f} {:>9.2f} {:>9.2f}   {:<34} {:>12.0f} {:>7.2f} {:>7}\n", f.name,
                       f.value.per_second, f.value.p50_ms, f.value.p99_ms, f.reference_name, f.reference.per_second,
                       ratio, f.target_ratio > 0 ? fmt::format(">={:.1f}", f.target_ratio) : "-");
  }
  return out;
}

std::string FormatJson(const std::vector<Figure>& figures) {
  std::string out = "[\n";
  for (size_t i = 0; i < figures.size(); ++i) {
    const Figure& f = figures[i];
    out += fmt::format(
        "  {{\"figure\": \"{}\", \"per_second\": {:.1f}, \"p50_ms\": {:.3f}, \"p99_ms\": {:.3f}, \"reference\": \"{}\", "
        "\"reference_per_second\": {:.1f}, \"target_ratio\": {:.2f}}}{}\n",
        f.name, f.value.per_second, f.value.p50_ms, f.value.p99_ms, f.reference_name, f.reference.per_second,
        f.target_ratio, i + 1 < figures.size() ? "," : "");
  }
  return out + "]\n";
}

}  // namespace ks::bench
