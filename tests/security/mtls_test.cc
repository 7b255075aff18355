// Mutual TLS over gRPC on loopback: the all-in-one serving with --tls-cert/--tls-key and
// --tls-client-ca, certificates made for the test with the openssl command (Debian's package). A
// channel adapter's certificate stands for a caller in the tokens file ("cert:<common name>");
// a client without a certificate, with one from another CA, or in plaintext gets no connection;
// a certificate no caller is named for gets UNAUTHENTICATED; a bearer token still names the
// caller on a mutual-TLS connection.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "ks/auth/auth.h"
#include "support/journey.h"

using namespace ks::testing;
namespace pb = ::klantstroom::v1;

namespace {

constexpr const char* kTenant = "gemeente-aa";

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A CA, a server certificate for localhost/127.0.0.1, and client certificates: "whatsapp-adapter"
// and "kcc-frontend" and "stranger" signed by the CA, "intruder" by another CA.
void MakeCertificates(const std::string& dir) {
  const std::string script = R"(set -e
cd ")" + dir + R"("
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1.key" 2>/dev/null; }
ca() { key "$1"; openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 2 -subj "/CN=$1" 2>/dev/null; }
signed() {  # name ca extfile
  key "$1"
  openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$1" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -out "$1.pem" -days 2 $3 2>/dev/null
}
ca test-ca
ca other-ca
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > server.ext
signed server test-ca "-extfile server.ext"
signed whatsapp-adapter test-ca
signed kcc-frontend test-ca
signed stranger test-ca
signed intruder other-ca
)";
  const std::string path = dir + "/make.sh";
  std::ofstream(path) << script;
  REQUIRE(std::system(("bash " + path).c_str()) == 0);
}

struct Client {
  std::unique_ptr<pb::CommandService::Stub> commands;
  std::unique_ptr<pb::NotificationService::Stub> notifications;
  std::unique_ptr<pb::QueryService::Stub> queries;
};

// A client of the stack on `port`: TLS trusting the test CA, presenting `name`'s certificate
// (none when empty); or plaintext.
Client Connect(const std::string& dir, int port, const std::string& name, bool tls = true) {
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (tls) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = Read(dir + "/test-ca.pem");
    if (!name.empty()) {
      options.pem_private_key = Read(dir + "/" + name + ".key");
      options.pem_cert_chain = Read(dir + "/" + name + ".pem");
    }
    credentials = grpc::SslCredentials(options);
  }
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  auto channel = grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port), credentials, args);
  return {pb::CommandService::NewStub(channel), pb::NotificationService::NewStub(channel), pb::QueryService::NewStub(channel)};
}

grpc::Status Pull(Client& client, const std::string& tenant) {
  pb::PullNotificationsRequest request;
  request.set_tenant(tenant);
  request.set_channel(pb::CHANNEL_WHATSAPP);
  request.set_adapter_id("whatsapp-adapter");
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  pb::PullNotificationsReply reply;
  return client.notifications->PullNotifications(&context, request, &reply);
}

}  // namespace

TEST_CASE("mtls: a client certificate stands for its caller, and no certificate means no connection",
          "[security][mtls]") {
  TempDir dir;
  MakeCertificates(dir.path().string());
  const std::string tokens = WriteTokens(dir, {{"cert:whatsapp-adapter", "gemeente-aa channel-adapter whatsapp-adapter"},
                                               {"karin", "gemeente-aa kcc kcc-karin"}});
  Stack stack(tokens, {.cert = dir.Sub("server.pem"), .key = dir.Sub("server.key"), .client_ca = dir.Sub("test-ca.pem")});

  // The adapter's certificate is its identity: its own tenant yes, another no.
  Client adapter = Connect(dir.path().string(), stack.port(), "whatsapp-adapter");
  grpc::Status pulled = Pull(adapter, kTenant);
  INFO(pulled.error_message());
  CHECK(pulled.ok());
  CHECK(Pull(adapter, "gemeente-bb").error_code() == grpc::StatusCode::PERMISSION_DENIED);
  auto person = RegisterPerson("Johan", "", "+31611223344");
  person.mutable_meta()->set_tenant(kTenant);
  person.mutable_meta()->mutable_actor()->set_kind(pb::ACTOR_KIND_ADAPTER);
  person.mutable_meta()->mutable_actor()->set_id("whatsapp-adapter");
  pb::ExecuteReply registered;
  {
    grpc::ClientContext context;
    grpc::Status status = adapter.commands->Execute(&context, person, &registered);
    INFO(status.error_message());
    CHECK(status.ok());
  }

  // A certificate of the CA that no caller is named for: connected, but nobody.
  Client stranger = Connect(dir.path().string(), stack.port(), "stranger");
  grpc::Status unknown = Pull(stranger, kTenant);
  CHECK(unknown.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK(unknown.error_message().find("stranger") != std::string::npos);

  // No certificate, another CA's, or plaintext: no connection at all.
  Client anonymous = Connect(dir.path().string(), stack.port(), "");
  CHECK(Pull(anonymous, kTenant).error_code() == grpc::StatusCode::UNAVAILABLE);
  Client intruder = Connect(dir.path().string(), stack.port(), "intruder");
  CHECK(Pull(intruder, kTenant).error_code() == grpc::StatusCode::UNAVAILABLE);
  Client plaintext = Connect(dir.path().string(), stack.port(), "", /*tls=*/false);
  CHECK(Pull(plaintext, kTenant).error_code() == grpc::StatusCode::UNAVAILABLE);

  // The KCC front end connects with its certificate and relays Karin's token: Karin is the caller.
  Client frontend = Connect(dir.path().string(), stack.port(), "kcc-frontend");
  pb::LookupPartiesRequest lookup;
  lookup.set_tenant(kTenant);
  lookup.mutable_digital_address()->set_kind(pb::DIGITAL_ADDRESS_KIND_PHONE);
  lookup.mutable_digital_address()->set_value("+31611223344");
  After(lookup, registered);
  pb::LookupPartiesReply found;
  {
    grpc::ClientContext context;
    WithToken(context, "karin");
    grpc::Status status = frontend.queries->LookupParties(&context, lookup, &found);
    INFO(status.error_message());
    CHECK(status.ok());
  }
  CHECK(found.parties_size() == 1);
  pb::CustomerView view;
  grpc::ClientContext no_token;
  pb::GetCustomerViewRequest view_request;
  view_request.set_tenant(kTenant);
  view_request.set_party_id(found.parties_size() == 1 ? found.parties(0).party_id() : "x");
  CHECK(frontend.queries->GetCustomerView(&no_token, view_request, &view).error_code() == grpc::StatusCode::UNAUTHENTICATED);
}

TEST_CASE("mtls: TLS settings that make no sense are refused, naming the flag", "[security][mtls]") {
  TempDir dir;
  std::ofstream(dir.Sub("not.pem")) << "not a certificate";
  auto key_only = ks::rpc::ServerCredentialsFor({.key = dir.Sub("not.pem")});
  REQUIRE_FALSE(key_only.has_value());
  CHECK(key_only.error().message().find("--tls-cert") != std::string::npos);
  auto missing = ks::rpc::ServerCredentialsFor({.cert = dir.Sub("missing.pem"), .key = dir.Sub("not.pem")});
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().message().find("--tls-cert: cannot read") != std::string::npos);
  auto not_pem = ks::rpc::ServerCredentialsFor({.cert = dir.Sub("not.pem"), .key = dir.Sub("not.pem")});
  REQUIRE_FALSE(not_pem.has_value());
  CHECK(not_pem.error().message().find("not a PEM file") != std::string::npos);
  auto ca_alone = ks::rpc::ServerCredentialsFor({.client_ca = dir.Sub("not.pem")});
  REQUIRE_FALSE(ca_alone.has_value());
  CHECK(ca_alone.error().code() == ks::StatusCode::kInvalidArgument);
  auto bad_line = ks::auth::Authenticator::FromFile(WriteTokens(dir, {{"cert:", "gemeente-aa kcc x"}}));
  REQUIRE_FALSE(bad_line.has_value());
  CHECK(bad_line.error().message().find("common name") != std::string::npos);
}
