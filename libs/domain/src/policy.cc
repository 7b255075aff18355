#include "ks/domain/policy.h"

#include <algorithm>
#include <ctime>

#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>

#include "ks/core/ids.h"
#include "ks/domain/melding_rules.h"

namespace ks::domain {
namespace {

using google::protobuf::util::TimeUtil;

pb::ExecuteRequest SystemCommand(const pb::EventEnvelope& cause, const std::string& key) {
  pb::ExecuteRequest r;
  auto* meta = r.mutable_meta();
  meta->set_tenant(cause.tenant());
  meta->mutable_actor()->set_kind(pb::ACTOR_KIND_SYSTEM);
  meta->mutable_actor()->set_id("policy");
  meta->mutable_actor()->set_display_name("Klantstroom (automatisch)");
  meta->set_channel(pb::CHANNEL_INTERNAL);
  meta->set_idempotency_key(key);
  meta->set_correlation_id(cause.correlation_id());
  // The reaction happens "when" its cause did: replays give the very same command.
  *meta->mutable_occurred_at() = cause.occurred_at();
  return r;
}

// Last Sunday of `month` (3 or 10) in `year`, 01:00 UTC: when EU summer time starts or ends.
int64_t EuSwitchSeconds(int year, int month) {
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month;  // the first of the next month
  tm.tm_mday = 1;
  tm.tm_hour = 1;
  int64_t t = timegm(&tm);
  do {
    t -= 24 * 3600;
    const std::time_t tt = t;
    gmtime_r(&tt, &tm);
  } while (tm.tm_wday != 0);
  return t;
}

std::tm AmsterdamTime(int64_t utc_seconds) {
  std::tm tm{};
  std::time_t t = utc_seconds;
  gmtime_r(&t, &tm);
  const int year = tm.tm_year + 1900;
  const bool summer = utc_seconds >= EuSwitchSeconds(year, 3) && utc_seconds < EuSwitchSeconds(year, 10);
  t = utc_seconds + (summer ? 7200 : 3600);
  gmtime_r(&t, &tm);
  return tm;
}

std::string DefaultText(pb::MeldingStatus status, const std::string& number) {
  switch (status) {
    case pb::MELDING_STATUS_IN_PROGRESS: return fmt::format("Uw melding {} is in behandeling.", number);
    case pb::MELDING_STATUS_SCHEDULED: return fmt::format("Het werk voor uw melding {} is ingepland.", number);
    case pb::MELDING_STATUS_ON_HOLD: return fmt::format("Uw melding {} staat tijdelijk stil.", number);
    case pb::MELDING_STATUS_RESOLVED: return fmt::format("Uw melding {} is afgehandeld. Dank voor uw melding!", number);
    case pb::MELDING_STATUS_REOPENED: return fmt::format("Uw melding {} is heropend.", number);
    case pb::MELDING_STATUS_CANCELLED: return fmt::format("Uw melding {} is geannuleerd.", number);
    default: return fmt::format("Er is nieuws over uw melding {}.", number);
  }
}

// A notification about `cause`'s aggregate, requested once per `key`.
pb::ExecuteRequest Notify(const pb::EventEnvelope& cause, const std::string& key, const pb::NotificationTarget& to,
                          const std::string& number, std::string text,
                          const google::protobuf::RepeatedPtrField<pb::Attachment>& attachments) {
  pb::ExecuteRequest r = SystemCommand(cause, key);
  auto* c = r.mutable_request_notification();
  c->set_party_id(to.party_id());
  c->set_channel(to.channel());
  *c->mutable_address() = to.address();
  c->set_text(std::move(text));
  *c->mutable_attachments() = attachments;
  c->set_source_event_id(cause.event_id());
  c->set_subject_id(cause.aggregate_id());
  c->set_subject_number(number);
  return r;
}

pb::NotificationTarget Target(const std::string& party_id, pb::Channel channel, const pb::DigitalAddress& address) {
  pb::NotificationTarget t;
  t.set_party_id(party_id);
  t.set_channel(channel);
  *t.mutable_address() = address;
  return t;
}

pb::MeldingLinkKind Inverse(pb::MeldingLinkKind kind) {
  switch (kind) {
    case pb::MELDING_LINK_KIND_PARENT_OF: return pb::MELDING_LINK_KIND_CHILD_OF;
    case pb::MELDING_LINK_KIND_CHILD_OF: return pb::MELDING_LINK_KIND_PARENT_OF;
    default: return kind;
  }
}

// "Uw afspraak ..." messages carry the time and the link, nothing else: e-mail is not a safe
// channel (seed 003), and the details live where the link points.
std::string WithLink(std::string text, const std::string& url) {
  if (!url.empty()) text += " Bekijk of wijzig uw afspraak: " + url;
  return text;
}

pb::ExecuteRequest AppointmentMessage(const pb::EventEnvelope& cause, const std::string& key,
                                      const pb::NotificationTarget& to, std::string text) {
  return Notify(cause, key, to, /*number=*/"", std::move(text), {});
}

void CancelReminders(const pb::EventEnvelope& cause, const google::protobuf::RepeatedPtrField<std::string>& ids,
                     std::vector<pb::ExecuteRequest>& out) {
  for (const std::string& id : ids) {
    pb::ExecuteRequest r = SystemCommand(cause, "policy/cancel-reminder/" + cause.event_id() + "/" + id);
    r.set_aggregate_id(id);
    r.mutable_cancel_notification()->set_reason("de afspraak is gewijzigd");
    out.push_back(std::move(r));
  }
}

void RequestReminders(const pb::EventEnvelope& cause, const pb::NotificationTarget& to, const pb::TimeWindow& window,
                      const std::string& url, std::vector<pb::ExecuteRequest>& out) {
  for (const PlannedReminder& reminder : PlannedReminders(cause)) {
    pb::ExecuteRequest r = AppointmentMessage(
        cause, reminder.idempotency_key, to,
        WithLink(fmt::format("Herinnering: u heeft een afspraak op {}.", FormatWindowNl(window)), url));
    r.set_aggregate_id(reminder.notification_id);
    *r.mutable_request_notification()->mutable_send_at() = TimeUtil::MillisecondsToTimestamp(reminder.send_at_ms);
    out.push_back(std::move(r));
  }
}

}  // namespace

pb::Channel ChannelFor(pb::DigitalAddressKind kind) {
  switch (kind) {
    case pb::DIGITAL_ADDRESS_KIND_WHATSAPP: return pb::CHANNEL_WHATSAPP;
    case pb::DIGITAL_ADDRESS_KIND_PHONE: return pb::CHANNEL_SMS;
    case pb::DIGITAL_ADDRESS_KIND_EMAIL: return pb::CHANNEL_EMAIL;
    case pb::DIGITAL_ADDRESS_KIND_TWITTER: return pb::CHANNEL_TWITTER;
    case pb::DIGITAL_ADDRESS_KIND_FACEBOOK: return pb::CHANNEL_FACEBOOK;
    default: return pb::CHANNEL_UNSPECIFIED;
  }
}

std::optional<pb::NotificationTarget> PartyRecipient(const std::string& party_id, const PartyState& party,
                                                     pb::Channel wanted) {
  if (wanted != pb::CHANNEL_UNSPECIFIED) {
    const pb::DigitalAddressKind kind = AddressKindFor(wanted);
    const pb::DigitalAddress* best = nullptr;
    auto rank = [](const pb::DigitalAddress& a) { return a.safe() ? 2 : a.preferred() ? 1 : 0; };
    for (const auto& a : party.digital_addresses)
      if (a.kind() == kind && (best == nullptr || rank(a) > rank(*best))) best = &a;
    if (best == nullptr) return std::nullopt;
    return Target(party_id, wanted, *best);
  }
  // A safe alternative address wins over every other: someone else may read those (seed 003).
  // One on the preferred channel first, else any safe one that can carry a notification.
  const pb::DigitalAddress* safe = nullptr;
  for (const auto& a : party.digital_addresses) {
    if (!a.safe() || ChannelFor(a.kind()) == pb::CHANNEL_UNSPECIFIED) continue;
    if (safe == nullptr ||
        (party.preferred_channel != pb::CHANNEL_UNSPECIFIED && a.kind() == AddressKindFor(party.preferred_channel)))
      safe = &a;
  }
  if (safe != nullptr) {
    const bool on_preferred = party.preferred_channel != pb::CHANNEL_UNSPECIFIED &&
                              safe->kind() == AddressKindFor(party.preferred_channel);
    return Target(party_id, on_preferred ? party.preferred_channel : ChannelFor(safe->kind()), *safe);
  }
  if (party.preferred_channel != pb::CHANNEL_UNSPECIFIED) {
    const pb::DigitalAddressKind kind = AddressKindFor(party.preferred_channel);
    const pb::DigitalAddress* best = nullptr;
    for (const auto& a : party.digital_addresses)
      if (a.kind() == kind && (best == nullptr || (a.preferred() && !best->preferred()))) best = &a;
    if (best != nullptr) return Target(party_id, party.preferred_channel, *best);
  }
  return std::nullopt;
}

std::vector<PlannedReminder> PlannedReminders(const pb::EventEnvelope& event) {
  const pb::TimeWindow* window = nullptr;
  const google::protobuf::RepeatedField<int32_t>* minutes = nullptr;
  const pb::NotificationTarget* to = nullptr;
  if (event.has_appointment_scheduled()) {
    window = &event.appointment_scheduled().window();
    minutes = &event.appointment_scheduled().reminder_minutes_before();
    to = &event.appointment_scheduled().notify_to();
  } else if (event.has_appointment_rescheduled()) {
    window = &event.appointment_rescheduled().window();
    minutes = &event.appointment_rescheduled().reminder_minutes_before();
    to = &event.appointment_rescheduled().notify_to();
  } else if (event.has_appointment_reminders_set()) {
    window = &event.appointment_reminders_set().window();
    minutes = &event.appointment_reminders_set().reminder_minutes_before();
    to = &event.appointment_reminders_set().notify_to();
  } else {
    return {};
  }
  std::vector<PlannedReminder> out;
  if (to->channel() == pb::CHANNEL_UNSPECIFIED) return out;
  const int64_t now_ms = TimeUtil::TimestampToMilliseconds(event.occurred_at());
  const int64_t start_ms = TimeUtil::TimestampToMilliseconds(window->start());
  for (int32_t m : *minutes) {
    PlannedReminder reminder;
    reminder.minutes_before = m;
    reminder.send_at_ms = start_ms - int64_t{m} * 60 * 1000;
    if (reminder.send_at_ms <= now_ms) continue;  // too late for this one
    reminder.idempotency_key = fmt::format("policy/appointment-reminder/{}/{}", event.event_id(), m);
    // The id RequestNotification gets from its idempotency key (ResolveAggregateId).
    reminder.notification_id =
        StableIdFor(event.tenant() + "/" + std::string(AggregateTypeName(pb::AGGREGATE_TYPE_NOTIFICATION)),
                    reminder.idempotency_key);
    out.push_back(std::move(reminder));
  }
  return out;
}

std::vector<pb::ExecuteRequest> ConversationTurnsRule::Observe(const pb::EventEnvelope& event) {
  auto link = [&](const std::string& interaction_id, const std::string& party_id) {
    pb::ExecuteRequest r = SystemCommand(event, "policy/link-turn/" + interaction_id);
    r.set_aggregate_id(interaction_id);
    r.mutable_link_interaction_to_party()->set_party_id(party_id);
    return r;
  };
  std::vector<pb::ExecuteRequest> out;
  if (event.has_interaction_registered()) {
    const auto& turn = event.interaction_registered();
    if (!turn.party_id().empty() || turn.conversation_id().empty()) return out;
    const std::string conversation = event.tenant() + "/" + turn.conversation_id();
    if (auto known = party_of_.find(conversation); known != party_of_.end()) {
      out.push_back(link(event.aggregate_id(), known->second));
      return out;
    }
    auto [it, added] = unlinked_turns_.try_emplace(conversation);
    if (added) {
      it->second.generation = next_generation_++;
      unlinked_order_.emplace_back(conversation, it->second.generation);
    }
    if (it->second.turns.size() < 1000) it->second.turns.push_back(event.aggregate_id());
    // The oldest go first; entries of conversations linked since are stale and just dropped.
    while (unlinked_turns_.size() > kMaxRemembered || unlinked_order_.size() > 2 * kMaxRemembered) {
      const auto& [oldest, generation] = unlinked_order_.front();
      if (auto stale = unlinked_turns_.find(oldest); stale != unlinked_turns_.end() && stale->second.generation == generation)
        unlinked_turns_.erase(stale);
      unlinked_order_.pop_front();
    }
    return out;
  }
  std::string party;
  if (event.has_conversation_linked_to_party()) party = event.conversation_linked_to_party().party_id();
  if (event.has_conversation_started()) party = event.conversation_started().party_id();
  if (party.empty()) return out;
  const std::string conversation = event.tenant() + "/" + event.aggregate_id();
  Remember(conversation, party);
  if (auto it = unlinked_turns_.find(conversation); it != unlinked_turns_.end()) {
    for (const std::string& turn : it->second.turns) out.push_back(link(turn, party));
    unlinked_turns_.erase(it);  // its entry in unlinked_order_ is stale now
  }
  return out;
}

void ConversationTurnsRule::Remember(const std::string& conversation, const std::string& party) {
  if (party_of_.insert_or_assign(conversation, party).second) party_order_.push_back(conversation);
  while (party_order_.size() > kMaxRemembered) {
    party_of_.erase(party_order_.front());
    party_order_.pop_front();
  }
}

std::vector<pb::ExecuteRequest> MergedErasureRule::Observe(const pb::EventEnvelope& event) {
  auto erase = [&](const std::string& duplicate) {
    pb::ExecuteRequest r = SystemCommand(event, "policy/erase-merged/" + duplicate);
    r.set_aggregate_id(duplicate);
    r.mutable_erase_party_data()->set_reason("erased with the party it was merged into");
    return r;
  };
  std::vector<pb::ExecuteRequest> out;
  if (event.has_party_merged()) {
    const std::string target = event.tenant() + "/" + event.party_merged().into_party_id();
    merged_into_[target].push_back(event.aggregate_id());
    if (erased_.contains(target)) out.push_back(erase(event.aggregate_id()));
  } else if (event.has_party_erased()) {
    const std::string target = event.tenant() + "/" + event.aggregate_id();
    erased_.insert(target);
    for (const std::string& duplicate : merged_into_[target]) out.push_back(erase(duplicate));
  }
  return out;
}

std::optional<pb::ExecuteRequest> FrequentContactRule::Observe(const pb::EventEnvelope& event,
                                                               const StateLookup& lookup) {
  if (!event.has_interaction_registered()) return std::nullopt;
  const auto& contact = event.interaction_registered();
  if (contact.party_id().empty() || contact.direction() != pb::DIRECTION_INBOUND ||
      contact.channel() == pb::CHANNEL_INTERNAL)
    return std::nullopt;
  const std::string party = event.tenant() + "/" + contact.party_id();
  if (labelled_.contains(party)) return std::nullopt;
  const int64_t at = event.occurred_at().seconds() * 1000 + event.occurred_at().nanos() / 1'000'000;
  // Partitions interleave, so contacts may come out of time order: all of the party's contact
  // times are kept, sorted, until it is labelled; then only the windows that hold the new one
  // can have changed.
  std::deque<int64_t>& times = recent_[party];
  const auto pos = static_cast<size_t>(std::upper_bound(times.begin(), times.end(), at) - times.begin());
  times.insert(times.begin() + static_cast<std::ptrdiff_t>(pos), at);
  constexpr size_t kN = kFrequentContacts;
  // Bounded memory: only the latest contacts can still complete a window with one arriving late
  // (partitions lag by seconds, not by dozens of a party's contacts).
  constexpr size_t kKept = 8 * kN;
  size_t index = pos;  // of the contact just added
  if (times.size() > kKept) {
    times.pop_front();
    if (index == 0) return std::nullopt;  // it was the oldest, and is gone again
    --index;
  }
  constexpr int64_t kWindowMs = int64_t{kFrequentContactDays} * 24 * 3600 * 1000;
  std::optional<int64_t> since_ms;  // the end of the earliest window of kN contacts within the days
  for (size_t end = std::max(index, kN - 1); end < times.size() && end < index + kN && !since_ms; ++end)
    if (times[end] - times[end + 1 - kN] <= kWindowMs) since_ms = times[end];
  if (!since_ms) return std::nullopt;
  labelled_.insert(party);
  recent_.erase(party);
  const AggregateState state = lookup.StateOf(contact.party_id());
  if (state.exists() && state.tenant == event.tenant() && state.type == pb::AGGREGATE_TYPE_PARTY) {
    const std::vector<std::string>& labels = state.as<PartyState>().labels;
    if (std::find(labels.begin(), labels.end(), kFrequentContactLabel) != labels.end()) return std::nullopt;
  }
  pb::ExecuteRequest r = SystemCommand(event, "policy/frequent-contact/" + contact.party_id());
  *r.mutable_meta()->mutable_occurred_at() = google::protobuf::util::TimeUtil::MillisecondsToTimestamp(*since_ms);
  r.set_aggregate_id(contact.party_id());
  r.mutable_add_party_label()->set_label(kFrequentContactLabel);
  r.mutable_add_party_label()->set_automatic(true);
  return r;
}

std::optional<pb::NotificationTarget> RecipientFor(const MeldingState& melding, const AggregateState& reporter) {
  if (reporter.exists() && reporter.type == pb::AGGREGATE_TYPE_PARTY)
    if (auto to = PartyRecipient(melding.reporter_party_id, reporter.as<PartyState>(), pb::CHANNEL_UNSPECIFIED))
      return to;
  if (!melding.reporter_address.value().empty()) {
    const pb::DigitalAddressKind kind = melding.reporter_address.kind();
    const pb::Channel channel = AddressKindFor(melding.channel) == kind ? melding.channel : ChannelFor(kind);
    if (channel != pb::CHANNEL_UNSPECIFIED) return Target(melding.reporter_party_id, channel, melding.reporter_address);
  }
  if (reporter.exists() && reporter.type == pb::AGGREGATE_TYPE_PARTY) {
    for (const auto& a : reporter.as<PartyState>().digital_addresses)
      if (a.preferred() && ChannelFor(a.kind()) != pb::CHANNEL_UNSPECIFIED)
        return Target(melding.reporter_party_id, ChannelFor(a.kind()), a);
  }
  return std::nullopt;
}

std::string FormatWindowNl(const pb::TimeWindow& window) {
  static constexpr const char* kDays[] = {"zo", "ma", "di", "wo", "do", "vr", "za"};
  static constexpr const char* kMonths[] = {"jan", "feb", "mrt", "apr", "mei", "jun",
                                            "jul", "aug", "sep", "okt", "nov", "dec"};
  const std::tm start = AmsterdamTime(window.start().seconds());
  const std::tm end = AmsterdamTime(window.end().seconds());
  return fmt::format("{} {} {} {:02}:{:02}-{:02}:{:02}", kDays[start.tm_wday], start.tm_mday, kMonths[start.tm_mon],
                     start.tm_hour, start.tm_min, end.tm_hour, end.tm_min);
}

bool ReactsTo(const pb::EventEnvelope& event) {
  switch (event.payload_case()) {
    case pb::EventEnvelope::kMeldingRegistered:
    case pb::EventEnvelope::kMeldingStatusChanged:
    case pb::EventEnvelope::kAppointmentScheduled:
    case pb::EventEnvelope::kAppointmentRescheduled:
    case pb::EventEnvelope::kAppointmentRemindersSet:
    case pb::EventEnvelope::kAppointmentCancelled:
    case pb::EventEnvelope::kAppointmentOutcomeRecorded:
    case pb::EventEnvelope::kMeldingLinked:
      return true;
    default:
      return false;
  }
}

std::vector<pb::ExecuteRequest> ReactTo(const pb::EventEnvelope& event, const StateLookup& lookup) {
  std::vector<pb::ExecuteRequest> out;
  // The list above is the one the runner opens events by: a kind reacted to below but missing
  // there would be looked at without its personal data, so it is refused here too.
  if (!ReactsTo(event)) return out;
  switch (event.payload_case()) {
    case pb::EventEnvelope::kMeldingRegistered: {
      const auto& ev = event.melding_registered();
      if (ev.has_acknowledge_to())
        out.push_back(Notify(event, "policy/notify/" + event.event_id(), ev.acknowledge_to(), ev.number(),
                             fmt::format("Bedankt voor uw melding. Uw meldingnummer is {}. U hoort van ons als er iets "
                                         "verandert.",
                                         ev.number()),
                             {}));
      break;
    }
    case pb::EventEnvelope::kMeldingStatusChanged: {
      const auto& ev = event.melding_status_changed();
      if (!ev.has_notify_to() && ev.children_to_close().empty()) break;
      // The number is the only thing read from the state: it never changes.
      const AggregateState state = lookup.StateOf(event.aggregate_id());
      const std::string number =
          state.type == pb::AGGREGATE_TYPE_MELDING ? state.as<MeldingState>().number : std::string();
      if (ev.has_notify_to()) {
        std::string text = ev.public_message().empty() ? DefaultText(ev.to(), number) : ev.public_message();
        if (ev.to() == pb::MELDING_STATUS_SCHEDULED && ev.has_scheduled_window())
          text += fmt::format(" (melding {}, gepland: {})", number, FormatWindowNl(ev.scheduled_window()));
        else if (!ev.public_message().empty())
          text += fmt::format(" (melding {})", number);
        out.push_back(Notify(event, "policy/notify/" + event.event_id(), ev.notify_to(), number, std::move(text),
                             ev.attachments()));
      }
      for (const std::string& child : ev.children_to_close()) {
        pb::ExecuteRequest r = SystemCommand(event, "policy/close-child/" + event.event_id() + "/" + child);
        r.set_aggregate_id(child);
        auto* c = r.mutable_change_melding_status();
        c->set_to(pb::MELDING_STATUS_RESOLVED);
        c->set_reason(fmt::format("Hoofdmelding {} is afgehandeld.", number));
        c->set_notify_citizen(true);
        c->set_public_message(ev.public_message().empty()
                                  ? fmt::format("Het probleem is opgelost (samen met melding {}).", number)
                                  : ev.public_message());
        *c->mutable_attachments() = ev.attachments();
        out.push_back(std::move(r));
      }
      break;
    }
    case pb::EventEnvelope::kAppointmentScheduled: {
      const auto& ev = event.appointment_scheduled();
      if (ev.notify_to().channel() == pb::CHANNEL_UNSPECIFIED) break;
      out.push_back(AppointmentMessage(
          event, "policy/appointment-confirmation/" + event.event_id(), ev.notify_to(),
          WithLink(fmt::format("Uw afspraak is gepland op {}.", FormatWindowNl(ev.window())), ev.details_url())));
      RequestReminders(event, ev.notify_to(), ev.window(), ev.details_url(), out);
      break;
    }
    case pb::EventEnvelope::kAppointmentRescheduled: {
      const auto& ev = event.appointment_rescheduled();
      CancelReminders(event, ev.superseded_notification_ids(), out);
      if (ev.notify_to().channel() == pb::CHANNEL_UNSPECIFIED) break;
      // The link never changes: the only thing read from the state, like a melding's number.
      const AggregateState state = lookup.StateOf(event.aggregate_id());
      const std::string url =
          state.type == pb::AGGREGATE_TYPE_APPOINTMENT ? state.as<AppointmentState>().details_url : "";
      out.push_back(AppointmentMessage(
          event, "policy/appointment-confirmation/" + event.event_id(), ev.notify_to(),
          WithLink(fmt::format("Uw afspraak is verplaatst naar {}.", FormatWindowNl(ev.window())), url)));
      RequestReminders(event, ev.notify_to(), ev.window(), url, out);
      break;
    }
    case pb::EventEnvelope::kAppointmentRemindersSet: {
      const auto& ev = event.appointment_reminders_set();
      CancelReminders(event, ev.superseded_notification_ids(), out);
      const AggregateState state = lookup.StateOf(event.aggregate_id());
      const std::string url =
          state.type == pb::AGGREGATE_TYPE_APPOINTMENT ? state.as<AppointmentState>().details_url : "";
      RequestReminders(event, ev.notify_to(), ev.window(), url, out);
      break;
    }
    case pb::EventEnvelope::kAppointmentCancelled: {
      const auto& ev = event.appointment_cancelled();
      CancelReminders(event, ev.superseded_notification_ids(), out);
      if (ev.notify_to().channel() != pb::CHANNEL_UNSPECIFIED)
        out.push_back(AppointmentMessage(event, "policy/appointment-confirmation/" + event.event_id(), ev.notify_to(),
                                         fmt::format("Uw afspraak op {} is geannuleerd.", FormatWindowNl(ev.window()))));
      break;
    }
    case pb::EventEnvelope::kAppointmentOutcomeRecorded:
      CancelReminders(event, event.appointment_outcome_recorded().superseded_notification_ids(), out);
      break;
    case pb::EventEnvelope::kMeldingLinked: {
      const auto& ev = event.melding_linked();
      pb::ExecuteRequest r = SystemCommand(event, "policy/link-back/" + event.event_id());
      r.set_aggregate_id(ev.other_melding_id());
      r.mutable_link_melding()->set_other_melding_id(event.aggregate_id());
      r.mutable_link_melding()->set_kind(Inverse(ev.kind()));
      out.push_back(std::move(r));
      break;
    }
    default:
      break;
  }
  return out;
}

}  // namespace ks::domain
