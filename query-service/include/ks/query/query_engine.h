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
#include <memory>
#include <mutex>
#include <string>

#include "ks/attachments/attachment_store.h"
#include "ks/query/audit_log.h"
#include "ks/privacy/key_vault.h"
#include "ks/search/search_index.h"
#include "ks/readmodel/store.h"

namespace ks::query {

namespace pb = ::klantstroom::v1;

class QueryEngine {
 public:
  // `store`, `vault` (the keys that open the records' personal data) and `attachments` (may be
  // null) must outlive the engine. `search_dir`: where the projector keeps the search index (""
  // when there is none).
  QueryEngine(readmodel::ReadModelStore& store, privacy::KeyVault& vault,
              const attachments::AttachmentStore* attachments = nullptr, std::string search_dir = "")
      : store_(store), vault_(vault), attachments_(attachments), search_dir_(std::move(search_dir)) {}

  // A view reflecting at least `consistency.min_positions`, or std::nullopt when the store has not
  // got there yet. INVALID_ARGUMENT for a negative partition or offset.
  Result<std::optional<readmodel::ReadView>> OpenView(const pb::Consistency& consistency) const;
  // Whether read models at `progress` reflect every one of `consistency.min_positions`.
  static bool Reflects(const readmodel::Progress& progress, const pb::Consistency& consistency);

  // NOT_FOUND when the party is not in the tenant; INVALID_ARGUMENT naming a bad field.
  Result<pb::CustomerView> GetCustomerView(const readmodel::ReadView& view, const pb::GetCustomerViewRequest& request) const;
  Result<pb::LookupPartiesReply> LookupParties(const readmodel::ReadView& view, const pb::LookupPartiesRequest& request) const;
  // The changes of a party's data (from the read models) and, when `reads` is given, the reads of
  // it (this service's audit log), newest first. NOT_FOUND when the party is unknown.
  Result<pb::AuditTrail> GetAuditTrail(const readmodel::ReadView& view, const pb::GetAuditTrailRequest& request,
                                       const AuditLog* reads) const;
  // Parties sharing an identifier, an address or postcode + house number + birth date with the
  // party; merged and erased ones left out. NOT_FOUND when the party is unknown.
  Result<pb::DuplicateSuggestions> SuggestDuplicates(const readmodel::ReadView& view,
                                                     const pb::SuggestDuplicatesRequest& request) const;
  // A conversation with its turns and, when its party is known, the party's context (see
  // QueryService.GetConversation). NOT_FOUND when there is no such conversation in the tenant.
  Result<pb::ConversationView> GetConversation(const readmodel::ReadView& view,
                                               const pb::GetConversationRequest& request) const;
  // Conversations waiting for an employee of a department (or one employee), longest waiting first.
  Result<pb::HandoverList> ListHandovers(const readmodel::ReadView& view, const pb::ListHandoversRequest& request) const;
  Result<pb::ZaakContacts> ListZaakContacts(const readmodel::ReadView& view,
                                            const pb::ListZaakContactsRequest& request) const;
  // NOT_FOUND when there is no such appointment in the tenant.
  Result<pb::AppointmentDetail> GetAppointment(const readmodel::ReadView& view,
                                               const pb::GetAppointmentRequest& request) const;
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
  // Figures of the KPI catalog (libs/kpi) for a period of at most 31 days, judged at `now`.
  // INVALID_ARGUMENT naming a bad field.
  Result<pb::KpiReport> GetKpis(const readmodel::ReadView& view, const pb::GetKpisRequest& request,
                                std::chrono::system_clock::time_point now) const;
  Result<pb::TopTopics> GetTopTopics(const readmodel::ReadView& view, const pb::GetTopTopicsRequest& request,
                                     std::chrono::system_clock::time_point now) const;
  // Not tied to a view: the search index keeps its own progress. UNAVAILABLE while the index does
  // not exist yet (or none is configured); INVALID_ARGUMENT naming a bad field.
  // `visible_teams`: the specialist teams whose restricted contacts may be found (nullopt: all).
  Result<pb::SearchReply> Search(const pb::SearchRequest& request,
                                 std::optional<std::vector<std::string>> visible_teams = std::nullopt) const;
  // Not tied to a view: attachments are immutable files. NOT_FOUND for unknown content.
  Result<pb::AttachmentContent> GetAttachment(const pb::GetAttachmentRequest& request) const;

  readmodel::ReadModelStore& store() const { return store_; }

 private:
  // The digest the indexes hold for `value` (a BSN, a phone number) of `kind` (an identifier's or
  // a digital address's).
  Result<std::string> Digest(const std::string& tenant, int kind, const std::string& value, bool identifier) const;

  readmodel::ReadModelStore& store_;
  privacy::KeyVault& vault_;
  const attachments::AttachmentStore* attachments_;
  const std::string search_dir_;
  // Opened at the first search (the projector may create the index after we start).
  mutable std::mutex search_mutex_;
  mutable std::unique_ptr<search::SearchIndex> search_;
};

}  // namespace ks::query
