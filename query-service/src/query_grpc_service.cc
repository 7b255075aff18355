#include "ks/query/query_grpc_service.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <set>

#include "ks/auth/grpc_caller.h"
#include "ks/core/ids.h"
#include "ks/core/log.h"
#include "ks/query/access.h"
#include "ks/rpc/server.h"

namespace ks::query {

QueryGrpcService::QueryGrpcService(QueryEngine& engine, const auth::Authenticator& authenticator,
                                   QueryServiceOptions options)
    : engine_(engine),
      authenticator_(authenticator),
      options_(options),
      waiter_([this] { WaiterLoop(); }) {}

namespace {

using auth::Role;
// Who reads what (roles of the caller's own tenant).
constexpr std::initializer_list<Role> kCaseworkers = {Role::kKcc, Role::kSpecialist,
                                                      Role::kBackOffice, Role::kAdmin};
constexpr std::initializer_list<Role> kCaseworkersAndAdapters = {
    Role::kKcc, Role::kSpecialist, Role::kBackOffice, Role::kAdmin, Role::kChannelAdapter};
constexpr std::initializer_list<Role> kFigures = {Role::kKcc, Role::kSpecialist, Role::kBackOffice,
                                                  Role::kAdmin, Role::kAnalyst};

// Runs `query` on the view and moves its answer into `reply`.
template <typename Reply, typename Query>
Status Into(Reply* reply, Query query) {
  auto result = query();
  if (!result) return result.error();
  *reply = std::move(*result);
  return Status::Ok();
}

grpc::ServerUnaryReactor* Refuse(grpc::CallbackServerContext* context, const Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(rpc::ToGrpc(status));
  return reactor;
}

// The answer to a call whose min_positions the read models did not reach before its deadline.
Status NotReachedInTime(const readmodel::Progress& progress) {
  std::string reflects;
  for (const auto& [p, next] : progress) reflects += fmt::format(" {}:{}", p, next);
  return Unavailable("consistency.min_positions: the read models have not reached the requested positions in time "
                     "(they reflect partition:next_offset{}); retry later",
                     reflects.empty() ? " nothing yet" : reflects);
}

}  // namespace

Result<auth::Principal> QueryGrpcService::Admit(grpc::CallbackServerContext* context,
                                                const std::string& tenant,
                                                std::initializer_list<auth::Role> roles,
                                                std::string_view what) {
  auto caller = auth::CallerOf(authenticator_, *context);
  if (!caller) return std::unexpected(caller.error());
  if (Status s = auth::Authorize(*caller, tenant, roles, what); !s.ok()) return std::unexpected(s);
  return caller;
}

QueryGrpcService::~QueryGrpcService() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  waiter_.join();
}

grpc::ServerUnaryReactor* QueryGrpcService::Serve(grpc::CallbackServerContext* context,
                                                  const pb::Consistency& consistency,
                                                  Answer answer) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const auto now = std::chrono::steady_clock::now();
  auto deadline = now + options_.max_consistency_wait;
  // The caller's own deadline, when sooner, wins, with a margin (a fifth of the time it gave, at
  // least 100 ms) so that the answer saying why still reaches it on a busy machine.
  const auto client_deadline = context->deadline();
  if (client_deadline != std::chrono::system_clock::time_point::max()) {
    const auto given = client_deadline - std::chrono::system_clock::now();
    const auto margin =
        std::max<std::chrono::system_clock::duration>(given / 5, std::chrono::milliseconds(100));
    deadline = std::min(
        deadline,
        now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(given - margin));
  }
  Parked parked{&consistency, std::move(answer), reactor, deadline};
  if (!TryAnswer(parked)) {
    std::lock_guard lock(mutex_);
    parked_.push_back(std::move(parked));
    cv_.notify_all();
  }
  return reactor;
}

bool QueryGrpcService::TryAnswer(Parked& parked) {
  auto view = engine_.OpenView(*parked.consistency);
  if (!view) {
    parked.reactor->Finish(rpc::ToGrpc(view.error()));
    return true;
  }
  if (view->has_value()) {
    parked.reactor->Finish(rpc::ToGrpc(parked.answer(**view)));
    return true;
  }
  if (std::chrono::steady_clock::now() >= parked.deadline) {
    auto progress = engine_.store().View().ReadProgress();
    parked.reactor->Finish(rpc::ToGrpc(NotReachedInTime(progress ? *progress : readmodel::Progress())));
    return true;
  }
  return false;
}

void QueryGrpcService::AnswerReady(std::list<Parked>& batch) {
  // One progress read and one view per round, however many calls wait: reading the progress per
  // call every few milliseconds cost more than the answers once hundreds waited under load.
  const readmodel::ReadView view = engine_.store().View();
  auto progress = view.ReadProgress();
  const auto now = std::chrono::steady_clock::now();
  for (auto it = batch.begin(); it != batch.end();) {
    if (!progress) {
      it->reactor->Finish(rpc::ToGrpc(progress.error()));
    } else if (QueryEngine::Reflects(*progress, *it->consistency)) {
      it->reactor->Finish(rpc::ToGrpc(it->answer(view)));
    } else if (now >= it->deadline) {
      it->reactor->Finish(rpc::ToGrpc(NotReachedInTime(*progress)));
    } else {
      ++it;
      continue;
    }
    it = batch.erase(it);
  }
}

void QueryGrpcService::WaiterLoop() {
  std::unique_lock lock(mutex_);
  while (true) {
    cv_.wait_for(lock, options_.retry_interval, [&] { return stopping_; });
    if (stopping_) {
      for (Parked& p : parked_)
        p.reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "query service is stopping"));
      parked_.clear();
      return;
    }
    // Answer outside the lock: new calls may park meanwhile.
    std::list<Parked> batch;
    batch.swap(parked_);
    lock.unlock();
    if (!batch.empty()) AnswerReady(batch);
    lock.lock();
    parked_.splice(parked_.end(), batch);
  }
}

grpc::ServerUnaryReactor* QueryGrpcService::GetCustomerView(
    grpc::CallbackServerContext* context, const pb::GetCustomerViewRequest* request,
    pb::CustomerView* reply) {
  auto caller = Admit(context, request->tenant(), kCaseworkers, "GetCustomerView");
  if (!caller) return Refuse(context, caller.error());
  return Serve(context, request->consistency(),
               [this, request, reply, caller = *caller](const readmodel::ReadView& view) {
                 auto result = engine_.GetCustomerView(view, *request);
                 if (!result) return result.error();
                 *reply = std::move(*result);
                 WithholdRestricted(caller, reply->mutable_timeline());
                 WithholdRestricted(caller, reply->mutable_appointments());
                 std::vector<std::string> parties = {reply->party().party_id()};
                 for (const auto& duplicate : reply->merged_from())
                   parties.push_back(duplicate.party_id());
                 return RecordReads(caller, request->tenant(), "GetCustomerView", parties);
               });
}

grpc::ServerUnaryReactor* QueryGrpcService::GetConversation(
    grpc::CallbackServerContext* context, const pb::GetConversationRequest* request,
    pb::ConversationView* reply) {
  auto caller = Admit(context, request->tenant(), kCaseworkers, "GetConversation");
  if (!caller) return Refuse(context, caller.error());
  return Serve(context, request->consistency(),
               [this, request, reply, caller = *caller](const readmodel::ReadView& view) {
                 Status s = Into(reply, [&] { return engine_.GetConversation(view, *request); });
                 WithholdRestricted(caller, reply->mutable_turns());
                 WithholdRestricted(caller, reply->mutable_earlier_contacts());
                 WithholdRestricted(caller, reply->mutable_appointments());
                 if (!s.ok()) return s;
                 // Whose data the answer shows: the conversation's party (or the one it was merged
                 // into) and whoever the turns and contacts are of.
                 std::set<std::string> parties;
                 for (const std::string* id :
                      {&reply->conversation().party_id(), &reply->party().party_id()})
                   if (!id->empty()) parties.insert(*id);
                 for (const auto* list : {&reply->turns(), &reply->earlier_contacts()})
                   for (const auto& contact : *list)
                     if (!contact.party_id().empty()) parties.insert(contact.party_id());
                 if (parties.empty()) return s;
                 return RecordReads(caller, request->tenant(), "GetConversation",
                                    {parties.begin(), parties.end()});
               });
}

grpc::ServerUnaryReactor* QueryGrpcService::ListHandovers(grpc::CallbackServerContext* context,
                                                          const pb::ListHandoversRequest* request,
                                                          pb::HandoverList* reply) {
  auto caller = Admit(context, request->tenant(), kCaseworkers, "ListHandovers");
  if (!caller) return Refuse(context, caller.error());
  return Serve(context, request->consistency(),
               [this, request, reply, caller = *caller](const readmodel::ReadView& view) {
                 Status s = Into(reply, [&] { return engine_.ListHandovers(view, *request); });
                 if (!s.ok()) return s;
                 std::vector<std::string> parties;
                 for (const auto& c : reply->conversations())
                   if (!c.party_id().empty()) parties.push_back(c.party_id());
                 return RecordReads(caller, request->tenant(), "ListHandovers", parties);
               });
}

grpc::ServerUnaryReactor* QueryGrpcService::ListZaakContacts(
    grpc::CallbackServerContext* context, const pb::ListZaakContactsRequest* request,
    pb::ZaakContacts* reply) {
  auto caller = Admit(context, request->tenant(), kCaseworkers, "ListZaakContacts");
  if (!caller) return Refuse(context, caller.error());
  return Serve(context, request->consistency(),
               [this, request, reply, caller = *caller](const readmodel::ReadView& view) {
                 Status s = Into(reply, [&] { return engine_.ListZaakContacts(view, *request); });
                 WithholdRestricted(caller, reply->mutable_contacts());
                 if (!s.ok()) return s;
                 std::vector<std::string> parties;
                 for (const auto& c : reply->contacts())
                   if (!c.party_id().empty()) parties.push_back(c.party_id());
                 return RecordReads(caller, request->tenant(), "ListZaakContacts", parties);
               });
}

grpc::ServerUnaryReactor* QueryGrpcService::GetAppointment(grpc::CallbackServerContext* context,
                                                           const pb::GetAppointmentRequest* request,
                                                           pb::AppointmentDetail* reply) {
  // The citizen portal (a channel adapter) shows the citizen their appointment.
  auto caller = Admit(context, request->tenant(), kCaseworkersAndAdapters, "GetAppointment");
  if (!caller) return Refuse(context, caller.error());
  return Serve(context, request->consistency(),
               [this, request, reply, caller = *caller](const readmodel::ReadView& view) {
                 Status s = Into(reply, [&] { return engine_.GetAppointment(view, *request); });
                 google::protobuf::RepeatedPtrField<pb::AppointmentRecord> one;
                 *one.Add() = std::move(*reply->mutable_appointment());
                 WithholdRestricted(caller, &one);
                 *reply->mutable_appointment() = std::move(one[0]);
                 if (!s.ok() || reply->appointment().party_id().empty()) return s;
                 return RecordReads(caller, request->tenant(), "GetAppointment",
                                    {reply->appointment().party_id()});
               });
}

grpc::ServerUnaryReactor* QueryGrpcService::LookupParties(grpc::CallbackServerContext* context,
                                                          const pb::LookupPartiesRequest* request,
                                                          pb::LookupPartiesReply* reply) {
  auto caller = Admit(context, request->tenant(), kCaseworkersAndAdapters, "LookupParties");
  if (!caller) return Refuse(context, caller.error());
  return Serve(context, request->consistency(),
               [this, request, reply, caller = *caller](const readmodel::ReadView& view) {
                 auto result = engine_.LookupParties(view, *request);
                 if (!result) return result.error();
                 *reply = std::move(*result);
                 std::vector<std::string> parties;
                 for (const auto& party : reply->parties()) parties.push_back(party.party_id());
                 return RecordReads(caller, request->tenant(), "LookupParties", parties);
               });
}

grpc::ServerUnaryReactor* QueryGrpcService::GetCallbackQueue(
    grpc::CallbackServerContext* context, const pb::GetCallbackQueueRequest* request,
    pb::CallbackQueue* reply) {
  auto caller = Admit(context, request->tenant(), kCaseworkers, "GetCallbackQueue");
  if (!caller) return Refuse(context, caller.error());
  return Serve(
      context, request->consistency(), [this, request, reply](const readmodel::ReadView& view) {
        auto result = engine_.GetCallbackQueue(view, *request, std::chrono::system_clock::now());
        if (!result) return result.error();
        *reply = std::move(*result);
        return Status::Ok();
      });
}

grpc::ServerUnaryReactor* QueryGrpcService::GetProgress(grpc::CallbackServerContext* context,
                                                        const pb::GetProgressRequest* /*request*/,
                                                        pb::Progress* reply) {
  // Progress says nothing about anyone: any known caller may ask.
  if (auto caller = auth::CallerOf(authenticator_, *context); !caller)
    return Refuse(context, caller.error());
  static const pb::Consistency kNone;
  return Serve(context, kNone, [this, reply](const readmodel::ReadView& view) {
    auto result = engine_.GetProgress(view);
    if (!result) return result.error();
    *reply = std::move(*result);
    return Status::Ok();
  });
}

grpc::ServerUnaryReactor* QueryGrpcService::ListMeldingen(grpc::CallbackServerContext* context,
                                                          const pb::ListMeldingenRequest* request,
                                                          pb::MeldingList* reply) {
  auto caller = Admit(context, request->tenant(), kCaseworkers, "ListMeldingen");
  if (!caller) return Refuse(context, caller.error());
  return Serve(context, request->consistency(),
               [this, request, reply](const readmodel::ReadView& view) {
                 return Into(reply, [&] {
                   return engine_.ListMeldingen(view, *request, std::chrono::system_clock::now());
                 });
               });
}

grpc::ServerUnaryReactor* QueryGrpcService::GetMelding(grpc::CallbackServerContext* context,
                                                       const pb::GetMeldingRequest* request,
                                                       pb::MeldingDetail* reply) {
  auto caller = Admit(context, request->tenant(), kCaseworkers, "GetMelding");
  if (!caller) return Refuse(context, caller.error());
  return Serve(context, request->consistency(),
               [this, request, reply, caller = *caller](const readmodel::ReadView& view) {
                 Status s = Into(reply, [&] {
                   return engine_.GetMelding(view, *request, std::chrono::system_clock::now());
                 });
                 WithholdRestricted(caller, reply->mutable_contacts());
                 if (!s.ok() || reply->melding().reporter_party_id().empty()) return s;
                 return RecordReads(caller, request->tenant(), "GetMelding",
                                    {reply->melding().reporter_party_id()});
               });
}

grpc::ServerUnaryReactor* QueryGrpcService::GetPublicMeldingStatus(
    grpc::CallbackServerContext* context, const pb::GetPublicMeldingStatusRequest* request,
    pb::PublicMeldingStatus* reply) {
  auto caller =
      Admit(context, request->tenant(), kCaseworkersAndAdapters, "GetPublicMeldingStatus");
  if (!caller) return Refuse(context, caller.error());
  return Serve(context, request->consistency(),
               [this, request, reply](const readmodel::ReadView& view) {
                 return Into(reply, [&] { return engine_.GetPublicMeldingStatus(view, *request); });
               });
}

grpc::ServerUnaryReactor* QueryGrpcService::GetAttachment(grpc::CallbackServerContext* context,
                                                          const pb::GetAttachmentRequest* request,
                                                          pb::AttachmentContent* reply) {
  auto caller = Admit(context, request->tenant(), kCaseworkersAndAdapters, "GetAttachment");
  if (!caller) return Refuse(context, caller.error());
  static const pb::Consistency kNone;
  return Serve(context, kNone, [this, request, reply](const readmodel::ReadView&) {
    return Into(reply, [&] { return engine_.GetAttachment(*request); });
  });
}

grpc::ServerUnaryReactor* QueryGrpcService::Search(grpc::CallbackServerContext* context,
                                                   const pb::SearchRequest* request,
                                                   pb::SearchReply* reply) {
  auto caller = Admit(context, request->tenant(), kCaseworkers, "Search");
  if (!caller) return Refuse(context, caller.error());
  static const pb::Consistency kNone;
  return Serve(
      context, kNone, [this, request, reply, caller = *caller](const readmodel::ReadView&) {
        Status s = Into(reply, [&] { return engine_.Search(*request, VisibleTeams(caller)); });
        if (!s.ok()) return s;
        std::vector<std::string> parties;
        for (const auto& hit : reply->hits())
          if (!hit.party_id().empty() &&
              std::find(parties.begin(), parties.end(), hit.party_id()) == parties.end())
            parties.push_back(hit.party_id());
        return RecordReads(caller, request->tenant(), "Search", parties);
      });
}

grpc::ServerUnaryReactor* QueryGrpcService::GetKpis(grpc::CallbackServerContext* context,
                                                    const pb::GetKpisRequest* request,
                                                    pb::KpiReport* reply) {
  auto caller = Admit(context, request->tenant(), kFigures, "GetKpis");
  if (!caller) return Refuse(context, caller.error());
  return Serve(context, request->consistency(),
               [this, request, reply](const readmodel::ReadView& view) {
                 return Into(reply, [&] {
                   return engine_.GetKpis(view, *request, std::chrono::system_clock::now());
                 });
               });
}

grpc::ServerUnaryReactor* QueryGrpcService::SuggestDuplicates(
    grpc::CallbackServerContext* context, const pb::SuggestDuplicatesRequest* request,
    pb::DuplicateSuggestions* reply) {
  auto caller = Admit(context, request->tenant(), kCaseworkers, "SuggestDuplicates");
  if (!caller) return Refuse(context, caller.error());
  return Serve(context, request->consistency(),
               [this, request, reply](const readmodel::ReadView& view) {
                 return Into(reply, [&] { return engine_.SuggestDuplicates(view, *request); });
               });
}

grpc::ServerUnaryReactor* QueryGrpcService::GetAuditTrail(grpc::CallbackServerContext* context,
                                                          const pb::GetAuditTrailRequest* request,
                                                          pb::AuditTrail* reply) {
  // Only the privacy officer reads who read what.
  auto caller = Admit(context, request->tenant(), {Role::kAdmin}, "GetAuditTrail");
  if (!caller) return Refuse(context, caller.error());
  return Serve(
      context, request->consistency(),
      [this, request, reply, caller = *caller](const readmodel::ReadView& view) {
        Status s =
            Into(reply, [&] { return engine_.GetAuditTrail(view, *request, options_.audit); });
        if (!s.ok()) return s;
        return RecordReads(caller, request->tenant(), "GetAuditTrail", {request->party_id()});
      });
}

Status QueryGrpcService::RecordReads(const auth::Principal& caller, const std::string& tenant,
                                     std::string_view action,
                                     const std::vector<std::string>& parties) {
  if (options_.audit == nullptr) return Status::Ok();
  pb::AuditEntry entry;
  *entry.mutable_at() = google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(NowMicros());
  entry.set_kind(pb::AUDIT_KIND_READ);
  entry.mutable_actor()->set_kind(caller.Has(Role::kChannelAdapter) && !caller.Has(Role::kKcc)
                                      ? pb::ACTOR_KIND_ADAPTER
                                      : pb::ACTOR_KIND_EMPLOYEE);
  entry.mutable_actor()->set_id(caller.trusted_development ? "development (no authentication)"
                                                           : caller.subject);
  entry.set_action(std::string(action));
  entry.set_tenant(tenant);
  for (const std::string& party : parties) {
    entry.set_party_id(party);
    entry.set_subject_id(party);
    if (Status s = options_.audit->Record(entry); !s.ok())
      return Unavailable("the read could not be recorded in the audit log ({}); not answered",
                         s.message());
  }
  return Status::Ok();
}

grpc::ServerUnaryReactor* QueryGrpcService::GetTopTopics(grpc::CallbackServerContext* context,
                                                         const pb::GetTopTopicsRequest* request,
                                                         pb::TopTopics* reply) {
  auto caller = Admit(context, request->tenant(), kFigures, "GetTopTopics");
  if (!caller) return Refuse(context, caller.error());
  return Serve(context, request->consistency(),
               [this, request, reply](const readmodel::ReadView& view) {
                 return Into(reply, [&] {
                   return engine_.GetTopTopics(view, *request, std::chrono::system_clock::now());
                 });
               });
}

CatchUpLoop::CatchUpLoop(readmodel::ReadModelStore& store, std::chrono::milliseconds interval)
    : store_(store) {
  thread_ = std::thread([this, interval] {
    std::unique_lock lock(mutex_);
    while (!cv_.wait_for(lock, interval, [&] { return stopping_; })) {
      if (Status s = store_.CatchUp(); !s.ok()) log::Warn("query-service", "{}", s.ToString());
    }
  });
}

CatchUpLoop::~CatchUpLoop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

}  // namespace ks::query
