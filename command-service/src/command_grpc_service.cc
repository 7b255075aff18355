#include "ks/command/command_grpc_service.h"

#include "ks/rpc/server.h"

namespace ks::command {

grpc::ServerUnaryReactor* CommandGrpcService::Execute(grpc::CallbackServerContext* context,
                                                      const pb::ExecuteRequest* request, pb::ExecuteReply* reply) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  handler_.Execute(*request, [reactor, reply](Result<pb::ExecuteReply> result) {
    if (result) {
      *reply = std::move(*result);
      reactor->Finish(grpc::Status::OK);
    } else {
      reactor->Finish(rpc::ToGrpc(result.error()));
    }
  });
  return reactor;
}

}  // namespace ks::command
