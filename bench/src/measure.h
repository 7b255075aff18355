// Measuring: throughput with latency percentiles, the median of repeated runs, and the report
// table that holds each figure against its reference from the same run.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace ks::bench {

struct Sample {
  double per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double seconds = 0;  // wall time of the run
};

// Collects latencies (ms) and answers percentiles. Not thread-safe: one per thread, then Merge.
class Latencies {
 public:
  void Add(double ms) { values_.push_back(ms); }
  void Merge(const Latencies& other) {
    values_.insert(values_.end(), other.values_.begin(), other.values_.end());
  }
  // `p` in [0, 100]; 0 when empty.
  double Percentile(double p) const;

 private:
  std::vector<double> values_;
};

// Keeps `concurrency` calls in flight until `total` have completed. `issue(i, done)` starts call i
// and must call done(ok) exactly once when it completes (from any thread).
Sample RunInFlight(size_t total, int concurrency,
                   const std::function<void(size_t, std::function<void(bool)>)>& issue);

// The sample with the median throughput (of an even number, the upper one); `samples` not empty.
Sample Median(std::vector<Sample> samples);
// Runs `run` `repeats` times; the sample with the median throughput.
Sample MedianOf(int repeats, const std::function<Sample()>& run);

// A figure and its reference measured in pairs: each run of the figure is followed at once by a
// run of its reference, so that a slow minute of the machine (a hypervisor's neighbour) slows
// both sides of a ratio, not one.
struct Paired {
  Sample value;      // the median run of the figure
  Sample reference;  // the median run of the reference
  double ratio = 0;  // the median of the pairs' ratios
};
Paired MedianOfPairs(int repeats, const std::function<Sample()>& run, const std::function<Sample()>& reference);

struct Figure {
  std::string name;
  Sample value;
  std::string reference_name;
  Sample reference;
  // The ratio value/reference the project aims for (0: none).
  double target_ratio = 0;
  // The median of paired runs' ratios (MedianOfPairs); 0: the ratio of the two medians.
  double paired_ratio = 0;

  double Ratio() const;
};

// A readable table, and a JSON document of the same figures.
std::string FormatTable(const std::vector<Figure>& figures);
std::string FormatJson(const std::vector<Figure>& figures);

}  // namespace ks::bench
