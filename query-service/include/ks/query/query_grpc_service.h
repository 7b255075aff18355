// The gRPC face of the query side, on the callback API. A call whose consistency requirement is
// already met is answered at once; otherwise it is parked (no gRPC thread is held) and a waiter
// thread answers it as soon as the read models get there, or with UNAVAILABLE at its deadline.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <list>
#include <mutex>
#include <thread>

#include "klantstroom/v1/query_service.grpc.pb.h"
#include "ks/auth/auth.h"
#include "ks/query/query_engine.h"

namespace ks::query {

struct QueryServiceOptions {
  // Longest a call waits for the read models to reach its min_positions (the call's own deadline
  // may be shorter). Default: 5 s.
  std::chrono::milliseconds max_consistency_wait{5000};
  // How often parked calls are retried. Default: 5 ms.
  std::chrono::milliseconds retry_interval{5};
  // Where reads of personal data are recorded (must outlive the service). Null: nowhere (tests of
  // other things); the programs always give one.
  AuditLog* audit = nullptr;
};

class QueryGrpcService final : public pb::QueryService::CallbackService {
 public:
  // `engine` and `authenticator` must outlive the service.
  QueryGrpcService(QueryEngine& engine, const auth::Authenticator& authenticator, QueryServiceOptions options = {});
  ~QueryGrpcService() override;

  grpc::ServerUnaryReactor* GetCustomerView(grpc::CallbackServerContext* context, const pb::GetCustomerViewRequest* request,
                                            pb::CustomerView* reply) override;
  grpc::ServerUnaryReactor* LookupParties(grpc::CallbackServerContext* context, const pb::LookupPartiesRequest* request,
                                          pb::LookupPartiesReply* reply) override;
  grpc::ServerUnaryReactor* GetCallbackQueue(grpc::CallbackServerContext* context,
                                             const pb::GetCallbackQueueRequest* request, pb::CallbackQueue* reply) override;
  grpc::ServerUnaryReactor* GetProgress(grpc::CallbackServerContext* context, const pb::GetProgressRequest* request,
                                        pb::Progress* reply) override;
  grpc::ServerUnaryReactor* ListMeldingen(grpc::CallbackServerContext* context, const pb::ListMeldingenRequest* request,
                                          pb::MeldingList* reply) override;
  grpc::ServerUnaryReactor* GetMelding(grpc::CallbackServerContext* context, const pb::GetMeldingRequest* request,
                                       pb::MeldingDetail* reply) override;
  grpc::ServerUnaryReactor* GetPublicMeldingStatus(grpc::CallbackServerContext* context,
                                                   const pb::GetPublicMeldingStatusRequest* request,
                                                   pb::PublicMeldingStatus* reply) override;
  grpc::ServerUnaryReactor* GetAttachment(grpc::CallbackServerContext* context, const pb::GetAttachmentRequest* request,
                                          pb::AttachmentContent* reply) override;
  grpc::ServerUnaryReactor* Search(grpc::CallbackServerContext* context, const pb::SearchRequest* request,
                                   pb::SearchReply* reply) override;
  grpc::ServerUnaryReactor* GetKpis(grpc::CallbackServerContext* context, const pb::GetKpisRequest* request,
                                    pb::KpiReport* reply) override;
  grpc::ServerUnaryReactor* GetTopTopics(grpc::CallbackServerContext* context, const pb::GetTopTopicsRequest* request,
                                         pb::TopTopics* reply) override;
  grpc::ServerUnaryReactor* SuggestDuplicates(grpc::CallbackServerContext* context,
                                              const pb::SuggestDuplicatesRequest* request,
                                              pb::DuplicateSuggestions* reply) override;
  grpc::ServerUnaryReactor* GetAuditTrail(grpc::CallbackServerContext* context, const pb::GetAuditTrailRequest* request,
                                          pb::AuditTrail* reply) override;
  grpc::ServerUnaryReactor* GetConversation(grpc::CallbackServerContext* context,
                                            const pb::GetConversationRequest* request,
                                            pb::ConversationView* reply) override;
  grpc::ServerUnaryReactor* ListHandovers(grpc::CallbackServerContext* context, const pb::ListHandoversRequest* request,
                                          pb::HandoverList* reply) override;
  grpc::ServerUnaryReactor* ListZaakContacts(grpc::CallbackServerContext* context,
                                             const pb::ListZaakContactsRequest* request, pb::ZaakContacts* reply) override;
  grpc::ServerUnaryReactor* GetAppointment(grpc::CallbackServerContext* context, const pb::GetAppointmentRequest* request,
                                           pb::AppointmentDetail* reply) override;

 private:
  // Records that `caller` read the data of `parties` through `action`; an answer whose read cannot
  // be recorded is not given (UNAVAILABLE).
  Status RecordReads(const auth::Principal& caller, const std::string& tenant, std::string_view action,
                     const std::vector<std::string>& parties);
  using Answer = std::function<Status(const readmodel::ReadView&)>;
  struct Parked {
    const pb::Consistency* consistency;
    Answer answer;
    grpc::ServerUnaryReactor* reactor;
    std::chrono::steady_clock::time_point deadline;
  };

  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context, const pb::Consistency& consistency, Answer answer);
  // The caller, when it may make the call `what` for `tenant` in one of `roles`;
  // UNAUTHENTICATED or PERMISSION_DENIED otherwise.
  Result<auth::Principal> Admit(grpc::CallbackServerContext* context, const std::string& tenant,
                                std::initializer_list<auth::Role> roles, std::string_view what);
  // Answers `parked` if its view is available; returns false when it must keep waiting.
  bool TryAnswer(Parked& parked);
  // One round of the waiter: reads the progress once and answers every call in `batch` that it
  // reflects (from one view) or whose deadline has passed; the rest stay in `batch`.
  void AnswerReady(std::list<Parked>& batch);
  void WaiterLoop();

  QueryEngine& engine_;
  const auth::Authenticator& authenticator_;
  const QueryServiceOptions options_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::list<Parked> parked_;
  bool stopping_ = false;
  std::thread waiter_;
};

// Keeps a secondary store caught up with the projector in another process: CatchUp() every
// `interval` on its own thread, until destroyed.
class CatchUpLoop {
 public:
  CatchUpLoop(readmodel::ReadModelStore& store, std::chrono::milliseconds interval);
  ~CatchUpLoop();

 private:
  // Records that `caller` read the data of `parties` through `action`; an answer whose read cannot
  // be recorded is not given (UNAVAILABLE).
  Status RecordReads(const auth::Principal& caller, const std::string& tenant, std::string_view action,
                     const std::vector<std::string>& parties);
  readmodel::ReadModelStore& store_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ks::query
