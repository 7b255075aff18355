// Who is calling, and what they may do: bearer tokens, roles per tenant, and the specialist
// teams whose sensitive contacts a caller may read.
//
// A caller sends "authorization: Bearer <token>". The tokens file (--auth-tokens) lists one caller
// per line, by the SHA-256 of its token (so the file holds no secret that can be replayed):
//
//   # sha256-of-token                                                  tenant          roles          subject      teams
//   9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08  gemeente-utrecht kcc           kcc-karin
//   60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752  gemeente-utrecht specialist    wt-noor      wijkteam-noord
//
// (`printf %s TOKEN | sha256sum` gives the first column.) With mutual TLS (the servers'
// --tls-client-ca), a line may name a client certificate instead: `cert:<common name>`; a call on
// a connection whose verified certificate has that common name, without a bearer token, is that
// caller. (A bearer token, when sent, names the caller: an application may relay its user's.) Roles: channel-adapter, kcc,
// specialist, back-office, analyst, admin; several may be given, comma-separated; so may teams.
// A caller acts for its one tenant only.
//
// Without a tokens file every caller is trusted with every tenant, role and team: development
// only, and the programs say so when they start.
//
// Thread-safety: an Authenticator is immutable after loading; use it from any thread.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "ks/core/status.h"

namespace ks::auth {

enum class Role { kChannelAdapter, kKcc, kSpecialist, kBackOffice, kAnalyst, kAdmin };

std::string_view RoleName(Role role);

struct Principal {
  std::string subject;
  std::string tenant;
  std::set<Role> roles;
  // The specialist teams whose restricted contacts this caller may read.
  std::set<std::string> teams;
  // The development principal (no tokens file): any tenant, role and team.
  bool trusted_development = false;

  bool Has(Role role) const { return trusted_development || roles.contains(role); }
  bool MaySeeTeam(std::string_view team) const {
    return trusted_development || teams.contains(std::string(team));
  }
};

class Authenticator {
 public:
  // Reads the tokens file; INVALID_ARGUMENT naming the line and the rule when it is malformed.
  static Result<std::unique_ptr<Authenticator>> FromFile(const std::string& path);
  // Trusts every caller (development).
  static std::unique_ptr<Authenticator> TrustEveryone();

  bool enabled() const { return enabled_; }

  // The caller of a call with this "authorization" header value (empty when absent).
  // UNAUTHENTICATED when it is missing, not a bearer token, or not a known one.
  Result<Principal> Authenticate(std::string_view authorization_header) const;
  // The caller whose verified client certificate has `common_name` (a "cert:" line).
  // UNAUTHENTICATED when no line names it.
  Result<Principal> AuthenticateCertificate(std::string_view common_name) const;

 private:
  Authenticator() = default;
  bool enabled_ = false;
  std::map<std::string, Principal> by_token_hash_;
  std::map<std::string, Principal, std::less<>> by_common_name_;
};

// The authenticator of a program's --auth-tokens flag: the file's callers, or, when `path` is
// empty, everyone trusted, with a warning in `program`'s log that says so.
Result<std::unique_ptr<Authenticator>> AuthenticatorFor(const std::string& path, std::string_view program);

// OK when `principal` acts for `tenant` with one of `allowed`; PERMISSION_DENIED naming the
// tenant or the roles otherwise. `what` names the call ("GetCustomerView").
Status Authorize(const Principal& principal, std::string_view tenant, std::initializer_list<Role> allowed,
                 std::string_view what);

// Lower-case hex SHA-256 of `token`: the form the tokens file keeps.
std::string TokenHash(std::string_view token);

}  // namespace ks::auth
