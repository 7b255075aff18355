#include "src/measure.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "ks/core/log.h"
#include "ks/core/status.h"

namespace ks::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace

double Latencies::Percentile(double p) const {
  if (values_.empty()) return 0;
  std::vector<double> sorted = values_;
  const auto index = static_cast<size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1));
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(index),
                   sorted.end());
  return sorted[index];
}

// The shared state lives as long as the last callback that touches it, not just as long as this
// function.
Sample RunInFlight(size_t total, int concurrency,
                   const std::function<void(size_t, std::function<void(bool)>)>& issue) {
  struct State {
    std::mutex mutex;
    std::condition_variable cv;
    size_t next = 0;
    size_t finished = 0;
    size_t failed = 0;
    Latencies latencies;
    std::function<void(size_t, std::function<void(bool)>)> issue;
    size_t total = 0;
    // Starts the next call, if any; its completion starts the one after. Owned by the state, so
    // it lives as long as any callback that may still run it.
    std::function<void(const std::shared_ptr<State>&)> launch;
  };
  auto state = std::make_shared<State>();
  state->issue = issue;
  state->total = total;
  state->launch = [](const std::shared_ptr<State>& st) {
    size_t i;
    {
      std::lock_guard lock(st->mutex);
      if (st->next >= st->total) return;
      i = st->next++;
    }
    const auto started = Clock::now();
    st->issue(i, [st, started](bool ok) {
      bool all_done;
      {
        std::lock_guard lock(st->mutex);
        st->latencies.Add(Ms(Clock::now() - started));
        ++st->finished;
        if (!ok) ++st->failed;
        all_done = st->finished == st->total;
      }
      if (all_done) {
        st->cv.notify_one();
      } else {
        st->launch(st);
      }
    });
  };
  const auto start = Clock::now();
  for (int c = 0; c < concurrency; ++c) state->launch(state);
  std::unique_lock lock(state->mutex);
  state->cv.wait(lock, [&] { return state->finished == state->total; });
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (state->failed > 0) log::Warn("bench", "{} of {} calls failed", state->failed, total);
  const Sample sample{static_cast<double>(total) / seconds, state->latencies.Percentile(50),
                      state->latencies.Percentile(99), seconds};
  lock.unlock();
  // The state holds its own launch function, which holds nothing: no cycle keeps it alive.
  return sample;
}

Sample Median(std::vector<Sample> samples) {
  KS_CHECK(!samples.empty());
  std::sort(samples.begin(), samples.end(),
            [](const Sample& a, const Sample& b) { return a.per_second < b.per_second; });
  return samples[samples.size() / 2];
}

Sample MedianOf(int repeats, const std::function<Sample()>& run) {
  std::vector<Sample> samples;
  for (int i = 0; i < repeats; ++i) samples.push_back(run());
  return Median(std::move(samples));
}

Paired MedianOfPairs(int repeats, const std::function<Sample()>& run, const std::function<Sample()>& reference) {
  std::vector<Sample> values, references;
  std::vector<double> ratios;
  for (int i = 0; i < repeats; ++i) {
    values.push_back(run());
    references.push_back(reference());
    ratios.push_back(references.back().per_second > 0 ? values.back().per_second / references.back().per_second : 0);
  }
  std::sort(ratios.begin(), ratios.end());
  return {Median(std::move(values)), Median(std::move(references)), ratios[ratios.size() / 2]};
}

double Figure::Ratio() const {
  if (paired_ratio > 0) return paired_ratio;
  return reference.per_second > 0 ? value.per_second / reference.per_second : 0;
}

std::string FormatTable(const std::vector<Figure>& figures) {
  std::string out =
      fmt::format("{:<46} {:>10} {:>9} {:>9}   {:<40} {:>10} {:>7} {:>7}\n", "figure", "per second",
                  "p50 ms", "p99 ms", "reference (same run)", "per second", "ratio", "target");
  for (const Figure& f : figures) {
    const double ratio = f.Ratio();
    out += fmt::format("{:<46} {:>10.0f} {:>9.2f} {:>9.2f}   {:<40} {:>10.0f} {:>7.2f} {:>7}\n",
                       f.name, f.value.per_second, f.value.p50_ms, f.value.p99_ms, f.reference_name,
                       f.reference.per_second, ratio,
                       f.target_ratio > 0 ? fmt::format(">={:.1f}", f.target_ratio) : "-");
  }
  return out;
}

std::string FormatJson(const std::vector<Figure>& figures) {
  std::string out = "[\n";
  for (size_t i = 0; i < figures.size(); ++i) {
    const Figure& f = figures[i];
    out += fmt::format(
        "  {{\"figure\": \"{}\", \"per_second\": {:.1f}, \"p50_ms\": {:.3f}, \"p99_ms\": {:.3f}, "
        "\"reference\": \"{}\", "
        "\"reference_per_second\": {:.1f}, \"ratio\": {:.3f}, \"ratio_of_pairs\": {}, \"target_ratio\": {:.2f}}}{}\n",
        f.name, f.value.per_second, f.value.p50_ms, f.value.p99_ms, f.reference_name,
        f.reference.per_second, f.Ratio(), f.paired_ratio > 0 ? "true" : "false", f.target_ratio,
        i + 1 < figures.size() ? "," : "");
  }
  return out + "]\n";
}

}  // namespace ks::bench
