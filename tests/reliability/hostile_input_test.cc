// Hostile input: a structured random generator throws thousands of malformed, oversized,
// contradictory and foreign-tenant commands, and raw garbage bytes, at the command API over gRPC.
// Every one gets an answer (a clear error or a success), the server never crashes, and only
// accepted commands write anything.
#include <catch2/catch.hpp>

#include <random>

#include <google/protobuf/stubs/logging.h>
#include <grpcpp/generic/generic_stub.h>

#include "support/stack.h"

using namespace ks::testing;
namespace pb = ::klantstroom::v1;

namespace {

class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}

  std::string String() {
    switch (rng_() % 8) {
      case 0: return "";
      case 1: return std::string(70'000 + rng_() % 1000, 'x');  // oversized
      case 2: return std::string("\xff\xfe\xc3(", 4);             // invalid UTF-8
      case 3: return std::string("a\0b\x01", 4);                   // control characters
      case 4: return "gemeente-" + std::to_string(rng_() % 3);
      case 5: return std::to_string(rng_());
      case 6: return "John.deVries@Example.nl";
      default: return "0612345678";
    }
  }
  int Enum() { return static_cast<int>(rng_() % 5 == 0 ? rng_() : rng_() % 6); }
  bool Coin() { return rng_() % 2 == 0; }

  pb::ExecuteRequest Command(const std::vector<std::string>& known_ids) {
    pb::ExecuteRequest r;
    if (rng_() % 10 != 0) {  // sometimes no meta at all
      r.mutable_meta()->set_tenant(rng_() % 4 == 0 ? String() : "gemeente-test");
      if (Coin()) {
        r.mutable_meta()->mutable_actor()->set_kind(static_cast<pb::ActorKind>(Enum()));
        r.mutable_meta()->mutable_actor()->set_id(rng_() % 3 == 0 ? String() : "adapter");
      }
      if (Coin()) r.mutable_meta()->set_idempotency_key(String());
      if (rng_() % 5 == 0) r.mutable_meta()->set_expected_version(static_cast<int64_t>(rng_() % 5) - 2);
      r.mutable_meta()->set_channel(static_cast<pb::Channel>(Enum()));
    }
    if (!known_ids.empty() && Coin()) r.set_aggregate_id(known_ids[rng_() % known_ids.size()]);
    else if (Coin()) r.set_aggregate_id(String());
    switch (rng_() % 10) {
      case 0: {
        auto* c = r.mutable_register_party();
        c->set_kind(static_cast<pb::PartyKind>(Enum()));
        c->set_display_name(String());
        for (int i = 0, n = static_cast<int>(rng_() % 3 == 0 ? 500 : rng_() % 3); i < n; ++i) {
          auto* a = c->add_digital_addresses();
          a->set_kind(static_cast<pb::DigitalAddressKind>(Enum()));
          a->set_value(String());
        }
        if (Coin()) {
          auto* id = c->add_identifiers();
          id->set_kind(static_cast<pb::IdentifierKind>(Enum()));
          id->set_value(Coin() ? "111222333" : String());
        }
        break;
      }
      case 1: {
        auto* c = r.mutable_register_interaction();
        c->set_party_id(Coin() && !known_ids.empty() ? known_ids[rng_() % known_ids.size()] : String());
        c->set_channel(static_cast<pb::Channel>(Enum()));
        c->set_direction(static_cast<pb::Direction>(Enum()));
        c->set_text(String());
        for (int i = 0, n = static_cast<int>(rng_() % 4 == 0 ? 1000 : rng_() % 3); i < n; ++i) c->add_topics(String());
        break;
      }
      case 2: {
        auto* c = r.mutable_request_callback();
        c->set_party_id(String());
        c->set_subject(String());
        c->set_urgency(static_cast<pb::Urgency>(Enum()));
        if (Coin()) c->mutable_target()->set_department(String());
        c->set_phone_number(String());
        break;
      }
      case 3: r.mutable_record_callback_attempt()->set_outcome(static_cast<pb::AttemptOutcome>(Enum())); break;
      case 4: r.mutable_complete_callback()->set_report(String()); break;
      case 5: {
        auto* c = r.mutable_register_melding();
        c->set_category(String());
        c->set_description(String());
        if (Coin()) c->mutable_location()->set_postcode(String());
        if (Coin()) {
          auto* a = c->add_attachments();
          a->set_sha256(String());
          a->set_size_bytes(static_cast<int64_t>(rng_()) * (Coin() ? 1000 : -1));
        }
        break;
      }
      case 6: {
        auto* c = r.mutable_change_melding_status();
        c->set_to(static_cast<pb::MeldingStatus>(Enum()));
        if (Coin()) c->mutable_scheduled_window()->mutable_start()->set_seconds(static_cast<int64_t>(rng_()));
        break;
      }
      case 7: r.mutable_record_satisfaction()->set_score(static_cast<int32_t>(rng_() % 10) - 3); break;
      case 8: r.mutable_set_employee_availability()->set_employee_id(String()); break;
      default: break;  // no command at all
    }
    return r;
  }

  std::string Garbage() {
    std::string bytes(rng_() % 300, '\0');
    for (char& c : bytes) c = static_cast<char>(rng_());
    return bytes;
  }

 private:
  std::mt19937 rng_;
};

}  // namespace

TEST_CASE("hostile commands get a clear answer, never a crash or a partial write", "[reliability][integration]") {
  Stack stack;
  // Serialising the invalid UTF-8 on purpose makes protobuf log an error for each; keep quiet.
  google::protobuf::LogSilencer quiet;
  std::vector<std::string> known;
  known.push_back(stack.MustExecute(RegisterPerson("Bekende Burger")).aggregate_id());
  Generator gen(20261122);
  int ok = 0;
  int refused = 0;
  int64_t size = stack.LogSize();
  for (int i = 0; i < 1500; ++i) {
    const pb::ExecuteRequest request = gen.Command(known);
    pb::ExecuteReply reply;
    grpc::Status status = stack.Execute(request, &reply);
    const int64_t now = stack.LogSize();
    if (status.ok()) {
      ++ok;
      CHECK(now - size <= 1);  // one command, at most one event
      if (reply.positions_size() > 0) known.push_back(reply.aggregate_id());
    } else {
      ++refused;
      CHECK(now == size);  // a refused command writes nothing
      INFO("code " << status.error_code() << " message " << status.error_message());
      CHECK_FALSE(status.error_message().empty());
      CHECK(status.error_code() != grpc::StatusCode::UNKNOWN);
    }
    size = now;
  }
  INFO("accepted " << ok << ", refused " << refused);
  CHECK(refused > 1000);

  // Raw garbage where a protobuf request should be: refused by decoding, nothing written.
  grpc::GenericStub generic(grpc::CreateChannel("127.0.0.1:" + std::to_string(stack.port()),
                                                grpc::InsecureChannelCredentials()));
  for (int i = 0; i < 200; ++i) {
    const std::string bytes = gen.Garbage();
    grpc::Slice slice(bytes);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    grpc::Status answer;
    // Every other call to ExecuteBatch, whose commands are refused one by one when they decode.
    const bool batch = i % 2 == 1;
    const std::string method =
        batch ? "/klantstroom.v1.CommandService/ExecuteBatch" : "/klantstroom.v1.CommandService/Execute";
    generic.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                      [&](grpc::Status s) {
                        std::lock_guard lock(m);
                        answer = std::move(s);
                        done = true;
                        cv.notify_one();
                      });
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return done; });
    // Garbage either does not decode, or decodes into something that breaks a rule: both are
    // INVALID_ARGUMENT with a message (for a batch that decodes: each of its commands).
    if (batch && answer.ok()) {
      std::vector<grpc::Slice> slices;
      REQUIRE(response.Dump(&slices).ok());
      std::string reply_bytes;
      for (const auto& part : slices) reply_bytes.append(reinterpret_cast<const char*>(part.begin()), part.size());
      pb::ExecuteBatchReply reply;
      REQUIRE(reply.ParseFromString(reply_bytes));
      for (const auto& result : reply.results()) {
        CHECK(result.error().code() == grpc::StatusCode::INVALID_ARGUMENT);
        CHECK_FALSE(result.error().message().empty());
      }
      continue;
    }
    CHECK(answer.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_FALSE(answer.error_message().empty());
  }
  CHECK(stack.LogSize() == size);
  // And the service still works.
  CHECK(stack.MustExecute(RegisterPerson("Na de storm")).aggregate_version() == 1);
}
