#include "list_order_upgrade.h"

#include <algorithm>
#include <functional>
#include <memory>

#include <fmt/format.h>
#include <rocksdb/db.h>

#include "klantstroom/v1/read_models.pb.h"
#include "ks/core/log.h"
#include "ks/projector/folds.h"
#include "ks/readmodel/keys.h"

namespace ks::projector {
namespace {

namespace keys = readmodel::keys;
namespace pb = ::klantstroom::v1;

constexpr char kSep = '\0';
constexpr size_t kEntriesPerBatch = 10'000;

// What re-keying one family did.
struct Rekeyed {
  int64_t listed = 0;   // entries written in the new order
  int64_t dropped = 0;  // entries whose record is gone or no longer in the list
};

// Re-keys the entries of one family ("PM" or "OC", each `FAMILY tenant party id` in layout 3):
// each entry's record (at `record_key(tenant, id)`) gives its new key (`entry_of(record)`, none
// when the record no longer belongs in the list).
template <typename Record>
Result<Rekeyed> Rekey(rocksdb::DB& db, std::string_view family,
                      const std::function<std::string(std::string_view tenant, std::string_view id)>& record_key,
                      const std::function<std::optional<std::string>(const Record&)>& entry_of) {
  const std::string prefix = std::string(family) + kSep;
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(rocksdb::ReadOptions()));  // its own snapshot
  rocksdb::WriteBatch batch;
  size_t in_batch = 0;
  Rekeyed out;
  auto flush = [&]() -> Status {
    if (in_batch == 0) return Status::Ok();
    Status s = readmodel::ReadModelStore::FromRocks(db.Write(rocksdb::WriteOptions(), &batch), "upgrade the layout");
    batch.Clear();
    in_batch = 0;
    return s;
  };
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    // Layout 3's entries have three separators (family, tenant, party, id); layout 4's more.
    if (std::count(key.begin(), key.end(), kSep) != 3) continue;
    const size_t tenant_end = key.find(kSep, prefix.size());
    const std::string_view tenant = key.substr(prefix.size(), tenant_end - prefix.size());
    const std::string_view id = keys::LastPart(key);
    const std::string at = record_key(tenant, id);
    std::string value;
    rocksdb::Status got = db.Get(rocksdb::ReadOptions(), at, &value);
    if (!got.ok() && !got.IsNotFound()) return std::unexpected(readmodel::ReadModelStore::FromRocks(got, "upgrade the layout"));
    std::optional<std::string> entry;
    if (got.ok()) {
      Record record;
      if (!record.ParseFromString(value))
        return std::unexpected(Status(StatusCode::kDataLoss,
                                      fmt::format("upgrading the read models' layout: the record of {} in tenant {} "
                                                  "does not parse", id, tenant)));
      entry = entry_of(record);
    }
    KS_CHECK(batch.Delete(it->key()).ok());
    if (entry) KS_CHECK(batch.Put(*entry, "").ok());
    ++(entry ? out.listed : out.dropped);
    if (++in_batch >= kEntriesPerBatch)
      if (Status s = flush(); !s.ok()) return std::unexpected(s);
  }
  if (!it->status().ok()) return std::unexpected(readmodel::ReadModelStore::FromRocks(it->status(), "upgrade the layout"));
  if (Status s = flush(); !s.ok()) return std::unexpected(s);
  return out;
}

}  // namespace

bool NeedsListOrderUpgrade(const readmodel::ReadModelStore& store) {
  return store.layout() == keys::kLayoutListOrderMissing || store.layout() == keys::kLayoutListOrderUpgrading;
}

Status UpgradeListOrder(readmodel::ReadModelStore& store) {
  rocksdb::DB& db = *store.db();
  if (store.layout() != keys::kLayoutListOrderUpgrading) {
    rocksdb::WriteBatch nothing;
    if (Status s = store.CommitUpgrade(nothing, keys::kLayoutListOrderUpgrading); !s.ok()) return s;
  }
  auto meldingen = Rekey<pb::MeldingRecord>(
      db, "PM", [](std::string_view tenant, std::string_view id) { return keys::Melding(tenant, id); },
      [](const pb::MeldingRecord& m) -> std::optional<std::string> {
        if (m.reporter_party_id().empty()) return std::nullopt;
        return PartyMeldingEntry(m);
      });
  if (!meldingen) return meldingen.error();
  auto callbacks = Rekey<pb::CallbackRecord>(
      db, "OC", [](std::string_view tenant, std::string_view id) { return keys::Callback(tenant, id); },
      [](const pb::CallbackRecord& c) -> std::optional<std::string> {
        if (c.status() != pb::CALLBACK_STATUS_OPEN) return std::nullopt;
        return OpenCallbackEntry(c);
      });
  if (!callbacks) return callbacks.error();
  rocksdb::WriteBatch done;
  if (Status s = store.CommitUpgrade(done, keys::kLayoutVersion); !s.ok()) return s;
  for (std::string_view family : {"PM", "OC"}) {
    const std::string begin = std::string(family) + kSep, end = std::string(family) + '\1';
    const rocksdb::Slice b(begin), e(end);
    if (Status s = readmodel::ReadModelStore::FromRocks(db.CompactRange(rocksdb::CompactRangeOptions(), &b, &e),
                                                        "compact after the upgrade");
        !s.ok())
      return s;
  }
  log::Info("projector", "upgraded {} to layout version {}: {} meldingen and {} open callback requests listed in a "
            "customer view's order ({} and {} entries without a record in their list dropped)",
            store.path(), keys::kLayoutVersion, meldingen->listed, callbacks->listed, meldingen->dropped,
            callbacks->dropped);
  return Status::Ok();
}

}  // namespace ks::projector
