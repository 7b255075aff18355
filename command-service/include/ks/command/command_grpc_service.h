// The gRPC face of the command side: CommandService.Execute on the callback API, translating
// Status to grpc::Status. The reply is sent when the handler finishes (after the append is
// durable), without holding a gRPC thread while the log works.
//
// The request arrives as raw bytes and is decoded here, so that a request that is not a valid
// ExecuteRequest (malformed, or a string field that is not UTF-8) gets INVALID_ARGUMENT with a
// message, where gRPC's own decoding would answer an empty UNIMPLEMENTED.
#pragma once

#include "klantstroom/v1/command_service.grpc.pb.h"
#include "ks/auth/auth.h"
#include "ks/command/command_handler.h"

namespace ks::command {

class CommandGrpcService final
    : public pb::CommandService::WithRawCallbackMethod_Execute<pb::CommandService::Service> {
 public:
  // `handler` must outlive the service.
  // Both must outlive the service.
  CommandGrpcService(CommandHandler& handler, const auth::Authenticator& authenticator)
      : handler_(handler), authenticator_(authenticator) {}

  grpc::ServerUnaryReactor* Execute(grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
                                    grpc::ByteBuffer* reply) override;

 private:
  CommandHandler& handler_;
  const auth::Authenticator& authenticator_;
};

}  // namespace ks::command
