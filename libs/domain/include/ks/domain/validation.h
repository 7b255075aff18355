// Validation of commands before any state is looked at: required fields, sizes, formats, known
// enum values. Every error is INVALID_ARGUMENT and names the field path and the rule, e.g.
// "register_party.identifiers[0].value: a BSN must pass the 11-test".
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "klantstroom/v1/command_service.pb.h"
#include "ks/core/status.h"

namespace ks::domain {

namespace pb = ::klantstroom::v1;

// Limits a command must stay within.
inline constexpr size_t kMaxTextBytes = 64 * 1024;
inline constexpr size_t kMaxNameBytes = 256;
inline constexpr size_t kMaxIdBytes = 128;
inline constexpr size_t kMaxIdempotencyKeyBytes = 256;
inline constexpr size_t kMaxTopics = 20;
inline constexpr size_t kMaxRepeated = 20;

Status ValidateRequest(const pb::ExecuteRequest& request);

// Tenant ids: 1-63 characters of [a-z0-9-], starting with a letter or digit.
bool IsValidTenant(std::string_view tenant);

// Dutch citizen service number: 9 digits passing the 11-test (elfproef).
bool IsValidBsn(std::string_view bsn);
// Dutch chamber of commerce number: 8 digits.
bool IsValidKvk(std::string_view kvk);

// A digital address in its canonical form, so equal addresses compare equal however they were
// typed: e-mail lower-cased, handles "@name" lower-cased, phone numbers digits with an optional
// leading '+', Dutch "06..." kept as typed (no guessing of country codes).
// INVALID_ARGUMENT naming `field` when the value is not a valid address of its kind.
// A Dutch postcode as "1234AB" (spaces removed, letters upper-cased); other text is kept.
std::string NormalizePostcode(std::string_view postcode);
// A Dutch postcode: four digits (the first not 0) and two letters, once normalized.
bool IsValidPostcode(std::string_view normalized);
// A calendar date "YYYY-MM-DD" between 1900 and 2100.
bool IsValidDate(std::string_view date);
// The residence as stored: postcode normalized, spaces trimmed from the house number.
pb::PostalAddress NormalizedResidence(const pb::PostalAddress& residence);

// Largest attachment accepted: 10 MiB.
inline constexpr int64_t kMaxAttachmentBytes = 10 * 1024 * 1024;

Result<std::string> NormalizeDigitalAddress(pb::DigitalAddressKind kind, std::string_view value,
                                            std::string_view field);
// `address` with its value normalised. REQUIRES: it passed ValidateRequest (a valid address).
pb::DigitalAddress NormalizedAddress(const pb::DigitalAddress& address);

}  // namespace ks::domain
