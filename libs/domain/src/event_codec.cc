#include "ks/domain/event_codec.h"

namespace ks::domain {

namespace pb = ::klantstroom::v1;

std::string EventTypeName(const pb::EventEnvelope& event) {
  const auto* field = pb::EventEnvelope::descriptor()->FindFieldByNumber(static_cast<int>(event.payload_case()));
  return field != nullptr ? field->message_type()->full_name() : "";
}

Status DecodeEventInto(std::string_view bytes, pb::EventEnvelope& event) {
  if (!event.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return Status(StatusCode::kDataLoss, "event: the bytes are not a klantstroom.v1.EventEnvelope");
  if (event.schema_version() > kCurrentSchemaVersion)
    return InvalidArgument("event {}: schema version {} is newer than this code ({})", event.event_id(),
                           event.schema_version(), kCurrentSchemaVersion);
  if (event.payload_case() == pb::EventEnvelope::PAYLOAD_NOT_SET)
    return InvalidArgument("event {} ({}): a payload this version does not know", event.event_id(),
                           event.event_type().empty() ? "no type" : event.event_type());
  if (event.schema_version() == 0) {
    // Shape 0 -> 1: the type is named by the payload itself.
    event.set_event_type(EventTypeName(event));
    event.set_schema_version(1);
  }
  return Status::Ok();
}

Result<pb::EventEnvelope> DecodeEvent(std::string_view bytes) {
  pb::EventEnvelope event;
  if (Status s = DecodeEventInto(bytes, event); !s.ok()) return std::unexpected(s);
  return event;
}

}  // namespace ks::domain
