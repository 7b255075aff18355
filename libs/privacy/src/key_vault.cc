#include "ks/privacy/key_vault.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

namespace ks::privacy {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMarker = "VAULT";

// File names are digests of key ids: ids may hold any character, and the names give nothing away.
std::string FileName(std::string_view key_id) {
  unsigned char digest[16];
  crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(key_id.data()),
                     key_id.size(), nullptr, 0);
  char hex[2 * sizeof digest + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

Status Errno(std::string_view what, const std::string& path) {
  return IoError("key vault: {} {}: {}", what, path, std::strerror(errno));
}

Status SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return Errno("open directory", dir);
  const int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? Status::Ok() : Errno("fsync directory", dir);
}

Status MakeDirs(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return IoError("key vault: create {}: {}", dir, ec.message());
  return Status::Ok();
}

// "tenant/key id": what the vault's and the key rings' caches hold a key under (a ring makes one
// for every record opened; fmt's formatting showed in profiles).
std::string CacheKey(std::string_view tenant, std::string_view key_id) {
  std::string key;
  key.reserve(tenant.size() + 1 + key_id.size());
  key.append(tenant).append("/").append(key_id);
  return key;
}

// Reads a 32-byte key file: std::nullopt when there is none, or when it is being destroyed.
Result<std::optional<Key>> ReadKeyFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<Key>();
    return std::unexpected(Errno("open", path));
  }
  Key key;
  const ssize_t n = ::read(fd, key.data(), key.size());
  ::close(fd);
  if (n != static_cast<ssize_t>(key.size()))
    return std::unexpected(
        Status(StatusCode::kDataLoss, fmt::format("key vault: {} is not a 32-byte key", path)));
  // Destroy writes the tombstone, then zeros over the key, then unlinks it: a reader between the
  // last two would otherwise take 32 zeros for the key (and report the person's sealed data as
  // damaged instead of erased). A made key is all zeros with a chance of 2^-256.
  if (std::all_of(key.begin(), key.end(), [](unsigned char b) { return b == 0; })) return std::optional<Key>();
  return std::optional<Key>(key);
}

// Writes `bytes` to `path` atomically, and durably with `sync`: false when another writer placed
// it first.
Result<bool> WriteOnce(const std::string& dir, const std::string& path, const void* bytes,
                       size_t size, bool sync = true) {
  static std::atomic<uint64_t> counter{0};
  const std::string temp = fmt::format("{}.tmp.{}.{}", path, ::getpid(), counter.fetch_add(1));
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return std::unexpected(Errno("create", temp));
  const bool written =
      ::write(fd, bytes, size) == static_cast<ssize_t>(size) && (!sync || ::fsync(fd) == 0);
  ::close(fd);
  if (!written) {
    Status s = Errno("write", temp);
    ::unlink(temp.c_str());
    return std::unexpected(s);
  }
  // link() fails when the name exists: whoever linked first wins, and both then read that key.
  const bool placed = ::link(temp.c_str(), path.c_str()) == 0;
  const int link_errno = errno;
  ::unlink(temp.c_str());
  if (!placed && link_errno != EEXIST) {
    errno = link_errno;
    return std::unexpected(Errno("link", path));
  }
  if (!sync) return placed;
  if (Status s = SyncDir(dir); !s.ok()) return std::unexpected(s);
  return placed;
}

}  // namespace

Result<std::unique_ptr<KeyVault>> KeyVault::Open(const std::string& dir, bool create, bool sync) {
  if (sodium_init() < 0) return std::unexpected(Internal("libsodium could not be initialised"));
  const std::string marker = (fs::path(dir) / kMarker).string();
  if (!fs::exists(marker)) {
    if (!create)
      return std::unexpected(
          FailedPrecondition("--vault: {} is not a key vault (no {} file); give the directory the "
                             "command service uses",
                             dir, kMarker));
    if (Status s = MakeDirs(dir); !s.ok()) return std::unexpected(s);
    const std::string_view text =
        "Klantstroom key vault: per-person keys of personal data. Back it up with care.\n";
    if (auto w = WriteOnce(dir, marker, text.data(), text.size()); !w)
      return std::unexpected(w.error());
  }
  return std::unique_ptr<KeyVault>(new KeyVault(dir, sync));
}

Result<std::unique_ptr<KeyVault>> KeyVault::OpenWhenMade(const std::string& dir,
                                                         std::chrono::seconds patience) {
  const auto give_up = std::chrono::steady_clock::now() + patience;
  while (true) {
    auto vault = Open(dir, false);
    if (vault || std::chrono::steady_clock::now() >= give_up) return vault;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

std::string KeyVault::TenantDir(std::string_view tenant) const {
  return (fs::path(dir_) / std::string(tenant)).string();
}

Result<Key> KeyVault::CreateFile(const std::string& dir, const std::string& name) {
  if (Status s = MakeDirs(dir); !s.ok()) return std::unexpected(s);
  const std::string path = dir + "/" + name;
  if (auto existing = ReadKeyFile(path); !existing || existing->has_value()) {
    if (!existing) return std::unexpected(existing.error());
    return **existing;
  }
  Key key;
  crypto_aead_xchacha20poly1305_ietf_keygen(key.data());
  auto placed = WriteOnce(dir, path, key.data(), key.size(), sync_);
  if (!placed) return std::unexpected(placed.error());
  if (*placed) return key;
  auto theirs = ReadKeyFile(path);  // another process made it a moment earlier
  if (!theirs) return std::unexpected(theirs.error());
  if (!theirs->has_value())
    return std::unexpected(IoError("key vault: {} vanished while being created", path));
  return **theirs;
}

bool KeyVault::Destroyed(std::string_view tenant, const std::string& name) const {
  std::error_code ec;
  return fs::exists(TenantDir(tenant) + "/x/" + name, ec);
}

Result<Key> KeyVault::CachedOrMade(std::unordered_map<std::string, Key>& cache, const std::string& cache_key,
                                   const std::function<Result<Key>()>& make) {
  {
    // One thread of this process makes a given key; the others wait for it and take it from the
    // cache, which it enters only once durable. (Read from disk while its maker was still between
    // link() and the directory's fsync, it could seal data under a key a crash then loses.)
    std::unique_lock lock(cache_mutex_);
    while (true) {
      if (auto it = cache.find(cache_key); it != cache.end()) return it->second;
      if (making_.insert(cache_key).second) break;
      made_.wait(lock);
    }
  }
  // Whatever `make` does (even throw), the key is no longer being made afterwards and the waiters
  // wake, finding it in the cache when it was made.
  std::optional<Key> made;
  struct Done {
    KeyVault& vault;
    std::unordered_map<std::string, Key>& cache;
    const std::string& cache_key;
    const std::optional<Key>& made;
    ~Done() {
      std::lock_guard lock(vault.cache_mutex_);
      if (made) {
        if (cache.size() > 100000) cache.clear();  // a cache, not a copy of the vault
        cache.emplace(cache_key, *made);
      }
      vault.making_.erase(cache_key);
      vault.made_.notify_all();
    }
  } done{*this, cache, cache_key, made};
  auto key = make();
  if (key) made = *key;
  return key;
}

std::shared_lock<std::shared_mutex> KeyVault::NotBesideADestruction() {
  { std::lock_guard gate(destroy_gate_); }  // a destruction waiting for its turn goes first
  return std::shared_lock(destroy_mutex_);
}

Result<Key> KeyVault::GetOrCreate(std::string_view tenant, std::string_view key_id) {
  const std::string cache_key = CacheKey(tenant, key_id);
  {
    std::lock_guard lock(cache_mutex_);
    if (auto it = created_.find(cache_key); it != created_.end()) return it->second;
  }
  // Making a key file costs two fsyncs: other keys' lookups and creations go on meanwhile. Only a
  // destruction excludes creations, so that no key is made again once its tombstone is written;
  // the creation's side of the lock is held until the new key is in the cache, which a
  // destruction clears of its keys.
  const auto creating = NotBesideADestruction();
  return CachedOrMade(created_, cache_key, [&]() -> Result<Key> {
    if (Destroyed(tenant, FileName(key_id)))
      return std::unexpected(FailedPrecondition(
          "key {} of {} was destroyed (erased); it is not made again", key_id, tenant));
    return CreateFile(TenantDir(tenant) + "/k", FileName(key_id));
  });
}

Result<std::optional<Key>> KeyVault::Get(std::string_view tenant, std::string_view key_id) const {
  // Always from disk (not the cache of GetOrCreate): an erasure by another process shows at once.
  const std::string name = FileName(key_id);
  auto key = ReadKeyFile(TenantDir(tenant) + "/k/" + name);
  if (!key || key->has_value() || Destroyed(tenant, name)) return key;
  return std::unexpected(
      FailedPrecondition("key {} of {} is not in the key vault at {}: is --vault the directory the "
                         "command service uses?",
                         key_id, tenant, dir_));
}

Status KeyVault::Adopt(std::string_view tenant, std::string_view owner, std::string_view key_id) {
  // Not beside a destruction: one that had listed the owner's adopted keys would remove this
  // adoption with their directory and leave the key alive. After it, the owner is gone.
  const auto adopting = NotBesideADestruction();
  if (Destroyed(tenant, FileName(owner)))
    return FailedPrecondition("key {} of {} was destroyed (erased): it adopts nothing any more", owner, tenant);
  const std::string dir = TenantDir(tenant) + "/o/" + FileName(owner);
  if (Status s = MakeDirs(dir); !s.ok()) return s;
  const std::string name = FileName(key_id);
  auto placed = WriteOnce(dir, dir + "/" + name, name.data(), name.size());
  return placed ? Status::Ok() : placed.error();
}

Status KeyVault::Destroy(std::string_view tenant, std::string_view owner) {
  // Through the gate first: creations arriving from now on wait at it, so a steady stream of
  // them cannot keep the exclusive lock from this erasure (readers go first in glibc's rwlock).
  std::unique_lock gate(destroy_gate_);
  std::unique_lock destroying(destroy_mutex_);
  gate.unlock();
  const std::string keys_dir = TenantDir(tenant) + "/k";
  // The owner's key and what it adopted, and what those adopted (a merged duplicate's contacts).
  std::vector<std::string> names{FileName(owner)};
  std::vector<std::string> owned_dirs;
  std::error_code ec;
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string dir = TenantDir(tenant) + "/o/" + names[i];
    if (!fs::exists(dir, ec)) continue;
    owned_dirs.push_back(dir);
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      std::string name = entry.path().filename().string();
      if (std::find(names.begin(), names.end(), name) == names.end())
        names.push_back(std::move(name));
    }
    if (ec) return IoError("key vault: list {}: {}", dir, ec.message());
  }
  // Out of the cache first: a GetOrCreate of one of these keys from now on waits for this
  // destruction (the lock above), then finds the tombstone and refuses.
  {
    const std::string prefix = CacheKey(tenant, "");  // cache keys are "tenant/key id"
    std::lock_guard lock(cache_mutex_);
    for (auto it = created_.begin(); it != created_.end();) {
      const std::string_view cached = it->first;
      const bool gone = cached.starts_with(prefix) &&
                        std::find(names.begin(), names.end(), FileName(cached.substr(prefix.size()))) != names.end();
      it = gone ? created_.erase(it) : std::next(it);
    }
  }
  const std::string tombstones = TenantDir(tenant) + "/x";
  if (Status s = MakeDirs(tombstones); !s.ok()) return s;
  for (const std::string& name : names) {
    // The tombstone first: from then on the key reads as destroyed, present or not.
    if (auto w = WriteOnce(tombstones, tombstones + "/" + name, "", 0); !w) return w.error();
    const std::string path = keys_dir + "/" + name;
    // Overwrite before unlinking, so the key's bytes do not linger in the file's blocks.
    if (const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC); fd >= 0) {
      Key zeros{};
      const bool ok =
          ::write(fd, zeros.data(), zeros.size()) == static_cast<ssize_t>(zeros.size()) &&
          ::fsync(fd) == 0;
      ::close(fd);
      if (!ok) return Errno("overwrite", path);
    }
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Errno("unlink", path);
  }
  if (fs::exists(keys_dir, ec))
    if (Status s = SyncDir(keys_dir); !s.ok()) return s;
  for (const std::string& dir : owned_dirs) fs::remove_all(dir, ec);
  return Status::Ok();
}

Result<Key> KeyVault::IndexKey(std::string_view tenant) {
  // Never destroyed; racing processes agree through link().
  return CachedOrMade(index_keys_, std::string(tenant), [&] { return CreateFile(TenantDir(tenant), "index.key"); });
}

Result<std::optional<Key>> KeyRing::GetOrCreate(std::string_view tenant, std::string_view key_id) {
  auto key = Get(tenant, key_id);
  if (key || key.error().code() != StatusCode::kFailedPrecondition) return key;
  auto made = vault_->GetOrCreate(tenant, key_id);
  if (!made) return std::unexpected(made.error());
  std::string cache_key = CacheKey(tenant, key_id);
  if (shared_ != nullptr) shared_->Put(cache_key, *made);
  keys_[std::move(cache_key)] = *made;
  return std::optional<Key>(*made);
}

Result<std::optional<Key>> KeyRing::Get(std::string_view tenant, std::string_view key_id) {
  if (keys_.size() > 10000) keys_.clear();
  std::string cache_key = CacheKey(tenant, key_id);
  if (auto it = keys_.find(cache_key); it != keys_.end()) return it->second;
  if (shared_ != nullptr)
    if (auto held = shared_->Find(cache_key)) {
      keys_.emplace(std::move(cache_key), *held);
      return *held;
    }
  auto key = vault_->Get(tenant, key_id);
  if (key) {
    if (shared_ != nullptr) shared_->Put(cache_key, *key);
    keys_.emplace(std::move(cache_key), *key);
  }
  return key;
}

std::optional<std::optional<Key>> SharedKeys::Find(const std::string& cache_key) const {
  std::lock_guard lock(mutex_);
  if (auto it = keys_.find(cache_key); it != keys_.end()) return it->second;
  return std::nullopt;
}

void SharedKeys::Put(const std::string& cache_key, const std::optional<Key>& key) {
  std::lock_guard lock(mutex_);
  if (keys_.size() >= capacity_) keys_.clear();
  keys_.insert_or_assign(cache_key, key);
}

std::string LookupDigest(const Key& index_key, std::string_view tag, std::string_view value) {
  crypto_generichash_state state;
  crypto_generichash_init(&state, index_key.data(), index_key.size(), 16);
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(tag.data()), tag.size());
  const unsigned char separator = 0;
  crypto_generichash_update(&state, &separator, 1);
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(value.data()),
                            value.size());
  unsigned char digest[16];
  crypto_generichash_final(&state, digest, sizeof digest);
  char hex[2 * sizeof digest + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

std::string AddressDigest(const Key& index_key, int address_kind, std::string_view value) {
  return LookupDigest(index_key, "addr" + std::to_string(address_kind), value);
}

std::string IdentifierDigest(const Key& index_key, int identifier_kind, std::string_view value) {
  return LookupDigest(index_key, "id" + std::to_string(identifier_kind), value);
}

std::string RecognitionDigest(const Key& index_key, std::string_view postcode,
                              std::string_view house_number, std::string_view birth_date) {
  return LookupDigest(index_key, "pcbd",
                      fmt::format("{}\n{}\n{}", postcode, house_number, birth_date));
}

}  // namespace ks::privacy
