#include "ks/command/command_grpc_service.h"

#include <atomic>
#include <memory>

#include <grpcpp/impl/codegen/proto_utils.h>

#include "ks/auth/grpc_caller.h"
#include "ks/rpc/server.h"

namespace ks::command {
namespace {

// Decodes `request` into `out`; when it is not a valid message of that type, finishes the call
// with INVALID_ARGUMENT and returns false.
template <typename Message>
bool DecodeOrRefuse(const grpc::ByteBuffer* request, Message* out, grpc::ServerUnaryReactor* reactor) {
  grpc::ByteBuffer bytes(*request);  // decoding consumes the buffer; this copy shares its slices
  if (grpc::GenericDeserialize<grpc::ProtoBufferReader, Message>(&bytes, out).ok()) return true;
  reactor->Finish(rpc::ToGrpc(InvalidArgument(
      "request: is not a valid {} (malformed protobuf, or a string field that is not valid UTF-8)",
      Message::descriptor()->full_name())));
  return false;
}

template <typename Message>
void FinishWith(grpc::ServerUnaryReactor* reactor, const Message& message, grpc::ByteBuffer* reply) {
  bool own_buffer = false;
  reactor->Finish(grpc::GenericSerialize<grpc::ProtoBufferWriter, Message>(message, reply, &own_buffer));
}

}  // namespace

void CommandGrpcService::AuthoriseAndRun(const Result<auth::Principal>& caller, pb::ExecuteRequest request,
                                         CommandHandler::Deadline deadline, CommandHandler::Done done) {
  // Whoever writes acts for their own tenant; analysts only read.
  Status allowed = caller ? auth::Authorize(*caller, request.meta().tenant(),
                                            {auth::Role::kChannelAdapter, auth::Role::kKcc, auth::Role::kSpecialist,
                                             auth::Role::kBackOffice, auth::Role::kAdmin},
                                            "Execute")
                          : caller.error();
  // Erasure cannot be undone: only the tenant's admin (the privacy officer) may ask for it.
  if (allowed.ok() && request.has_erase_party_data())
    allowed = auth::Authorize(*caller, request.meta().tenant(), {auth::Role::kAdmin}, "Execute(erase_party_data)");
  if (!allowed.ok()) {
    done(std::unexpected(allowed));
    return;
  }
  handler_.Execute(std::move(request), std::move(done), deadline);
}

grpc::ServerUnaryReactor* CommandGrpcService::Execute(grpc::CallbackServerContext* context,
                                                      const grpc::ByteBuffer* request, grpc::ByteBuffer* reply) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  pb::ExecuteRequest decoded;
  if (!DecodeOrRefuse(request, &decoded, reactor)) return reactor;
  AuthoriseAndRun(auth::CallerOf(authenticator_, *context), std::move(decoded), context->deadline(),
                  [reactor, reply](Result<pb::ExecuteReply> result) {
                    if (!result)
                      reactor->Finish(rpc::ToGrpc(result.error()));
                    else
                      FinishWith(reactor, *result, reply);
                  });
  return reactor;
}

grpc::ServerUnaryReactor* CommandGrpcService::ExecuteBatch(grpc::CallbackServerContext* context,
                                                           const grpc::ByteBuffer* request, grpc::ByteBuffer* reply) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  pb::ExecuteBatchRequest decoded;
  if (!DecodeOrRefuse(request, &decoded, reactor)) return reactor;
  if (decoded.commands_size() > kMaxBatchCommands) {
    reactor->Finish(rpc::ToGrpc(InvalidArgument("commands: at most {} in one call (got {}); send the rest in another",
                                                kMaxBatchCommands, decoded.commands_size())));
    return reactor;
  }
  const auto caller = auth::CallerOf(authenticator_, *context);
  if (!caller && caller.error().code() == StatusCode::kUnauthenticated) {
    reactor->Finish(rpc::ToGrpc(caller.error()));
    return reactor;
  }
  // The answers are collected here; the last command to finish sends the reply. The count starts
  // one higher, so that commands answered while others are still being handed over cannot send it
  // early.
  struct Batch {
    pb::ExecuteBatchReply reply;
    std::atomic<int> remaining;
  };
  const int n = decoded.commands_size();
  auto batch = std::make_shared<Batch>();
  batch->remaining.store(n + 1);
  for (int i = 0; i < n; ++i) batch->reply.add_results();
  auto finish_one = [batch, reactor, reply] {
    if (batch->remaining.fetch_sub(1) == 1) FinishWith(reactor, batch->reply, reply);
  };
  for (int i = 0; i < n; ++i) {
    AuthoriseAndRun(caller, std::move(*decoded.mutable_commands(i)), context->deadline(),
                    [batch, i, finish_one](Result<pb::ExecuteReply> result) {
                      pb::CommandResult* out = batch->reply.mutable_results(i);
                      if (result) {
                        *out->mutable_reply() = std::move(*result);
                      } else {
                        out->mutable_error()->set_code(static_cast<int32_t>(rpc::ToGrpc(result.error()).error_code()));
                        out->mutable_error()->set_message(result.error().message());
                      }
                      finish_one();
                    });
  }
  finish_one();
  return reactor;
}

}  // namespace ks::command
