// The projector program: flags, opening log and store, projecting until SIGTERM; or, with
// --rebuild-into, building a fresh store from offset 0 and exiting.
#pragma once

namespace ks::projector {
int ProjectorMain(int argc, char** argv);
}
