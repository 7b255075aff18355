// ks-replay: the analysts' KPI replay over a period of the event log.
#include "ks/replay/replay_main.h"

int main(int argc, char** argv) { return ks::replay::ReplayMain(argc, argv); }
