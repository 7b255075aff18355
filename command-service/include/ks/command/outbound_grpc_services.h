// The gRPC services for outbound channel adapters and uploads, next to CommandService:
// NotificationService (take notifications to deliver, report how it went) and AttachmentService
// (store a photo or document, get its reference).
#pragma once

#include "klantstroom/v1/command_service.grpc.pb.h"
#include "ks/attachments/attachment_store.h"
#include "ks/command/command_handler.h"

namespace ks::command {

class NotificationGrpcService final : public pb::NotificationService::CallbackService {
 public:
  explicit NotificationGrpcService(CommandHandler& handler) : handler_(handler) {}
  grpc::ServerUnaryReactor* PullNotifications(grpc::CallbackServerContext* context,
                                              const pb::PullNotificationsRequest* request,
                                              pb::PullNotificationsReply* reply) override;
  grpc::ServerUnaryReactor* ReportDelivery(grpc::CallbackServerContext* context, const pb::ReportDeliveryRequest* request,
                                           pb::ExecuteReply* reply) override;

 private:
  CommandHandler& handler_;
};

class AttachmentGrpcService final : public pb::AttachmentService::CallbackService {
 public:
  explicit AttachmentGrpcService(attachments::AttachmentStore& store) : store_(store) {}
  grpc::ServerUnaryReactor* Upload(grpc::CallbackServerContext* context, const pb::UploadAttachmentRequest* request,
                                   pb::Attachment* reply) override;

 private:
  attachments::AttachmentStore& store_;
};

}  // namespace ks::command
