// The gRPC face of the command side: CommandService.Execute and ExecuteBatch on the callback API,
// translating Status to grpc::Status. A reply is sent when the handler finishes (after the append
// is durable), without holding a gRPC thread while the log works.
//
// Requests arrive as raw bytes and are decoded here, so that a request that is not a valid
// message (malformed, or a string field that is not UTF-8) gets INVALID_ARGUMENT with a message,
// where gRPC's own decoding would answer an empty UNIMPLEMENTED.
#pragma once

#include "klantstroom/v1/command_service.grpc.pb.h"
#include "ks/auth/auth.h"
#include "ks/command/command_handler.h"

namespace ks::command {

// The most commands one ExecuteBatch call may carry.
inline constexpr int kMaxBatchCommands = 500;

class CommandGrpcService final
    : public pb::CommandService::WithRawCallbackMethod_Execute<
          pb::CommandService::WithRawCallbackMethod_ExecuteBatch<pb::CommandService::Service>> {
 public:
  // `handler` and `authenticator` must outlive the service.
  CommandGrpcService(CommandHandler& handler, const auth::Authenticator& authenticator)
      : handler_(handler), authenticator_(authenticator) {}

  grpc::ServerUnaryReactor* Execute(grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
                                    grpc::ByteBuffer* reply) override;
  grpc::ServerUnaryReactor* ExecuteBatch(grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
                                         grpc::ByteBuffer* reply) override;

 private:
  // Runs `request` for `caller` once it is allowed to; `done` gets the outcome either way.
  void AuthoriseAndRun(const Result<auth::Principal>& caller, pb::ExecuteRequest request,
                       CommandHandler::Deadline deadline, CommandHandler::Done done);

  CommandHandler& handler_;
  const auth::Authenticator& authenticator_;
};

}  // namespace ks::command
