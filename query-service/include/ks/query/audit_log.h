// AuditLog: the reads this query service answered that showed a party's data (AVG: who read whose
// data, and when). A RocksDB of its own (--audit), written as each answer goes out, so that a
// crash of the process loses none already answered (the write-ahead log); the privacy officer
// reads it through GetAuditTrail together with the changes the projector keeps.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include <rocksdb/db.h>

#include "klantstroom/v1/read_models.pb.h"
#include "ks/core/status.h"

namespace ks::query {

class AuditLog {
 public:
  // Opens (or creates) the audit log in `dir`.
  static Result<std::unique_ptr<AuditLog>> Open(const std::string& dir);

  // Records one read of `entry.party_id()`'s data.
  Status Record(const ::klantstroom::v1::AuditEntry& entry);
  // The reads of a party's data, newest first, within [from_ms, to_ms), until `visit` returns false.
  Status Reads(const std::string& tenant, const std::string& party_id, int64_t from_ms, int64_t to_ms,
               const std::function<bool(const ::klantstroom::v1::AuditEntry&)>& visit) const;

 private:
  AuditLog(std::unique_ptr<rocksdb::DB> db, std::string run) : db_(std::move(db)), run_(std::move(run)) {}
  std::unique_ptr<rocksdb::DB> db_;
  const std::string run_;  // random per opening, so keys of two runs never meet
  std::atomic<uint64_t> sequence_{0};  // tells apart reads in the same millisecond
};

}  // namespace ks::query
