// The command side's pure domain logic: for every aggregate (party, interaction, callback
// request), `Decide(state, command) -> events | error` and `Evolve(state, event) -> state`.
// Values in, values out: no clock, no I/O, no threads; the command service supplies everything.
//
// Thread-safety: pure functions over values.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "klantstroom/v1/command_service.pb.h"
#include "klantstroom/v1/events.pb.h"
#include "ks/core/status.h"

namespace ks::domain {

namespace pb = ::klantstroom::v1;

struct PartyState {
  pb::PartyKind kind = pb::PARTY_KIND_UNSPECIFIED;
  pb::Channel preferred_channel = pb::CHANNEL_UNSPECIFIED;
  std::string display_name;
  std::vector<pb::PartyIdentifier> identifiers;
  std::vector<pb::DigitalAddress> digital_addresses;
  std::vector<std::string> labels;
  pb::PostalAddress residence;
  // Parties that act for this one (ContactPersonAdded), by party id.
  std::vector<std::string> contact_persons;
  // Merged into this party (a duplicate's history reads as that party's).
  std::string merged_into;
  // Its personal data was erased (and the fields above cleared); nothing personal is added again.
  bool erased = false;
};

struct InteractionState {
  std::string party_id;
  pb::Channel channel = pb::CHANNEL_UNSPECIFIED;
  // Identifications of the zaken it is linked to.
  std::vector<std::string> zaken;
};

struct ConversationState {
  std::string party_id;
  pb::ConversationStatus status = pb::CONVERSATION_STATUS_UNSPECIFIED;
};

struct AppointmentState {
  std::string party_id;
  pb::AppointmentStatus status = pb::APPOINTMENT_STATUS_UNSPECIFIED;
  pb::TimeWindow window;
  std::string place;
  std::vector<int32_t> reminder_minutes_before;
  pb::NotificationTarget notify_to;  // empty when the person cannot be reached
  std::string details_url;
  // The reminders the policy requested for the latest time (still to be sent, unless delivered):
  // cancelled when the time, the reminders or the appointment itself change.
  std::vector<std::string> reminder_notification_ids;
};

struct CallbackState {
  std::string party_id;
  pb::CallbackStatus status = pb::CALLBACK_STATUS_UNSPECIFIED;
  pb::CallbackTarget target;
  int attempts = 0;
};

struct MeldingState {
  std::string number;
  pb::MeldingStatus status = pb::MELDING_STATUS_UNSPECIFIED;
  std::string reporter_party_id;
  pb::DigitalAddress reporter_address;
  pb::Channel channel = pb::CHANNEL_UNSPECIFIED;
  std::vector<pb::MeldingLink> links;
  std::vector<std::string> contact_interaction_ids;
  pb::TimeWindow scheduled_window;
};

struct CategoryState {
  pb::MeldingCategoryDefined definition;
};

struct EmployeeState {
  pb::EmployeeAvailabilityChanged availability;
};

struct NotificationState {
  pb::NotificationRequested request;
  pb::NotificationStatus status = pb::NOTIFICATION_STATUS_UNSPECIFIED;
  int attempts = 0;
  int64_t lease_until_ms = 0;
  int64_t next_attempt_ms = 0;
  std::string adapter_id;  // who holds the current lease
};

// A state kept on the heap, with the value semantics of the state itself (copies copy it). The
// variant below is as large as its largest member, and the command service keeps one for every
// aggregate ever, most of them contacts (64 bytes of state): inline, each paid for the largest (a
// party's, 232 bytes; 288 in all). The large ones are boxed: 152 bytes in all, about 130 MB less
// for a million aggregates. A moved-from box is empty and may only be assigned to or destroyed.
template <typename T>
class Boxed {
 public:
  Boxed() : value_(std::make_unique<T>()) {}
  Boxed(T value) : value_(std::make_unique<T>(std::move(value))) {}  // NOLINT: implicit, as T itself
  Boxed(const Boxed& other) : value_(std::make_unique<T>(*other.value_)) {}
  Boxed(Boxed&&) noexcept = default;
  Boxed& operator=(const Boxed& other) {
    if (this != &other) value_ = std::make_unique<T>(*other.value_);
    return *this;
  }
  Boxed& operator=(Boxed&&) noexcept = default;

  T& get() { return *value_; }
  const T& get() const { return *value_; }

 private:
  std::unique_ptr<T> value_;
};

// The states kept boxed: the ones larger than a callback request's.
template <typename T>
inline constexpr bool kBoxedState = std::is_same_v<T, PartyState> || std::is_same_v<T, MeldingState> ||
                                    std::is_same_v<T, NotificationState> || std::is_same_v<T, AppointmentState>;
template <typename T>
using StateHolder = std::conditional_t<kBoxedState<T>, Boxed<T>, T>;

// The state of one aggregate, folded from its events. version 0 means it does not exist.
struct AggregateState {
  pb::AggregateType type = pb::AGGREGATE_TYPE_UNSPECIFIED;
  std::string tenant;
  int64_t version = 0;
  std::variant<std::monostate, StateHolder<PartyState>, StateHolder<InteractionState>, StateHolder<CallbackState>,
               StateHolder<MeldingState>, StateHolder<CategoryState>, StateHolder<EmployeeState>,
               StateHolder<NotificationState>, StateHolder<ConversationState>, StateHolder<AppointmentState>>
      data;

  bool exists() const { return version > 0; }

  // The state of its kind; throws std::bad_variant_access when it is of another kind.
  template <typename T>
  T& as() {
    if constexpr (kBoxedState<T>)
      return std::get<Boxed<T>>(data).get();
    else
      return std::get<T>(data);
  }
  template <typename T>
  const T& as() const {
    return const_cast<AggregateState*>(this)->as<T>();
  }
};

// What Decide may ask about other aggregates. The command service answers from its state.
class References {
 public:
  virtual ~References() = default;
  virtual bool PartyExists(std::string_view tenant, std::string_view party_id) const = 0;
  // Another aggregate's current state (version 0 when unknown), e.g. the reporter of a melding.
  virtual AggregateState StateOf(const std::string& aggregate_id) const = 0;
  virtual bool InteractionExists(std::string_view tenant, std::string_view interaction_id) const = 0;
  virtual bool MeldingExists(std::string_view tenant, std::string_view melding_id) const = 0;
  // The tenant's definition of a melding category, or nullopt when it has none by that code.
  virtual std::optional<pb::MeldingCategoryDefined> FindCategory(std::string_view tenant, std::string_view code) const = 0;
  // Whether the tenant's attachment store holds this content (uploaded before it is referred to).
  virtual bool AttachmentStored(std::string_view tenant, const pb::Attachment& attachment) const = 0;
  // A new melding number for the tenant ("M-2026-00042"); never the same one twice.
  virtual std::string AllocateMeldingNumber(std::string_view tenant, int year) = 0;
};

// Most attempts to deliver a notification before it gives up.
inline constexpr int kMaxNotificationAttempts = 5;

// The aggregate type a command acts on, and whether it creates the aggregate (or, for
// configuration such as categories and availability, creates or updates it).
pb::AggregateType TargetAggregateType(const pb::ExecuteRequest& request);
bool CreatesAggregate(const pb::ExecuteRequest& request);
bool UpsertsAggregate(const pb::ExecuteRequest& request);

// The id a command acts on: the request's; for a category or an employee, one derived from the
// tenant and its code; for a creating command without one, a stable id derived from the
// idempotency key (so a retry lands on the same aggregate), or else `fresh_id`.
std::string ResolveAggregateId(const pb::ExecuteRequest& request, std::string_view fresh_id);
std::string_view AggregateTypeName(pb::AggregateType type);

// Decides what the (already validated, see ValidateRequest) command means for the aggregate.
// On success: the new events' payloads (only the payload oneof of each envelope is set), possibly
// none when the command changes nothing (an address the party already has). On failure:
// NOT_FOUND (the aggregate or a referenced party does not exist in the tenant), ALREADY_EXISTS,
// FAILED_PRECONDITION (the state forbids it; the message names the state).
// REQUIRES: request.meta().occurred_at() is set (the command service fills in the time it
// received the command), so that due dates and backoffs are computed from the command, not a clock.
Result<std::vector<pb::EventEnvelope>> Decide(const AggregateState& state, const pb::ExecuteRequest& request,
                                              std::string_view aggregate_id, References& references);

// Applies one event of this aggregate. REQUIRES: event.aggregate_version() == state.version + 1
// (the caller skips events it has already applied), and its personal data opened when
// EvolveReadsPersonalData(event). Each case that keeps a personal field checks that its event is
// open (a sealed one stops the process rather than leave a party without its addresses).
AggregateState Evolve(AggregateState state, const pb::EventEnvelope& event);

// Whether Evolve reads a personal field of `event`: the state keeps a party's addresses and
// identifiers, a melding's reporter address, a notification's address and text, an appointment's
// place and whom to notify. Of contacts, callback requests and conversations it keeps only ids,
// channels and statuses, so their events may be applied as the log holds them, sealed: a command
// service starting on a long log then opens about a tenth of its events instead of all, and its
// state holds no personal data it does not use. Any other kind is opened (the safe default).
bool EvolveReadsPersonalData(const pb::EventEnvelope& event);

// Whose key seals the personal data of `event` (see libs/privacy): "party/<id>" for what belongs to
// a known party, otherwise the aggregate's own ("interaction/<id>", "melding/<id>",
// "notification/<id>"); empty for events that carry none (categories, employees). `state` is the
// aggregate's state before the event. The projector's rule for records (privacy::KeyIdOf) is the
// same: both put a contact under its party's key as soon as the party is known.
std::string PersonalDataKeyId(const AggregateState& state, const pb::EventEnvelope& event);
// The party whose key that is, or empty.
std::string_view PartyOfKeyId(std::string_view key_id);

// The kind of digital address a channel reaches a citizen at (CHANNEL_SMS -> PHONE).
pb::DigitalAddressKind AddressKindFor(pb::Channel channel);

// The aggregate type an event belongs to, from its payload.
pb::AggregateType AggregateTypeOfEvent(const pb::EventEnvelope& event);

}  // namespace ks::domain
