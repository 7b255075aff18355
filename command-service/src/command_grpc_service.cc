#include "ks/command/command_grpc_service.h"

#include <grpcpp/impl/codegen/proto_utils.h>

#include "ks/auth/grpc_caller.h"
#include "ks/rpc/server.h"

namespace ks::command {

grpc::ServerUnaryReactor* CommandGrpcService::Execute(grpc::CallbackServerContext* context,
                                                      const grpc::ByteBuffer* request, grpc::ByteBuffer* reply) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  grpc::ByteBuffer bytes(*request);  // decoding consumes the buffer; this copy shares its slices
  pb::ExecuteRequest decoded;
  if (!grpc::GenericDeserialize<grpc::ProtoBufferReader, pb::ExecuteRequest>(&bytes, &decoded).ok()) {
    reactor->Finish(rpc::ToGrpc(InvalidArgument(
        "request: is not a valid klantstroom.v1.ExecuteRequest (malformed protobuf, or a string field that is "
        "not valid UTF-8)")));
    return reactor;
  }
  // Whoever writes acts for their own tenant; analysts only read.
  auto caller = auth::CallerOf(authenticator_, *context);
  Status allowed = caller ? auth::Authorize(*caller, decoded.meta().tenant(),
                                            {auth::Role::kChannelAdapter, auth::Role::kKcc, auth::Role::kSpecialist,
                                             auth::Role::kBackOffice, auth::Role::kAdmin},
                                            "Execute")
                          : caller.error();
  // Erasure cannot be undone: only the tenant's admin (the privacy officer) may ask for it.
  if (allowed.ok() && decoded.has_erase_party_data())
    allowed = auth::Authorize(*caller, decoded.meta().tenant(), {auth::Role::kAdmin}, "Execute(erase_party_data)");
  if (!allowed.ok()) {
    reactor->Finish(rpc::ToGrpc(allowed));
    return reactor;
  }
  handler_.Execute(
      std::move(decoded),
      [reactor, reply](Result<pb::ExecuteReply> result) {
        if (!result) {
          reactor->Finish(rpc::ToGrpc(result.error()));
          return;
        }
        bool own_buffer = false;
        reactor->Finish(grpc::GenericSerialize<grpc::ProtoBufferWriter, pb::ExecuteReply>(*result, reply, &own_buffer));
      },
      context->deadline());
  return reactor;
}

}  // namespace ks::command
