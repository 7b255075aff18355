#include "ks/privacy/sealing.h"

#include <sodium.h>

#include <memory>

#include "ks/privacy/personal_fields.h"

namespace ks::privacy {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// "tenant\nkey id\nmessage type". Built by hand: it is made for every record opened (50 for a
// customer view's page), where fmt's formatting showed in the profile.
std::string AssociatedData(std::string_view tenant, std::string_view key_id, const Message& message) {
  const std::string& type = message.GetDescriptor()->full_name();
  std::string ad;
  ad.reserve(tenant.size() + key_id.size() + type.size() + 2);
  ad.append(tenant).push_back('\n');
  ad.append(key_id).push_back('\n');
  ad.append(type);
  return ad;
}

bool IsSet(const Message& message, const FieldDescriptor* field) {
  const Reflection* r = message.GetReflection();
  return field->is_repeated() ? r->FieldSize(message, field) > 0 : r->HasField(message, field);
}

const FieldDescriptor* PayloadField(const pb::EventEnvelope& event) {
  return event.GetReflection()->GetOneofFieldDescriptor(event, pb::EventEnvelope::descriptor()->FindOneofByName("payload"));
}
// The payload message of an event (the oneof member that is set), or nullptr.
Message* Payload(pb::EventEnvelope& event) {
  const FieldDescriptor* field = PayloadField(event);
  return field == nullptr ? nullptr : event.GetReflection()->MutableMessage(&event, field);
}
const Message* Payload(const pb::EventEnvelope& event) {
  const FieldDescriptor* field = PayloadField(event);
  return field == nullptr ? nullptr : &event.GetReflection()->GetMessage(event, field);
}

}  // namespace

Result<bool> Seal(Message& message, std::string_view tenant, std::string_view key_id,
                  const std::function<Result<Key>()>& key, pb::Sealed& sealed) {
  sealed.Clear();
  const auto& fields = PersonalFields(message.GetDescriptor());
  bool any = false;
  for (const FieldDescriptor* field : fields) any = any || IsSet(message, field);
  if (!any) return false;

  // The personal fields alone, as a message of the same type: moved there (swapped with the empty
  // fields of a new message), which leaves them cleared in `message` without copying a text.
  std::unique_ptr<Message> personal(message.New());
  message.GetReflection()->SwapFields(&message, personal.get(), fields);
  auto k = key();
  if (!k) return std::unexpected(k.error());

  std::string plain = personal->SerializeAsString();
  const std::string ad = AssociatedData(tenant, key_id, message);
  // A synthetic nonce: a keyed hash of what is sealed. The same data under the same key seals to
  // the same bytes, so a rebuild of the read models is byte-identical to the live ones; distinct
  // data never shares a nonce.
  unsigned char nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
  {
    crypto_generichash_state state;
    crypto_generichash_init(&state, k->data(), k->size(), sizeof nonce);
    constexpr std::string_view kPurpose = "klantstroom seal nonce";
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(kPurpose.data()), kPurpose.size());
    const std::string ad_length = std::to_string(ad.size()) + ":";
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(ad_length.data()), ad_length.size());
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(ad.data()), ad.size());
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(plain.data()), plain.size());
    crypto_generichash_final(&state, nonce, sizeof nonce);
  }
  std::string cipher(plain.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
  unsigned long long cipher_size = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      reinterpret_cast<unsigned char*>(cipher.data()), &cipher_size, reinterpret_cast<const unsigned char*>(plain.data()),
      plain.size(), reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nullptr, nonce, k->data());
  cipher.resize(cipher_size);
  sodium_memzero(plain.data(), plain.size());
  sealed.set_key_id(std::string(key_id));
  sealed.set_nonce(nonce, sizeof nonce);
  sealed.set_ciphertext(std::move(cipher));
  return true;
}

bool HasOpenPersonalFields(const Message& message) {
  for (const FieldDescriptor* field : PersonalFields(message.GetDescriptor()))
    if (IsSet(message, field)) return true;
  return false;
}

// Checks that `sealed` (as a message of `message`'s type) authenticates and, given `plain` (room
// for the ciphertext's size less the tag), decrypts it there. Given none, only the tag is checked
// over the ciphertext and the associated data: libsodium's detached decryption returns right
// after its tag check when given no plaintext buffer (its code does so for every AEAD it has); a
// contact's registration is checked this way by the projector, which keeps it sealed (about half
// of the cost of a decryption that was thrown away). DATA_LOSS when malformed or not authentic.
Status OpenSealed(const Message& message, std::string_view tenant, const Key& key, const pb::Sealed& sealed,
                  unsigned char* plain) {
  const std::string ad = AssociatedData(tenant, sealed.key_id(), message);
  if (sealed.nonce().size() != crypto_aead_xchacha20poly1305_ietf_NPUBBYTES ||
      sealed.ciphertext().size() < crypto_aead_xchacha20poly1305_ietf_ABYTES)
    return Status(StatusCode::kDataLoss, fmt::format("sealed data of a {} is malformed", message.GetTypeName()));
  const auto* cipher = reinterpret_cast<const unsigned char*>(sealed.ciphertext().data());
  const size_t cipher_size = sealed.ciphertext().size() - crypto_aead_xchacha20poly1305_ietf_ABYTES;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
          plain, nullptr, cipher, cipher_size, cipher + cipher_size, reinterpret_cast<const unsigned char*>(ad.data()),
          ad.size(), reinterpret_cast<const unsigned char*>(sealed.nonce().data()), key.data()) != 0)
    return Status(StatusCode::kDataLoss, fmt::format("sealed data of a {} under key {} does not authenticate",
                                                     message.GetTypeName(), sealed.key_id()));
  return Status::Ok();
}

// The plain bytes of `sealed`, sealed as a message of `message`'s type. DATA_LOSS when they do not
// authenticate. The caller wipes them (sodium_memzero) once done.
Result<std::string> Decrypt(const Message& message, std::string_view tenant, const Key& key, const pb::Sealed& sealed) {
  std::string plain(sealed.ciphertext().size() >= crypto_aead_xchacha20poly1305_ietf_ABYTES
                        ? sealed.ciphertext().size() - crypto_aead_xchacha20poly1305_ietf_ABYTES
                        : 0,
                    '\0');
  // A buffer even for an empty plaintext: without one only the tag would be checked.
  unsigned char none = 0;
  if (Status s = OpenSealed(message, tenant, key, sealed,
                            plain.empty() ? &none : reinterpret_cast<unsigned char*>(plain.data()));
      !s.ok())
    return std::unexpected(s);
  return plain;
}

Status Unseal(Message& message, std::string_view tenant, const Key& key, const pb::Sealed& sealed) {
  auto plain = Decrypt(message, tenant, key, sealed);
  if (!plain) return plain.error();
  // Parsed straight into the message (the sealed fields are absent from it, so merging the wire
  // form sets exactly them): no second message to allocate, merge and free, which showed in the
  // customer view's profile. A failure leaves the message unusable, and the caller drops it.
  const bool parsed = message.MergeFromString(*plain);
  sodium_memzero(plain->data(), plain->size());
  if (!parsed)
    return Status(StatusCode::kDataLoss, fmt::format("sealed data of a {} does not parse", message.GetTypeName()));
  return Status::Ok();
}

Status SealEvent(pb::EventEnvelope& event, std::string_view key_id, const std::function<Result<Key>()>& key) {
  Message* payload = Payload(event);
  if (payload == nullptr) return Status::Ok();
  pb::Sealed sealed;
  auto any = Seal(*payload, event.tenant(), key_id, key, sealed);
  if (!any) return any.error();
  if (*any)
    *event.mutable_personal_data() = std::move(sealed);
  else
    event.clear_personal_data();
  return Status::Ok();
}

Result<Opened> OpenInto(Message* target, std::string_view tenant, const pb::Sealed& sealed, KeyRing& ring) {
  auto key = ring.Get(tenant, sealed.key_id());
  if (!key) return std::unexpected(key.error());
  if (!key->has_value() || target == nullptr) return Opened::kErased;
  if (Status s = Unseal(*target, tenant, **key, sealed); !s.ok()) return std::unexpected(s);
  return Opened::kOpened;
}

Result<Opened> OpenEvent(pb::EventEnvelope& event, KeyRing& ring) {
  if (!event.has_personal_data()) return Opened::kNothingSealed;
  auto opened = OpenInto(Payload(event), event.tenant(), event.personal_data(), ring);
  if (opened) event.clear_personal_data();
  return opened;
}

Result<Opened> OpenRegistration(pb::InteractionRecord& record, KeyRing& ring) {
  if (!record.has_sealed_registration()) return Opened::kNothingSealed;
  pb::InteractionRegistered registered;  // the type its event sealed
  auto opened = OpenInto(&registered, record.tenant(), record.sealed_registration(), ring);
  if (!opened) return opened;
  if (*opened == Opened::kOpened) {
    // Handed over, not copied (a customer view opens 50 of them).
    record.set_allocated_text(registered.release_text());
    if (registered.has_counterpart()) record.set_allocated_counterpart(registered.release_counterpart());
  }
  record.clear_sealed_registration();
  return opened;
}

Result<Opened> CheckEvent(const pb::EventEnvelope& event, KeyRing& ring) {
  if (!event.has_personal_data()) return Opened::kNothingSealed;
  const Message* payload = Payload(event);
  auto key = ring.Get(event.tenant(), event.personal_data().key_id());
  if (!key) return std::unexpected(key.error());
  if (!key->has_value() || payload == nullptr) return Opened::kErased;
  if (Status s = OpenSealed(*payload, event.tenant(), **key, event.personal_data(), /*plain=*/nullptr); !s.ok())
    return std::unexpected(s);
  return Opened::kOpened;
}

std::string KeyIdOf(const pb::PartyProfile& record) { return PartyKeyId(record.party_id()); }
std::string KeyIdOf(const pb::InteractionRecord& record) {
  return record.party_id().empty() ? "interaction/" + record.interaction_id() : PartyKeyId(record.party_id());
}
std::string KeyIdOf(const pb::CallbackRecord& record) { return PartyKeyId(record.party_id()); }
std::string KeyIdOf(const pb::MeldingRecord& record) {
  return record.reporter_party_id().empty() ? "melding/" + record.melding_id() : PartyKeyId(record.reporter_party_id());
}
std::string KeyIdOf(const pb::NotificationRecord& record) {
  return record.party_id().empty() ? "notification/" + record.notification_id() : PartyKeyId(record.party_id());
}
std::string KeyIdOf(const pb::ConversationRecord& record) {
  return record.party_id().empty() ? "conversation/" + record.conversation_id() : PartyKeyId(record.party_id());
}
std::string KeyIdOf(const pb::AppointmentRecord& record) {
  return record.party_id().empty() ? "appointment/" + record.appointment_id() : PartyKeyId(record.party_id());
}

}  // namespace ks::privacy
