// Plain-text renderings of query answers, as a KCC employee's screen would list them: used by the
// demo and the command-line client.
#pragma once

#include <string>

#include "klantstroom/v1/query_service.pb.h"

namespace ks::journeys {

std::string RenderCustomerView(const ::klantstroom::v1::CustomerView& view);
std::string RenderCallbackQueue(const ::klantstroom::v1::CallbackQueue& queue, const std::string& title);

}  // namespace ks::journeys
