// Sealing: personal fields (personal_fields.h) are moved out of a message into a pb::Sealed,
// encrypted with XChaCha20-Poly1305 (libsodium) under the key of the person they belong to. The
// tenant, key id and message type are authenticated with them, so sealed bytes cannot be moved to
// another record unnoticed.
//
//   command service: SealEvent before an append  (the log never holds personal data in the clear)
//   projector:       OpenEvent, fold, SealRecord  (read models hold it sealed too; a contact's
//                    registration keeps its event's sealed part as it is, only checked: CheckEvent)
//   query service:   OpenRecord before answering  (plain text exists only in memory and on the wire)
//
// After an erasure the key is gone: OpenEvent/OpenRecord leave the personal fields empty and say
// so, and the rest of the message is still there.
//
// Thread-safety: functions over the caller's values.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <type_traits>

#include <google/protobuf/message.h>

#include "klantstroom/v1/events.pb.h"
#include "klantstroom/v1/read_models.pb.h"
#include "ks/core/status.h"
#include "ks/privacy/key_vault.h"

namespace ks::privacy {

namespace pb = ::klantstroom::v1;

// Moves the personal fields of `message` into `sealed` (cleared first), encrypted under `key_id`.
// `key` is only asked for when there is something to seal. Returns false when nothing was.
Result<bool> Seal(google::protobuf::Message& message, std::string_view tenant, std::string_view key_id,
                  const std::function<Result<Key>()>& key, pb::Sealed& sealed);
// Whether any personal field of `message` is set in the clear.
bool HasOpenPersonalFields(const google::protobuf::Message& message);
// Puts sealed fields back into `message`. DATA_LOSS when the bytes do not authenticate.
Status Unseal(google::protobuf::Message& message, std::string_view tenant, const Key& key, const pb::Sealed& sealed);

// Seals the personal fields of the event's payload into event.personal_data.
Status SealEvent(pb::EventEnvelope& event, std::string_view key_id, const std::function<Result<Key>()>& key);

enum class Opened {
  kNothingSealed,
  kOpened,
  // The key was destroyed (the person was erased): the personal fields stay empty.
  kErased,
};
// Puts the payload's sealed personal fields back.
Result<Opened> OpenEvent(pb::EventEnvelope& event, KeyRing& ring);
// Checks that the event's sealed personal data authenticates under its key, as OpenEvent would,
// and leaves it sealed (its tag is checked; nothing is decrypted). The same errors as OpenEvent.
Result<Opened> CheckEvent(const pb::EventEnvelope& event, KeyRing& ring);

// Whose key seals a read-model record's personal data: the party it belongs to, or while no party
// is known, the record's own ("interaction/<id>").
std::string KeyIdOf(const pb::PartyProfile& record);
std::string KeyIdOf(const pb::InteractionRecord& record);
std::string KeyIdOf(const pb::CallbackRecord& record);
std::string KeyIdOf(const pb::MeldingRecord& record);
std::string KeyIdOf(const pb::NotificationRecord& record);
std::string KeyIdOf(const pb::ConversationRecord& record);
std::string KeyIdOf(const pb::AppointmentRecord& record);
inline std::string PartyKeyId(std::string_view party_id) { return "party/" + std::string(party_id); }

// Seals a record's personal fields into its personal_data field. When the key is gone (erased),
// the personal fields are dropped instead: they can never be read again anyway.
template <typename Record>
Status SealRecord(Record& record, KeyRing& ring) {
  const std::string key_id = KeyIdOf(record);
  pb::Sealed sealed;
  auto any = Seal(
      record, record.tenant(), key_id,
      [&]() -> Result<Key> {
        auto key = ring.GetOrCreate(record.tenant(), key_id);
        if (!key) return std::unexpected(key.error());
        if (!key->has_value()) return std::unexpected(NotFound("erased"));
        return **key;
      },
      sealed);
  record.clear_personal_data();
  if (any) {
    if (*any) *record.mutable_personal_data() = std::move(sealed);
    return Status::Ok();
  }
  // Erased: the fields (cleared by Seal) could never be read again anyway.
  return any.error().code() == StatusCode::kNotFound ? Status::Ok() : any.error();
}

// Opens `sealed` into `target` (Unseal) with its key from `ring`: kErased when that key is gone or
// there is no target (the target is left as it is). What OpenEvent and OpenRecord share.
Result<Opened> OpenInto(google::protobuf::Message* target, std::string_view tenant, const pb::Sealed& sealed,
                        KeyRing& ring);

// Opens a contact's sealed_registration (its event's sealed text and counterpart) into the
// record's fields. Returns kErased when its key is gone.
Result<Opened> OpenRegistration(pb::InteractionRecord& record, KeyRing& ring);

// Whether a record holds sealed personal data: its personal_data, or a contact's registration
// kept as its event sealed it.
template <typename Record>
bool HasSealedData(const Record& record) {
  if constexpr (std::is_same_v<Record, pb::InteractionRecord>)
    if (record.has_sealed_registration()) return true;
  return record.has_personal_data();
}

// Whether every sealed part of a record is sealed under `key_id`.
template <typename Record>
bool SealedUnder(const Record& record, std::string_view key_id) {
  if constexpr (std::is_same_v<Record, pb::InteractionRecord>)
    if (record.has_sealed_registration() && record.sealed_registration().key_id() != key_id) return false;
  return !record.has_personal_data() || record.personal_data().key_id() == key_id;
}

// Opens a record's sealed parts (HasSealedData). Returns kErased when a key is gone.
template <typename Record>
Result<Opened> OpenRecord(Record& record, KeyRing& ring) {
  Opened result = Opened::kNothingSealed;
  if constexpr (std::is_same_v<Record, pb::InteractionRecord>) {
    auto registration = OpenRegistration(record, ring);
    if (!registration) return registration;
    result = *registration;
  }
  if (!record.has_personal_data()) return result;
  auto opened = OpenInto(&record, record.tenant(), record.personal_data(), ring);
  if (!opened) return opened;
  record.clear_personal_data();
  return result == Opened::kErased ? Opened::kErased : *opened;
}

}  // namespace ks::privacy
