#include "ks/journeys/render.h"

#include <ctime>

#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>

namespace ks::journeys {
namespace {

namespace pb = ::klantstroom::v1;
using google::protobuf::util::TimeUtil;

std::string When(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0) return "-";
  const std::time_t t = ts.seconds();
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

std::string ChannelName(pb::Channel c) {
  std::string name = pb::Channel_Name(c);
  return name.starts_with("CHANNEL_") ? name.substr(8) : name;
}

std::string Short(const std::string& text, size_t max) {
  if (text.size() <= max) return text;
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // keep UTF-8 whole
  return text.substr(0, cut) + "...";
}

std::string Reflects(const google::protobuf::RepeatedPtrField<pb::PartitionProgress>& reflects) {
  int64_t total = 0;
  for (const auto& p : reflects) total += p.next_offset();
  return fmt::format("reflects {} events of the log", total);
}

}  // namespace

std::string RenderCustomerView(const pb::CustomerView& view) {
  const auto& party = view.party();
  std::string out = fmt::format("Klantbeeld: {} ({})\n", party.display_name(), party.party_id());
  for (const auto& a : party.digital_addresses()) {
    std::string kind = pb::DigitalAddressKind_Name(a.kind());
    kind = kind.substr(kind.rfind('_') + 1);
    out += fmt::format("  {:<9} {}{}\n", kind, a.value(), a.preferred() ? "  (voorkeur)" : "");
  }
  out += fmt::format("Contactmomenten ({} getoond, nieuwste eerst):\n", view.timeline_size());
  for (const auto& i : view.timeline()) {
    out += fmt::format("  {}  {:<8} {:<3} {:<7} {}\n", When(i.occurred_at()), ChannelName(i.channel()),
                       i.direction() == pb::DIRECTION_INBOUND ? "in" : "uit",
                       i.visibility() == pb::VISIBILITY_PUBLIC ? "public" : "private", Short(i.text(), 70));
    if (!i.report().empty()) out += fmt::format("      verslag ({}): {}\n", i.outcome(), Short(i.report(), 90));
  }
  out += fmt::format("Open terugbelverzoeken: {}\n", view.open_callbacks_size());
  for (const auto& c : view.open_callbacks())
    out += fmt::format("  {} voor {} ({}), urgentie {}, uiterlijk {}\n", c.subject(), c.target().employee_name(),
                       c.target().department(), pb::Urgency_Name(c.urgency()), When(c.due_at()));
  out += fmt::format("({})\n", Reflects(view.reflects()));
  return out;
}

std::string RenderCallbackQueue(const pb::CallbackQueue& queue, const std::string& title) {
  std::string out = fmt::format("Terugbelwachtrij {}: {} open, {} te laat\n", title, queue.total_open(), queue.overdue());
  for (const auto& c : queue.callbacks()) {
    out += fmt::format("  [{}] {} - bel {} voor {}\n", pb::Urgency_Name(c.urgency()), c.subject(), c.phone_number(),
                       When(c.due_at()));
    out += fmt::format("      context: {}\n", Short(c.context(), 100));
  }
  out += fmt::format("({})\n", Reflects(queue.reflects()));
  return out;
}

}  // namespace ks::journeys
