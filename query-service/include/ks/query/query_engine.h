// QueryEngine: answers the KCC's questions from the read models (no gRPC inside). Every answer is
// computed from one ReadView and carries the log positions that view reflects.
//
// Read-your-writes: OpenView(consistency) returns a view only once the store reflects every
// position the caller asks for; callers wait and retry until their deadline (see
// QueryGrpcService).
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <chrono>
#include <optional>

#include "klantstroom/v1/query_service.pb.h"
#include "ks/attachments/attachment_store.h"
#include "ks/readmodel/store.h"

namespace ks::query {

namespace pb = ::klantstroom::v1;

class QueryEngine {
 public:
  // `store` (and `attachments`, which may be null) must outlive the engine.
  explicit QueryEngine(readmodel::ReadModelStore& store, const attachments::AttachmentStore* attachments = nullptr)
      : store_(store), attachments_(attachments) {}

  // A view reflecting at least `consistency.min_positions`, or std::nullopt when the store has not
  // got there yet. INVALID_ARGUMENT for a negative partition or offset.
  Result<std::optional<readmodel::ReadView>> OpenView(const pb::Consistency& consistency) const;

  // NOT_FOUND when the party is not in the tenant; INVALID_ARGUMENT naming a bad field.
  Result<pb::CustomerView> GetCustomerView(const readmodel::ReadView& view, const pb::GetCustomerViewRequest& request) const;
  Result<pb::LookupPartiesReply> LookupParties(const readmodel::ReadView& view, const pb::LookupPartiesRequest& request) const;
  // `now` decides what is overdue.
  Result<pb::CallbackQueue> GetCallbackQueue(const readmodel::ReadView& view, const pb::GetCallbackQueueRequest& request,
                                             std::chrono::system_clock::time_point now) const;
  Result<pb::Progress> GetProgress(const readmodel::ReadView& view) const;
  Result<pb::MeldingList> ListMeldingen(const readmodel::ReadView& view, const pb::ListMeldingenRequest& request,
                                        std::chrono::system_clock::time_point now) const;
  // NOT_FOUND when there is no such melding in the tenant.
  Result<pb::MeldingDetail> GetMelding(const readmodel::ReadView& view, const pb::GetMeldingRequest& request,
                                       std::chrono::system_clock::time_point now) const;
  Result<pb::PublicMeldingStatus> GetPublicMeldingStatus(const readmodel::ReadView& view,
                                                         const pb::GetPublicMeldingStatusRequest& request) const;
  // Not tied to a view: attachments are immutable files. NOT_FOUND for unknown content.
  Result<pb::AttachmentContent> GetAttachment(const pb::GetAttachmentRequest& request) const;

  readmodel::ReadModelStore& store() const { return store_; }

 private:
  readmodel::ReadModelStore& store_;
  const attachments::AttachmentStore* attachments_;
};

}  // namespace ks::query
