#include "src/workload.h"

#include <fmt/format.h>

#include <random>

namespace ks::bench {
namespace {

constexpr const char* kTenants[] = {"gemeente-ede", "gemeente-zaanstad", "gemeente-tilburg",
                                    "gemeente-almere"};
constexpr pb::Channel kChannels[] = {pb::CHANNEL_PHONE, pb::CHANNEL_WHATSAPP, pb::CHANNEL_EMAIL,
                                     pb::CHANNEL_CHAT,  pb::CHANNEL_WEB_FORM, pb::CHANNEL_TWITTER};
constexpr const char* kTopics[] = {"afvalinzameling", "parkeervergunning", "verhuizing",
                                   "paspoort",        "windmolenpark",     "bijstand",
                                   "gat in de weg",   "kapvergunning"};

pb::ExecuteRequest Base(const std::string& tenant, const std::string& key) {
  pb::ExecuteRequest r;
  r.mutable_meta()->set_tenant(tenant);
  r.mutable_meta()->mutable_actor()->set_kind(pb::ACTOR_KIND_ADAPTER);
  r.mutable_meta()->mutable_actor()->set_id("bench-adapter");
  r.mutable_meta()->set_idempotency_key(key);
  return r;
}

std::string Text(std::mt19937& rng, const char* topic) {
  // Real messages run from a line to a few paragraphs: 80 to 600 bytes.
  std::string text = fmt::format("Vraag over {}: ", topic);
  const size_t length = 80 + rng() % 520;
  while (text.size() < length)
    text += "ik heb een vraag over de afhandeling en wil graag weten hoe het zit. ";
  text.resize(length);
  return text;
}

}  // namespace

Workload MakeWorkload(size_t parties, size_t commands, uint32_t seed) {
  std::mt19937 rng(seed);
  Workload w;
  std::vector<std::pair<std::string, std::string>> ids;  // tenant, party id
  for (size_t i = 0; i < parties; ++i) {
    const std::string tenant = kTenants[i % 4];
    const std::string id = fmt::format("bench-party-{}-{}", seed, i);
    pb::ExecuteRequest r = Base(tenant, "");
    r.set_aggregate_id(id);
    auto* c = r.mutable_register_party();
    c->set_kind(pb::PARTY_KIND_PERSON);
    c->set_display_name(fmt::format("Inwoner {}", i));
    auto* phone = c->add_digital_addresses();
    phone->set_kind(pb::DIGITAL_ADDRESS_KIND_PHONE);
    phone->set_value(fmt::format("06{:08}", i));
    auto* mail = c->add_digital_addresses();
    mail->set_kind(pb::DIGITAL_ADDRESS_KIND_EMAIL);
    mail->set_value(fmt::format("inwoner{}@example.nl", i));
    w.parties.push_back(std::move(r));
    ids.emplace_back(tenant, id);
  }
  for (size_t i = 0; i < commands; ++i) {
    // A few parties have long histories: a skewed pick.
    const size_t pick =
        (rng() % 10 < 3) ? rng() % std::max<size_t>(1, parties / 50) : rng() % parties;
    const auto& [tenant, party] = ids[pick];
    const char* topic = kTopics[rng() % 8];
    pb::ExecuteRequest r = Base(tenant, fmt::format("bench-{}-{}", seed, i));
    if (rng() % 10 == 0) {
      auto* c = r.mutable_request_callback();
      c->set_party_id(party);
      c->set_subject(fmt::format("Terugbellen over {}", topic));
      c->set_context(Text(rng, topic));
      c->set_urgency(static_cast<pb::Urgency>(1 + rng() % 4));
      c->mutable_target()->set_department("kcc-tweedelijn");
      c->mutable_target()->set_employee_id(fmt::format("mdw-{}", rng() % 20));
      c->mutable_due_at()->set_seconds(1'800'000'000 + static_cast<int64_t>(rng() % 1'000'000));
    } else {
      r.mutable_meta()->mutable_occurred_at()->set_seconds(1'794'815'220 + static_cast<int64_t>(i));
      auto* c = r.mutable_register_interaction();
      c->set_party_id(party);
      c->set_channel(kChannels[rng() % 6]);
      c->set_direction(rng() % 3 == 0 ? pb::DIRECTION_OUTBOUND : pb::DIRECTION_INBOUND);
      c->add_topics(topic);
      c->set_text(Text(rng, topic));
    }
    w.commands.push_back(std::move(r));
  }
  return w;
}

std::vector<pb::ExecuteRequest> BusyParty(const std::string& party_id, size_t contacts) {
  std::mt19937 rng(7);
  std::vector<pb::ExecuteRequest> out;
  pb::ExecuteRequest party = Base("gemeente-ede", "");
  party.set_aggregate_id(party_id);
  party.mutable_register_party()->set_kind(pb::PARTY_KIND_PERSON);
  party.mutable_register_party()->set_display_name("Veelbeller");
  out.push_back(std::move(party));
  for (size_t i = 0; i < contacts; ++i) {
    pb::ExecuteRequest r = Base("gemeente-ede", "");
    r.mutable_meta()->mutable_occurred_at()->set_seconds(1'794'815'220 +
                                                         static_cast<int64_t>(i) * 3600);
    auto* c = r.mutable_register_interaction();
    c->set_party_id(party_id);
    c->set_channel(kChannels[rng() % 6]);
    c->set_direction(pb::DIRECTION_INBOUND);
    c->set_text(Text(rng, kTopics[rng() % 8]));
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace ks::bench
