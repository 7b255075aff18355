// KeyVault: the per-person keys that personal data in events and read models is encrypted with
// (see sealing.h). Erasing a person (AVG/GDPR) destroys their keys: every copy of their data, in
// the immutable log, in read models, in backups, becomes unreadable for good.
//
// The vault is a directory that the command service, projector and query service share (one
// machine or a shared volume; an HSM/KMS could take its place behind the same interface):
//
//   <dir>/VAULT                          marker: this is a vault (a wrong path is refused, never
//                                        mistaken for "every key erased")
//   <dir>/<tenant>/k/<digest of key id>  32 random bytes, one file per key
//   <dir>/<tenant>/x/<digest of key id>  tombstone: this key was destroyed (erased), so a missing
//                                        key is never mistaken for an erased one, nor made again
//   <dir>/<tenant>/o/<owner>/<key>       keys a party adopted (a contact registered before the
//                                        party was known, then linked): destroyed with the party
//   <dir>/<tenant>/index.key             the tenant's key for lookup digests (never destroyed)
//
// Files are written to a temporary name, fsynced and linked into place, so a key is durable before
// any event sealed with it is appended, and two processes creating the same key agree on one.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "ks/core/status.h"

namespace ks::privacy {

using Key = std::array<unsigned char, 32>;

class KeyVault {
 public:
  // `create`: make the directory a vault when it is not one yet (the command service). Otherwise
  // FAILED_PRECONDITION when `dir` is not a vault, naming the flag to fix.
  // `sync`: new keys are fsynced (with their directory) before they are used. Only generated
  // histories (the benchmarks), where a lost key costs nothing, turn it off.
  static Result<std::unique_ptr<KeyVault>> Open(const std::string& dir, bool create,
                                                bool sync = true);
  // For the projector and query service, which may start before the command service has made the
  // vault: tries Open(dir, false) until it succeeds or `patience` has passed.
  static Result<std::unique_ptr<KeyVault>> OpenWhenMade(const std::string& dir,
                                                        std::chrono::seconds patience);

  // The key `key_id` of `tenant`; created (durably) when there is none. FAILED_PRECONDITION
  // when it was destroyed: an erased person's key is never made again.
  Result<Key> GetOrCreate(std::string_view tenant, std::string_view key_id);
  // The key; std::nullopt when it was destroyed. FAILED_PRECONDITION when it was never made (a
  // vault that is not the command service's, or a lost one): never read as "erased".
  Result<std::optional<Key>> Get(std::string_view tenant, std::string_view key_id) const;
  // `owner` takes `key_id` along: destroying the owner destroys it too.
  // FAILED_PRECONDITION when `owner` was destroyed.
  Status Adopt(std::string_view tenant, std::string_view owner, std::string_view key_id);
  // Destroys `owner`'s key and every key it adopted, and what those adopted. Idempotent.
  Status Destroy(std::string_view tenant, std::string_view owner);
  // The tenant's key for lookup digests; created when missing.
  Result<Key> IndexKey(std::string_view tenant);

  const std::string& dir() const { return dir_; }

 private:
  KeyVault(std::string dir, bool sync) : dir_(std::move(dir)), sync_(sync) {}
  std::string TenantDir(std::string_view tenant) const;
  Result<Key> CreateFile(const std::string& dir, const std::string& name);
  bool Destroyed(std::string_view tenant, const std::string& name) const;

  // The shared side of destroy_mutex_, for a creation or an adoption: taken after passing the
  // gate, so that a destruction already waiting goes first.
  std::shared_lock<std::shared_mutex> NotBesideADestruction();
  // The key at `cache_key` in `cache`, else made by `make` (by one thread at a time per key).
  Result<Key> CachedOrMade(std::unordered_map<std::string, Key>& cache, const std::string& cache_key,
                           const std::function<Result<Key>()>& make);

  const std::string dir_;
  const bool sync_;
  // Keys are cached by the process that creates and destroys them (the command service); other
  // processes read through a KeyRing per batch or request, so an erasure reaches them at once.
  std::mutex cache_mutex_;  // guards the caches and making_, never held over file work
  std::unordered_map<std::string, Key> created_;
  std::unordered_map<std::string, Key> index_keys_;
  std::unordered_set<std::string> making_;  // cache keys a thread is making now
  std::condition_variable made_;            // one of them was made (or failed)
  // Shared by key creations, exclusive for a destruction (GetOrCreate says why); the gate lets a
  // waiting destruction go before creations that come after it.
  std::shared_mutex destroy_mutex_;
  std::mutex destroy_gate_;
};

// Keys read from a vault, shared by the KeyRings of several threads that look at the same
// parties (the projector's workers): each key is read from its file once, not once per thread. A
// 10M-event rebuild opened 901,063 key files for 374,005 keys with a ring per worker, each file
// about 15 us of CPU. Bounded: emptied when it holds `capacity` keys. Thread-safe.
class SharedKeys {
 public:
  explicit SharedKeys(size_t capacity) : capacity_(capacity) {}
  // The key (or its known absence) under `cache_key`, if held.
  std::optional<std::optional<Key>> Find(const std::string& cache_key) const;
  void Put(const std::string& cache_key, const std::optional<Key>& key);

 private:
  const size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::optional<Key>> keys_;
};

// A short-lived cache over a vault, for one batch of events or one query: a key (or its absence)
// is read from disk once per KeyRing (or once per SharedKeys behind it).
class KeyRing {
 public:
  explicit KeyRing(KeyVault* vault, SharedKeys* shared = nullptr) : vault_(vault), shared_(shared) {}
  // As KeyVault::Get.
  Result<std::optional<Key>> Get(std::string_view tenant, std::string_view key_id);
  // The key, made when it never was (records of a log written before sealing existed);
  // std::nullopt when destroyed.
  Result<std::optional<Key>> GetOrCreate(std::string_view tenant, std::string_view key_id);

 private:
  KeyVault* vault_;
  SharedKeys* shared_;
  std::unordered_map<std::string, std::optional<Key>> keys_;
};

// A keyed digest (BLAKE2b with the tenant's index key) of a lookup value, hex: the lookup indexes
// hold these instead of BSNs, phone numbers and e-mail addresses.
std::string LookupDigest(const Key& index_key, std::string_view tag, std::string_view value);
// The digests of a digital address and of an identifier: LookupDigest with the kind as the tag.
std::string AddressDigest(const Key& index_key, int address_kind, std::string_view value);
std::string IdentifierDigest(const Key& index_key, int identifier_kind, std::string_view value);
// Of a (normalized) postcode, house number and birth date together: recognition on the phone.
std::string RecognitionDigest(const Key& index_key, std::string_view postcode,
                              std::string_view house_number, std::string_view birth_date);

}  // namespace ks::privacy
