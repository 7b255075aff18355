#include "ks/auth/auth.h"

#include <fstream>
#include <sstream>
#include <vector>

#include <fmt/format.h>
#include <sodium.h>

#include "ks/core/log.h"

namespace ks::auth {
namespace {

const std::map<std::string, Role, std::less<>>& RolesByName() {
  static const std::map<std::string, Role, std::less<>> roles = {
      {"channel-adapter", Role::kChannelAdapter}, {"kcc", Role::kKcc},         {"specialist", Role::kSpecialist},
      {"back-office", Role::kBackOffice},         {"analyst", Role::kAnalyst}, {"admin", Role::kAdmin}};
  return roles;
}

std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ','))
    if (!part.empty()) out.push_back(part);
  return out;
}

}  // namespace

std::string_view RoleName(Role role) {
  for (const auto& [name, r] : RolesByName())
    if (r == role) return name;
  return "unknown";
}

std::string TokenHash(std::string_view token) {
  KS_CHECK(sodium_init() >= 0);
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(token.data()), token.size());
  std::string hex;
  for (unsigned char b : digest) hex += fmt::format("{:02x}", b);
  return hex;
}

std::unique_ptr<Authenticator> Authenticator::TrustEveryone() { return std::unique_ptr<Authenticator>(new Authenticator()); }

Result<std::unique_ptr<Authenticator>> Authenticator::FromFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::unexpected(InvalidArgument("auth-tokens: cannot read {}", path));
  std::unique_ptr<Authenticator> auth(new Authenticator());
  auth->enabled_ = true;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (const size_t hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::stringstream fields(line);
    std::string token_hash, tenant, roles, subject, teams;
    if (!(fields >> token_hash)) continue;  // blank or comment
    auto bad = [&](std::string_view rule) {
      return std::unexpected(InvalidArgument("auth-tokens: {} line {}: {}", path, number, rule));
    };
    if (!(fields >> tenant >> roles >> subject)) return bad("needs: sha256-of-token tenant roles subject [teams]");
    fields >> teams;
    constexpr std::string_view kCert = "cert:";
    const bool by_certificate = std::string_view(token_hash).starts_with(kCert);
    if (by_certificate && token_hash.size() == kCert.size())
      return bad("'cert:' must be followed by the client certificate's common name");
    if (!by_certificate &&
        (token_hash.size() != 64 || token_hash.find_first_not_of("0123456789abcdef") != std::string::npos))
      return bad("the first column must be the token's SHA-256 in lower-case hex (64 characters), or "
                 "cert:<common name> of a client certificate");
    Principal principal;
    principal.subject = subject;
    principal.tenant = tenant;
    for (const std::string& name : SplitCommas(roles)) {
      auto it = RolesByName().find(name);
      if (it == RolesByName().end())
        return bad(fmt::format("role '{}' is not one of channel-adapter, kcc, specialist, back-office, analyst, admin", name));
      principal.roles.insert(it->second);
    }
    if (principal.roles.empty()) return bad("at least one role is required");
    for (const std::string& team : SplitCommas(teams)) principal.teams.insert(team);
    if (by_certificate) {
      if (!auth->by_common_name_.emplace(token_hash.substr(kCert.size()), std::move(principal)).second)
        return bad("the same certificate name twice");
    } else if (!auth->by_token_hash_.emplace(token_hash, std::move(principal)).second) {
      return bad("the same token twice");
    }
  }
  log::Info("auth", "{} callers known from {} ({} by client certificate)",
            auth->by_token_hash_.size() + auth->by_common_name_.size(), path, auth->by_common_name_.size());
  return auth;
}

Result<std::unique_ptr<Authenticator>> AuthenticatorFor(const std::string& path, std::string_view program) {
  if (!path.empty()) return Authenticator::FromFile(path);
  log::Warn(program, "authentication is off (no --auth-tokens): every caller may act for every tenant, in every "
                     "role; for development only");
  return Authenticator::TrustEveryone();
}

Result<Principal> Authenticator::Authenticate(std::string_view header) const {
  if (!enabled_) {
    Principal developer;
    developer.subject = "development";
    developer.trusted_development = true;
    return developer;
  }
  constexpr std::string_view kBearer = "Bearer ";
  if (header.empty()) return std::unexpected(Unauthenticated("authorization: a bearer token is required"));
  if (!header.starts_with(kBearer)) return std::unexpected(Unauthenticated("authorization: must be 'Bearer <token>'"));
  auto it = by_token_hash_.find(TokenHash(header.substr(kBearer.size())));
  if (it == by_token_hash_.end()) return std::unexpected(Unauthenticated("authorization: the token is not known"));
  return it->second;
}

Result<Principal> Authenticator::AuthenticateCertificate(std::string_view common_name) const {
  if (!enabled_) return Authenticate("");
  auto it = by_common_name_.find(std::string(common_name));
  if (it == by_common_name_.end())
    return std::unexpected(Unauthenticated("authorization: the client certificate '{}' stands for no known caller, and "
                                           "no bearer token was given",
                                           common_name));
  return it->second;
}

Status Authorize(const Principal& principal, std::string_view tenant, std::initializer_list<Role> allowed,
                 std::string_view what) {
  if (principal.trusted_development) return Status::Ok();
  if (principal.tenant != tenant)
    return PermissionDenied("tenant: {} acts for {}, not for '{}'", principal.subject, principal.tenant, tenant);
  for (Role role : allowed)
    if (principal.roles.contains(role)) return Status::Ok();
  std::string names;
  for (Role role : allowed) names += (names.empty() ? "" : ", ") + std::string(RoleName(role));
  return PermissionDenied("{}: needs one of the roles {}; {} has none of them", what, names, principal.subject);
}

}  // namespace ks::auth
