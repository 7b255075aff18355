// The KPI report in the analysts' three forms. Each is a pure function of the report, so the same
// report always gives the same bytes.
//  - CSV: one row per figure: tenant,kpi,dimension,bucket,value (RFC 4180 quoting).
//  - JSON: the KpiReport message in protobuf's JSON mapping.
//  - HTML: one self-contained page (no server, no files beside it, nothing fetched) with charts
//    drawn by its own script from the figures embedded in it: contacts per channel over time,
//    callback times, melding resolution against due time, and the top topics, per municipality.
#pragma once

#include <string>

#include "klantstroom/v1/kpi.pb.h"

namespace ks::kpi {

std::string ToCsv(const ::klantstroom::v1::KpiReport& report);
std::string ToJson(const ::klantstroom::v1::KpiReport& report);
std::string ToHtml(const ::klantstroom::v1::KpiReport& report);

}  // namespace ks::kpi
