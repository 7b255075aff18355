// The key vault of a test process: one per process, in a directory removed when the process ends.
// Tests that run the command side, projector and queries in-process share it, as the programs
// share their --vault directory.
#pragma once

#include <string_view>

#include "ks/core/status.h"
#include "ks/domain/event_codec.h"
#include "ks/privacy/key_vault.h"
#include "ks/privacy/sealing.h"
#include "support/temp_dir.h"

namespace ks::testing {

inline privacy::KeyVault& TestVault() {
  // A static object, so that its destructor removes the directory at exit (a leaked one left a
  // directory under /tmp for every test process). The vault itself is never destroyed: it holds
  // no open files, and a test's threads may still be using it while statics are torn down.
  static TempDir dir;
  static privacy::KeyVault* vault = [] {
    auto opened = privacy::KeyVault::Open(dir.Sub("vault"), /*create=*/true);
    KS_CHECK(opened.has_value());
    return opened->release();
  }();
  return *vault;
}

// An event as stored in a log written with `vault`, decoded and with its personal data opened.
inline privacy::pb::EventEnvelope OpenedEvent(std::string_view bytes, privacy::KeyVault& vault = TestVault()) {
  auto event = domain::DecodeEvent(bytes);
  KS_CHECK(event.has_value());
  privacy::KeyRing keys(&vault);
  KS_CHECK(privacy::OpenEvent(*event, keys).has_value());
  return *event;
}

}  // namespace ks::testing
