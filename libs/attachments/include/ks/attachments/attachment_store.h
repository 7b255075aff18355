// AttachmentStore: photos and documents stored by content. A file's name is the SHA-256 of its
// bytes, so the same photo uploaded twice is stored once, and an event can refer to it by hash
// and size without carrying the bytes. Files are written to a temporary name, fsynced and renamed,
// so a crash never leaves a half-written file under a real hash.
//
// Each tenant has its own subdirectory: one municipality cannot read another's photos, even with
// the hash. The command service writes, the query service reads; both open the same directory
// (on one machine, or a shared volume).
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <string>

#include "klantstroom/v1/common.pb.h"
#include "ks/core/status.h"

namespace ks::attachments {

namespace pb = ::klantstroom::v1;

class AttachmentStore {
 public:
  // Creates `directory` when missing.
  explicit AttachmentStore(std::string directory);

  // Stores `content`. INVALID_ARGUMENT (naming the field) when it is empty, larger than 10 MiB,
  // or the media type is not an image, PDF or plain text; UNAVAILABLE when the disk fails.
  // REQUIRES: `tenant` is a valid tenant id (domain::IsValidTenant).
  Result<pb::Attachment> Put(const std::string& tenant, const std::string& content, const std::string& media_type,
                             const std::string& file_name);
  // The bytes the tenant stored under `sha256`. NOT_FOUND when there are none.
  Result<std::string> Get(const std::string& tenant, const std::string& sha256) const;
  // Whether the tenant stored the content `attachment` names, with that size.
  bool Contains(const std::string& tenant, const pb::Attachment& attachment) const;

  const std::string& directory() const { return directory_; }

 private:
  std::string PathFor(const std::string& tenant, const std::string& sha256) const;
  std::string directory_;
};

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(const std::string& data);

}  // namespace ks::attachments
