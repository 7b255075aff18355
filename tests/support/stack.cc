#include "support/stack.h"

#include <condition_variable>
#include <mutex>

#include <google/protobuf/util/time_util.h>
#include <grpcpp/generic/generic_stub.h>

namespace ks::testing {

using google::protobuf::util::TimeUtil;

std::string HealthStatus(const std::string& address) {
  grpc::GenericStub generic(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::Slice empty("", 0);
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  grpc::Status result;
  generic.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                    [&](grpc::Status s) {
                      std::lock_guard lock(m);
                      result = std::move(s);
                      done = true;
                      cv.notify_one();
                    });
  std::unique_lock lock(m);
  cv.wait(lock, [&] { return done; });
  if (!result.ok()) return "error: " + result.error_message();
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) return "error: unreadable answer";
  std::string bytes;
  for (const auto& slice : slices) bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  // HealthCheckResponse { ServingStatus status = 1; }: SERVING is 1, NOT_SERVING 2.
  if (bytes == std::string("\x08\x01", 2)) return "SERVING";
  if (bytes == std::string("\x08\x02", 2)) return "NOT_SERVING";
  return "unknown";
}

pb::ExecuteRequest NewRequest(const std::string& tenant, const std::string& key) {
  pb::ExecuteRequest r;
  r.mutable_meta()->set_tenant(tenant);
  r.mutable_meta()->mutable_actor()->set_kind(pb::ACTOR_KIND_EMPLOYEE);
  r.mutable_meta()->mutable_actor()->set_id("kcc-karin");
  r.mutable_meta()->set_idempotency_key(key);
  return r;
}

pb::ExecuteRequest RegisterPerson(const std::string& name, const std::string& email, const std::string& phone,
                                  const std::string& handle) {
  pb::ExecuteRequest r = NewRequest();
  auto* c = r.mutable_register_party();
  c->set_kind(pb::PARTY_KIND_PERSON);
  c->set_display_name(name);
  auto add = [&](pb::DigitalAddressKind kind, const std::string& value) {
    if (value.empty()) return;
    auto* a = c->add_digital_addresses();
    a->set_kind(kind);
    a->set_value(value);
    a->set_verified(true);
  };
  add(pb::DIGITAL_ADDRESS_KIND_EMAIL, email);
  add(pb::DIGITAL_ADDRESS_KIND_PHONE, phone);
  add(pb::DIGITAL_ADDRESS_KIND_TWITTER, handle);
  return r;
}

pb::ExecuteRequest RegisterMessage(const std::string& party_id, pb::Channel channel, const std::string& text,
                                   int64_t occurred_seconds) {
  pb::ExecuteRequest r = NewRequest();
  *r.mutable_meta()->mutable_occurred_at() = TimeUtil::SecondsToTimestamp(occurred_seconds);
  auto* c = r.mutable_register_interaction();
  c->set_party_id(party_id);
  c->set_channel(channel);
  c->set_direction(pb::DIRECTION_INBOUND);
  c->set_text(text);
  return r;
}

pb::ExecuteRequest RequestCallback(const std::string& party_id, const std::string& department,
                                   const std::string& employee, pb::Urgency urgency, int64_t due_seconds) {
  pb::ExecuteRequest r = NewRequest();
  auto* c = r.mutable_request_callback();
  c->set_party_id(party_id);
  c->set_subject("terugbellen over " + department);
  c->set_urgency(urgency);
  c->mutable_target()->set_department(department);
  c->mutable_target()->set_employee_id(employee);
  if (due_seconds > 0) *c->mutable_due_at() = TimeUtil::SecondsToTimestamp(due_seconds);
  return r;
}

}  // namespace ks::testing
