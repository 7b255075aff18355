#include "ks/command/outbound_grpc_services.h"

#include <google/protobuf/util/time_util.h>

#include "ks/auth/grpc_caller.h"
#include "ks/domain/validation.h"
#include "ks/rpc/server.h"

namespace ks::command {
namespace {

using google::protobuf::util::TimeUtil;

pb::ExecuteRequest AdapterCommand(const std::string& tenant, const std::string& adapter_id) {
  pb::ExecuteRequest r;
  r.mutable_meta()->set_tenant(tenant);
  r.mutable_meta()->mutable_actor()->set_kind(pb::ACTOR_KIND_ADAPTER);
  r.mutable_meta()->mutable_actor()->set_id(adapter_id.empty() ? "adapter" : adapter_id);
  return r;
}

// OK when the caller may do `what` for `tenant` in one of `roles`.
Status Allowed(const auth::Authenticator& authenticator, const grpc::CallbackServerContext& context,
               const std::string& tenant, std::initializer_list<auth::Role> roles, std::string_view what) {
  auto caller = auth::CallerOf(authenticator, context);
  if (!caller) return caller.error();
  return auth::Authorize(*caller, tenant, roles, what);
}

}  // namespace

grpc::ServerUnaryReactor* NotificationGrpcService::PullNotifications(grpc::CallbackServerContext* context,
                                                                     const pb::PullNotificationsRequest* request,
                                                                     pb::PullNotificationsReply* reply) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto finish = [&](const Status& s) {
    reactor->Finish(rpc::ToGrpc(s));
    return reactor;
  };
  if (Status s = Allowed(authenticator_, *context, request->tenant(), {auth::Role::kChannelAdapter, auth::Role::kAdmin},
                         "PullNotifications");
      !s.ok())
    return finish(s);
  if (!domain::IsValidTenant(request->tenant())) return finish(InvalidArgument("tenant: must be 1-63 characters of a-z, 0-9 and '-'"));
  if (request->channel() == pb::CHANNEL_UNSPECIFIED || !pb::Channel_IsValid(request->channel()))
    return finish(InvalidArgument("channel: is required"));
  if (request->adapter_id().empty()) return finish(InvalidArgument("adapter_id: is required"));
  if (request->max_notifications() < 0 || request->max_notifications() > 100)
    return finish(InvalidArgument("max_notifications: must be 0 to 100"));
  if (request->lease_seconds() < 0 || request->lease_seconds() > 3600)
    return finish(InvalidArgument("lease_seconds: must be 0 to 3600"));
  const size_t max = request->max_notifications() == 0 ? 10 : static_cast<size_t>(request->max_notifications());
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_().time_since_epoch()).count();
  for (const std::string& id : handler_.DueNotifications(request->tenant(), request->channel(), now_ms, max)) {
    pb::ExecuteRequest dispatch = AdapterCommand(request->tenant(), request->adapter_id());
    dispatch.set_aggregate_id(id);
    // Due and leased by the queue's clock.
    *dispatch.mutable_meta()->mutable_occurred_at() = TimeUtil::MillisecondsToTimestamp(now_ms);
    dispatch.mutable_dispatch_notification()->set_adapter_id(request->adapter_id());
    dispatch.mutable_dispatch_notification()->set_lease_seconds(request->lease_seconds());
    auto dispatched = handler_.ExecuteSync(std::move(dispatch));
    if (!dispatched) {
      if (dispatched.error().code() == StatusCode::kFailedPrecondition) continue;  // another adapter took it
      // Hand over what is already leased rather than hiding it behind an error until the lease ends.
      if (reply->notifications_size() > 0) break;
      return finish(dispatched.error());
    }
    const domain::AggregateState state = handler_.StateOf(id);
    const auto& n = state.as<domain::NotificationState>();
    auto* out = reply->add_notifications();
    out->set_notification_id(id);
    out->set_tenant(state.tenant);
    out->set_channel(n.request.channel());
    *out->mutable_address() = n.request.address();
    out->set_text(n.request.text());
    *out->mutable_attachments() = n.request.attachments();
    out->set_attempt(n.attempts);
  }
  return finish(Status::Ok());
}

grpc::ServerUnaryReactor* NotificationGrpcService::ReportDelivery(grpc::CallbackServerContext* context,
                                                                  const pb::ReportDeliveryRequest* request,
                                                                  pb::ExecuteReply* reply) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (Status s = Allowed(authenticator_, *context, request->tenant(), {auth::Role::kChannelAdapter, auth::Role::kAdmin},
                         "ReportDelivery");
      !s.ok()) {
    reactor->Finish(rpc::ToGrpc(s));
    return reactor;
  }
  pb::ExecuteRequest report = AdapterCommand(request->tenant(), request->adapter_id());
  if (request->notification_id().empty()) {
    reactor->Finish(rpc::ToGrpc(InvalidArgument("notification_id: is required")));
    return reactor;
  }
  report.set_aggregate_id(request->notification_id());
  auto* c = report.mutable_report_notification_delivery();
  c->set_delivered(request->delivered());
  c->set_provider_message_id(request->provider_message_id());
  c->set_error(request->error());
  c->set_attempt(request->attempt());
  c->set_adapter_id(request->adapter_id());
  handler_.Execute(std::move(report), [reactor, reply](Result<pb::ExecuteReply> result) {
    if (result) *reply = std::move(*result);
    reactor->Finish(result ? grpc::Status::OK : rpc::ToGrpc(result.error()));
  });
  return reactor;
}

grpc::ServerUnaryReactor* AttachmentGrpcService::Upload(grpc::CallbackServerContext* context,
                                                        const pb::UploadAttachmentRequest* request, pb::Attachment* reply) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (!domain::IsValidTenant(request->tenant())) {
    reactor->Finish(rpc::ToGrpc(InvalidArgument("tenant: must be 1-63 characters of a-z, 0-9 and '-'")));
    return reactor;
  }
  if (Status s = Allowed(authenticator_, *context, request->tenant(),
                         {auth::Role::kChannelAdapter, auth::Role::kKcc, auth::Role::kSpecialist, auth::Role::kBackOffice,
                          auth::Role::kAdmin},
                         "Upload");
      !s.ok()) {
    reactor->Finish(rpc::ToGrpc(s));
    return reactor;
  }
  auto stored = store_.Put(request->tenant(), request->content(), request->media_type(), request->file_name());
  if (stored) *reply = std::move(*stored);
  reactor->Finish(stored ? grpc::Status::OK : rpc::ToGrpc(stored.error()));
  return reactor;
}

}  // namespace ks::command
