#include "ks/kpi/report_writers.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <fmt/format.h>

#include "ks/core/status.h"
#include "ks/kpi/local_time.h"

namespace ks::kpi {
namespace {

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// JSON placed inside <script>: "</" would end the element early, so it is written "<\/".
std::string ForScriptElement(const std::string& json) {
  std::string out;
  out.reserve(json.size());
  for (size_t i = 0; i < json.size(); ++i) {
    out += json[i];
    if (json[i] == '<' && i + 1 < json.size() && json[i + 1] == '/') out += '\\';
  }
  return out;
}

std::string HtmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// The page's script: reads the figures from #kpi-data and draws, per municipality, four SVG
// charts. Each chart is an <svg class="chart" data-chart="..."> whose marks carry the class
// "mark" and a data-label, so a test (or a curious analyst) can check what was drawn.
constexpr std::string_view kScript = R"JS(
(function () {
  const report = JSON.parse(document.getElementById('kpi-data').textContent);
  const figures = report.figures || [];
  const NS = 'http://www.w3.org/2000/svg';
  const colours = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f',
                   '#bcbd22', '#17becf'];
  function el(name, attrs, parent) {
    const e = document.createElementNS(NS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function text(parent, x, y, s, anchor) {
    const t = el('text', {x: x, y: y, 'font-size': 11, 'text-anchor': anchor || 'start'}, parent);
    t.textContent = s;
    return t;
  }
  function pick(tenant, kpi, test) {
    return figures.filter(f => f.tenant === tenant && f.kpi === kpi && (!test || test(f)));
  }
  function chart(section, id, title, width, height) {
    const box = document.createElement('figure');
    const caption = document.createElement('figcaption');
    caption.textContent = title;
    box.appendChild(caption);
    const svg = el('svg', {class: 'chart', 'data-chart': id, width: width, height: height,
                           viewBox: '0 0 ' + width + ' ' + height});
    box.appendChild(svg);
    section.appendChild(box);
    return svg;
  }
  // Horizontal bars: rows [{label, value, note}], scaled to max (or to `scale`).
  function hbars(svg, rows, scale, format) {
    const max = scale || Math.max(1, ...rows.map(r => r.value));
    rows.forEach((r, i) => {
      const y = 10 + i * 22;
      text(svg, 150, y + 13, r.label, 'end');
      const w = Math.max(1, 380 * r.value / max);
      el('rect', {class: 'mark', 'data-label': r.label, 'data-value': r.value, x: 156, y: y, width: w, height: 16,
                  fill: colours[i % colours.length]}, svg);
      text(svg, 160 + w, y + 13, format(r));
    });
    if (rows.length === 0) text(svg, 10, 20, 'no data in this period');
  }
  const tenants = [...new Set(figures.map(f => f.tenant))].sort();
  const main = document.getElementById('report');
  for (const tenant of tenants) {
    const section = document.createElement('section');
    section.className = 'tenant';
    section.dataset.tenant = tenant;
    const h = document.createElement('h2');
    h.textContent = tenant;
    section.appendChild(h);
    const headline = document.createElement('p');
    const one = k => (pick(tenant, k, f => !f.dimension && !f.bucket)[0] || {value: 0}).value;
    headline.textContent = 'Contacts: ' + one('contacts') + ' · first-contact resolution: ' +
        Math.round(100 * one('first_contact_resolution_share')) + '% · callback requests: ' +
        one('callbacks_requested') + ' (' + one('callbacks_overdue') + ' overdue) · meldingen: ' +
        one('meldingen_registered') + ' · KTO: ' + one('kto_score_mean') + ' (' + one('kto_responses') + ' answers)';
    section.appendChild(headline);

    // 1. Contacts per channel over time: a line per channel, per day (per week for a period of
    // more than five weeks).
    const periodDays = (Date.parse(report.to) - Date.parse(report.from)) / 86400000;
    const bucketPattern = periodDays > 35 ? /^\d{4}-W\d{2}$/ : /^\d{4}-\d{2}-\d{2}$/;
    const daily = pick(tenant, 'contacts', f => f.dimension && bucketPattern.test(f.bucket || ''));
    const days = [...new Set(daily.map(f => f.bucket))].sort();
    const channels = [...new Set(daily.map(f => f.dimension))].sort();
    const svg1 = chart(section, 'contacts-per-channel',
                       'Contacts per channel per ' + (periodDays > 35 ? 'week' : 'day'), 640, 260);
    const maxDay = Math.max(1, ...daily.map(f => f.value));
    const x = i => 40 + (days.length <= 1 ? 0 : i * 440 / (days.length - 1));
    const y = v => 230 - 200 * v / maxDay;
    el('line', {x1: 40, y1: 230, x2: 480, y2: 230, stroke: '#999'}, svg1);
    text(svg1, 36, 34, String(maxDay), 'end');
    text(svg1, 36, 230, '0', 'end');
    if (days.length) { text(svg1, 40, 248, days[0]); text(svg1, 480, 248, days[days.length - 1], 'end'); }
    channels.forEach((ch, ci) => {
      const byDay = {};
      daily.filter(f => f.dimension === ch).forEach(f => byDay[f.bucket] = f.value);
      const points = days.map((d, i) => x(i) + ',' + y(byDay[d] || 0)).join(' ');
      el('polyline', {class: 'mark', 'data-label': ch, points: points, fill: 'none',
                      stroke: colours[ci % colours.length], 'stroke-width': 2}, svg1);
      el('rect', {x: 500, y: 20 + ci * 18, width: 10, height: 10, fill: colours[ci % colours.length]}, svg1);
      text(svg1, 515, 29 + ci * 18, ch);
    });
    if (days.length === 0) text(svg1, 50, 120, 'no contacts in this period');

    // 2. Callback times: median and 90th percentile to the first attempt and to completion.
    const cbRows = [['callback_first_attempt_p50_minutes', 'first attempt, median'],
                    ['callback_first_attempt_p90_minutes', 'first attempt, p90'],
                    ['callback_completion_p50_minutes', 'completed, median'],
                    ['callback_completion_p90_minutes', 'completed, p90']]
        .filter(([k]) => pick(tenant, k).length)
        .map(([k, label]) => ({label: label, value: pick(tenant, k)[0].value}));
    hbars(chart(section, 'callback-times', 'Callback requests: minutes until…', 640, 20 + 22 * Math.max(1, cbRows.length)),
          cbRows, 0, r => r.value.toFixed(0) + ' min');

    // 3. Melding resolution against due time: share resolved on time per category.
    const onTime = pick(tenant, 'meldingen_resolved_on_time_share', f => f.dimension)
        .map(f => ({label: f.dimension, value: f.value,
                    p50: (pick(tenant, 'melding_resolution_p50_hours', g => g.dimension === f.dimension)[0] || {}).value}));
    hbars(chart(section, 'melding-resolution', 'Meldingen resolved within their due time, per category', 640,
                20 + 22 * Math.max(1, onTime.length)),
          onTime, 1, r => Math.round(100 * r.value) + '% on time · median ' + (r.p50 || 0).toFixed(1) + ' h');

    // 4. Top topics.
    const topics = pick(tenant, 'topic_contacts', f => f.dimension)
        .sort((a, b) => b.value - a.value || a.dimension.localeCompare(b.dimension)).slice(0, 15)
        .map(f => ({label: f.dimension, value: f.value}));
    hbars(chart(section, 'top-topics', 'What citizens contacted us about (top topics)', 640,
                20 + 22 * Math.max(1, topics.length)),
          topics, 0, r => String(r.value));
    main.appendChild(section);
  }
  document.body.dataset.drawn = String(tenants.length);
})();
)JS";

}  // namespace

std::string ToCsv(const ::klantstroom::v1::KpiReport& report) {
  std::string out = "tenant,kpi,dimension,bucket,value\n";
  for (const auto& f : report.figures())
    out += fmt::format("{},{},{},{},{}\n", CsvField(f.tenant()), CsvField(f.kpi()), CsvField(f.dimension()),
                       CsvField(f.bucket()), f.value());
  return out;
}

std::string ToJson(const ::klantstroom::v1::KpiReport& report) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  // A figure of 0 is a figure: print it rather than leave the field out.
  options.always_print_primitive_fields = true;
  std::string out;
  KS_CHECK(google::protobuf::util::MessageToJsonString(report, &out, options).ok());
  return out;
}

std::string ToHtml(const ::klantstroom::v1::KpiReport& report) {
  using google::protobuf::util::TimeUtil;
  const std::string period = fmt::format("{} to {}", FormatLocalTime(TimeUtil::TimestampToMilliseconds(report.from())),
                                         FormatLocalTime(TimeUtil::TimestampToMilliseconds(report.to())));
  const std::string scope = report.tenant_filter().empty() ? "all municipalities" : report.tenant_filter();
  std::string json = ToJson(report);
  return fmt::format(R"(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Klantstroom KPIs: {scope}, {period}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
section.tenant {{ border-top: 2px solid #ccc; margin-top: 2em; }}
figure {{ margin: 1em 0; }}
figcaption {{ font-weight: bold; margin-bottom: .3em; }}
</style>
</head>
<body>
<h1>Klantstroom KPIs</h1>
<p>{scope}, {period} (Dutch local time). Figures as of {as_of}. Definitions: libs/kpi/README.md.</p>
<main id="report"></main>
<script type="application/json" id="kpi-data">{data}</script>
<script>{script}</script>
</body>
</html>
)",
                     fmt::arg("scope", HtmlEscape(scope)), fmt::arg("period", HtmlEscape(period)),
                     fmt::arg("as_of", FormatLocalTime(TimeUtil::TimestampToMilliseconds(report.as_of()))),
                     fmt::arg("data", ForScriptElement(json)), fmt::arg("script", kScript));
}

}  // namespace ks::kpi
