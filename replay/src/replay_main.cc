#include "ks/replay/replay_main.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <unistd.h>

#include <fmt/format.h>

#include "ks/core/flags.h"
#include "ks/core/log.h"
#include "ks/eventlog/open.h"
#include "ks/kpi/local_time.h"
#include "ks/kpi/report_writers.h"
#include "ks/replay/replay.h"

namespace ks::replay {
namespace {

// Writes `content` to `path` through a temporary file and a rename, so a report is never seen
// half-written.
Status WriteFile(const std::filesystem::path& path, const std::string& content) {
  const std::filesystem::path temp = path.string() + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out.flush()) return IoError("cannot write {}", temp.string());
  }
  std::error_code ec;
  std::filesystem::rename(temp, path, ec);
  if (ec) return IoError("cannot rename {} to {}: {}", temp.string(), path.string(), ec.message());
  return Status::Ok();
}

std::string Thousands(int64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace

int ReplayMain(int argc, char** argv) {
  Flags flags("ks-replay",
              "replays the event log over a period into KPI reports (CSV, JSON, HTML) for analysts; "
              "never writes to the log or the live read models");
  flags.Define("log", "embedded:data/events", "the event log: embedded:DIR (read beside a running service) or kafka:BOOTSTRAP[/TOPIC]")
      .Define("from", "", "start of the period, Dutch local time: 2026-03-01 or 2026-03-01T08:00 (required)")
      .Define("to", "", "end of the period (exclusive), same form (required)")
      .Define("tenant", "", "the municipality (e.g. gemeente-utrecht); empty for all")
      .Define("out", "kpi-report", "directory the reports are written to (created when missing)")
      .Define("formats", "csv,json,html", "which reports to write: any of csv, json, html")
      .Define("lookback-days", "30", "how many days before --from reading starts (earlier contacts, late registrations)")
      .Define("from-start", "false", "read the whole log, whatever the period")
      .Define("threads", "2", "threads that read and fold partitions in parallel")
      .Define("hourly", "true", "also give contacts per hour");
  int exit_code = 0;
  if (!flags.Parse(argc, argv, &exit_code)) return exit_code;

  auto usage_error = [](const std::string& message) {
    log::Error("replay", "{}", message);
    return 2;
  };
  ReplayOptions options;
  const auto from = kpi::ParseLocalTime(flags.Get("from"));
  const auto to = kpi::ParseLocalTime(flags.Get("to"));
  if (!from) return usage_error("--from: must be a date (2026-03-01) or a local time (2026-03-01T08:00)");
  if (!to) return usage_error("--to: must be a date (2026-04-01) or a local time (2026-04-01T08:00)");
  if (*to <= *from) return usage_error("--to: must be after --from");
  options.from_ms = *from;
  options.to_ms = *to;
  options.tenant = flags.Get("tenant");
  auto lookback = flags.GetInt("lookback-days");
  if (!lookback || *lookback < 0) return usage_error("--lookback-days: must be a whole number of days, 0 or more");
  options.lookback_ms = *lookback * 24 * 3600 * 1000;
  options.from_start = flags.GetBool("from-start");
  auto threads = flags.GetInt("threads");
  if (!threads || *threads < 1 || *threads > 64) return usage_error("--threads: must be between 1 and 64");
  options.threads = static_cast<int>(*threads);
  options.kpi.hourly = flags.GetBool("hourly");
  std::set<std::string> formats;
  {
    std::stringstream list(flags.Get("formats"));
    std::string format;
    while (std::getline(list, format, ',')) {
      if (format != "csv" && format != "json" && format != "html")
        return usage_error(fmt::format("--formats: '{}' is not one of csv, json, html", format));
      formats.insert(format);
    }
    if (formats.empty()) return usage_error("--formats: name at least one of csv, json, html");
  }
  const std::filesystem::path out_dir = flags.Get("out");
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) return usage_error(fmt::format("--out={}: cannot create the directory: {}", out_dir.string(), ec.message()));

  auto event_log = eventlog::OpenLogForReading(flags.Get("log"));
  if (!event_log) {
    log::Error("replay", "cannot open the event log: {}", event_log.error().ToString());
    return 1;
  }
  const bool interactive = isatty(fileno(stderr)) != 0;
  options.on_progress = [&](const ReplayProgress& p) {
    const double pct = p.events_total > 0 ? 100.0 * static_cast<double>(p.events_read) / static_cast<double>(p.events_total) : 100.0;
    const std::string line = fmt::format("replay: {} of {} events ({:.0f}%), {} events/s", Thousands(p.events_read),
                                         Thousands(p.events_total), pct, Thousands(static_cast<int64_t>(p.events_per_second)));
    if (interactive)
      std::fprintf(stderr, "\r%s   ", line.c_str());
    else
      std::fprintf(stderr, "%s\n", line.c_str());
  };
  log::Info("replay", "{} from {} to {} for {}", (*event_log)->description(), flags.Get("from"), flags.Get("to"),
            options.tenant.empty() ? "all municipalities" : options.tenant);
  auto result = RunReplay(**event_log, options);
  if (interactive) std::fprintf(stderr, "\n");
  if (!result) {
    log::Error("replay", "{}", result.error().ToString());
    return 1;
  }
  std::vector<std::string> written;
  for (const std::string& format : formats) {
    const std::string content = format == "csv"    ? kpi::ToCsv(result->report)
                                : format == "json" ? kpi::ToJson(result->report)
                                                   : kpi::ToHtml(result->report);
    const std::filesystem::path path = out_dir / ("kpi." + format);
    if (Status s = WriteFile(path, content); !s.ok()) {
      log::Error("replay", "{}", s.ToString());
      return 1;
    }
    written.push_back(path.string());
  }
  std::printf("replay done: %s events read in %.1f s (%s events/s); %s folded, %s duplicates skipped, "
              "%s undecodable; %d figures\n",
              Thousands(result->events_read).c_str(), result->seconds,
              Thousands(static_cast<int64_t>(static_cast<double>(result->events_read) / std::max(result->seconds, 1e-9))).c_str(),
              Thousands(result->events_folded).c_str(), Thousands(result->duplicates_skipped).c_str(),
              Thousands(result->undecodable).c_str(), result->report.figures_size());
  for (const std::string& path : written) std::printf("wrote %s\n", path.c_str());
  return 0;
}

}  // namespace ks::replay
