// The gRPC services for outbound channel adapters and uploads, next to CommandService:
// NotificationService (take notifications to deliver, report how it went) and AttachmentService
// (store a photo or document, get its reference).
#pragma once

#include <chrono>
#include <functional>

#include "klantstroom/v1/command_service.grpc.pb.h"
#include "ks/attachments/attachment_store.h"
#include "ks/auth/auth.h"
#include "ks/command/command_handler.h"

namespace ks::command {

class NotificationGrpcService final : public pb::NotificationService::CallbackService {
 public:
  // What time it is for the queue: a notification is offered once it is due by this clock.
  // Tests pass one that runs ahead, to see a message planned for next month go out.
  using Clock = std::function<std::chrono::system_clock::time_point()>;

  NotificationGrpcService(CommandHandler& handler, const auth::Authenticator& authenticator, Clock clock = nullptr)
      : handler_(handler),
        authenticator_(authenticator),
        clock_(clock ? std::move(clock) : Clock([] { return std::chrono::system_clock::now(); })) {}
  grpc::ServerUnaryReactor* PullNotifications(grpc::CallbackServerContext* context,
                                              const pb::PullNotificationsRequest* request,
                                              pb::PullNotificationsReply* reply) override;
  grpc::ServerUnaryReactor* ReportDelivery(grpc::CallbackServerContext* context, const pb::ReportDeliveryRequest* request,
                                           pb::ExecuteReply* reply) override;

 private:
  CommandHandler& handler_;
  const auth::Authenticator& authenticator_;
  const Clock clock_;
};

class AttachmentGrpcService final : public pb::AttachmentService::CallbackService {
 public:
  AttachmentGrpcService(attachments::AttachmentStore& store, const auth::Authenticator& authenticator)
      : store_(store), authenticator_(authenticator) {}
  grpc::ServerUnaryReactor* Upload(grpc::CallbackServerContext* context, const pb::UploadAttachmentRequest* request,
                                   pb::Attachment* reply) override;

 private:
  attachments::AttachmentStore& store_;
  const auth::Authenticator& authenticator_;
};

}  // namespace ks::command
