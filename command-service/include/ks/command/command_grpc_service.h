// The gRPC face of the command side: CommandService.Execute on the callback API, translating
// Status to grpc::Status. The reply is sent when the handler finishes (after the append is
// durable), without holding a gRPC thread while the log works.
#pragma once

#include "klantstroom/v1/command_service.grpc.pb.h"
#include "ks/command/command_handler.h"

namespace ks::command {

class CommandGrpcService final : public pb::CommandService::CallbackService {
 public:
  // `handler` must outlive the service.
  explicit CommandGrpcService(CommandHandler& handler) : handler_(handler) {}

  grpc::ServerUnaryReactor* Execute(grpc::CallbackServerContext* context, const pb::ExecuteRequest* request,
                                    pb::ExecuteReply* reply) override;

 private:
  CommandHandler& handler_;
};

}  // namespace ks::command
