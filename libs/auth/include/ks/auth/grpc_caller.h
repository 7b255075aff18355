// The caller of a gRPC call, from its "authorization" metadata (header-only, so that libs/auth
// itself needs no gRPC).
#pragma once

#include <string_view>

#include "ks/auth/auth.h"

namespace ks::auth {

// The bearer token when one is sent; otherwise, on a mutual-TLS connection, the verified client
// certificate's common name.
template <typename ServerContext>
Result<Principal> CallerOf(const Authenticator& authenticator, const ServerContext& context) {
  const auto& metadata = context.client_metadata();
  const auto it = metadata.find("authorization");
  const std::string_view header = it == metadata.end() ? std::string_view()
                                                       : std::string_view(it->second.data(), it->second.size());
  if (header.empty() && authenticator.enabled()) {
    const auto auth_context = context.auth_context();
    // Set only when the TLS handshake verified the client's certificate against --tls-client-ca.
    if (auth_context != nullptr && auth_context->IsPeerAuthenticated()) {
      const auto names = auth_context->FindPropertyValues("x509_common_name");
      if (!names.empty()) return authenticator.AuthenticateCertificate(std::string_view(names[0].data(), names[0].size()));
    }
  }
  return authenticator.Authenticate(header);
}

}  // namespace ks::auth
