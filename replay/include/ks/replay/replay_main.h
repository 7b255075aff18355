// The ks-replay program's main, as a function so that the all-in-one tests can link it.
#pragma once

namespace ks::replay {

int ReplayMain(int argc, char** argv);

}  // namespace ks::replay
