#include "ks/attachments/attachment_store.h"

#include <filesystem>
#include <fstream>
#include <random>

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include "ks/domain/validation.h"

namespace ks::attachments {
namespace {

bool AllowedMediaType(const std::string& type) {
  return type == "image/jpeg" || type == "image/png" || type == "image/heic" || type == "image/webp" ||
         type == "application/pdf" || type == "text/plain";
}

bool IsHex64(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

AttachmentStore::AttachmentStore(std::string directory) : directory_(std::move(directory)) {
  std::error_code ec;
  std::filesystem::create_directories(directory_, ec);
}

std::string AttachmentStore::PathFor(const std::string& tenant, const std::string& sha256) const {
  return directory_ + "/" + tenant + "/" + sha256.substr(0, 2) + "/" + sha256;
}

Result<pb::Attachment> AttachmentStore::Put(const std::string& tenant, const std::string& content,
                                            const std::string& media_type, const std::string& file_name) {
  if (!domain::IsValidTenant(tenant)) return std::unexpected(InvalidArgument("tenant: is not a valid tenant id"));
  if (content.empty()) return std::unexpected(InvalidArgument("content: is empty"));
  if (static_cast<int64_t>(content.size()) > domain::kMaxAttachmentBytes)
    return std::unexpected(InvalidArgument("content: at most {} bytes (10 MiB); got {}", domain::kMaxAttachmentBytes,
                                           content.size()));
  if (!AllowedMediaType(media_type))
    return std::unexpected(InvalidArgument(
        "media_type: '{}' is not accepted (image/jpeg, image/png, image/heic, image/webp, application/pdf, text/plain)",
        media_type.substr(0, 100)));
  if (file_name.size() > domain::kMaxNameBytes)
    return std::unexpected(InvalidArgument("file_name: must be at most {} bytes", domain::kMaxNameBytes));
  pb::Attachment attachment;
  attachment.set_sha256(Sha256Hex(content));
  attachment.set_media_type(media_type);
  attachment.set_size_bytes(static_cast<int64_t>(content.size()));
  attachment.set_file_name(file_name);
  const std::string path = PathFor(tenant, attachment.sha256());
  if (std::filesystem::exists(path)) return attachment;  // same bytes, already stored

  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  const std::string temp = path + ".tmp" + std::to_string(std::random_device{}());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return std::unexpected(IoError("attachment store {}: cannot create a file", directory_));
  size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n <= 0) {
      ::close(fd);
      std::filesystem::remove(temp, ec);
      return std::unexpected(IoError("attachment store {}: write failed (disk full?)", directory_));
    }
    written += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || std::rename(temp.c_str(), path.c_str()) != 0) {
    std::filesystem::remove(temp, ec);
    return std::unexpected(IoError("attachment store {}: could not make the file durable", directory_));
  }
  return attachment;
}

Result<std::string> AttachmentStore::Get(const std::string& tenant, const std::string& sha256) const {
  if (!IsHex64(sha256)) return std::unexpected(InvalidArgument("sha256: must be 64 lower-case hex digits"));
  if (!domain::IsValidTenant(tenant)) return std::unexpected(InvalidArgument("tenant: is not a valid tenant id"));
  std::ifstream in(PathFor(tenant, sha256), std::ios::binary);
  if (!in) return std::unexpected(NotFound("sha256: no attachment {} is stored", sha256));
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool AttachmentStore::Contains(const std::string& tenant, const pb::Attachment& attachment) const {
  if (!IsHex64(attachment.sha256()) || !domain::IsValidTenant(tenant)) return false;
  std::error_code ec;
  const auto size = std::filesystem::file_size(PathFor(tenant, attachment.sha256()), ec);
  return !ec && static_cast<int64_t>(size) == attachment.size_bytes();
}

}  // namespace ks::attachments
