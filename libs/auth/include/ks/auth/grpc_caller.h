// The caller of a gRPC call, from its "authorization" metadata (header-only, so that libs/auth
// itself needs no gRPC).
#pragma once

#include <string_view>

#include "ks/auth/auth.h"

namespace ks::auth {

template <typename ServerContext>
Result<Principal> CallerOf(const Authenticator& authenticator, const ServerContext& context) {
  const auto& metadata = context.client_metadata();
  const auto it = metadata.find("authorization");
  const std::string_view header = it == metadata.end() ? std::string_view()
                                                       : std::string_view(it->second.data(), it->second.size());
  return authenticator.Authenticate(header);
}

}  // namespace ks::auth
