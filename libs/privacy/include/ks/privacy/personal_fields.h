// Which fields of which messages are personal data: names, identifiers (BSN, KvK), digital and
// postal addresses, birth dates, and free text a person wrote or an employee wrote about them.
// Everything else (channel, times, topics, statuses, ids) stays readable, so that counts and KPIs
// still add up after a person is erased.
//
// Thread-safety: the table is built once and then only read.
#pragma once

#include <vector>

#include <google/protobuf/descriptor.h>

namespace ks::privacy {

// The personal fields of messages of this type; empty for a type with none.
const std::vector<const google::protobuf::FieldDescriptor*>& PersonalFields(
    const google::protobuf::Descriptor* type);

}  // namespace ks::privacy
