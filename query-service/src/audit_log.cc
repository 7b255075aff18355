#include "ks/query/audit_log.h"

#include <random>

#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>

#include "ks/readmodel/keys.h"
#include "ks/readmodel/store.h"

namespace ks::query {
namespace {

namespace pb = ::klantstroom::v1;
namespace keys = readmodel::keys;
using google::protobuf::util::TimeUtil;

}  // namespace

Result<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& dir) {
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &db);
  if (!s.ok()) return std::unexpected(readmodel::ReadModelStore::FromRocks(s, "open audit log " + dir));
  std::random_device random;
  return std::unique_ptr<AuditLog>(
      new AuditLog(std::unique_ptr<rocksdb::DB>(db), fmt::format("{:08x}{:08x}", random(), random())));
}

Status AuditLog::Record(const pb::AuditEntry& entry) {
  // The same key layout as the projector's changes (party, newest first), with a sequence number
  // in place of the event id.
  const std::string key = keys::Audit(entry.tenant(), entry.party_id(), TimeUtil::TimestampToMilliseconds(entry.at()),
                                      fmt::format("{}-{}", run_, sequence_.fetch_add(1)));
  return readmodel::ReadModelStore::FromRocks(db_->Put(rocksdb::WriteOptions(), key, entry.SerializeAsString()),
                                             "record a read in the audit log");
}

Status AuditLog::Reads(const std::string& tenant, const std::string& party_id, int64_t from_ms, int64_t to_ms,
                       const std::function<bool(const pb::AuditEntry&)>& visit) const {
  const std::string prefix = keys::AuditPrefix(tenant, party_id);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    pb::AuditEntry entry;
    if (!entry.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) continue;
    const int64_t at = TimeUtil::TimestampToMilliseconds(entry.at());
    if (at >= to_ms) continue;
    if (at < from_ms) break;  // newest first: the rest is older still
    if (!visit(entry)) break;
  }
  return readmodel::ReadModelStore::FromRocks(it->status(), "read the audit log");
}

}  // namespace ks::query
