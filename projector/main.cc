// projector: folds the event log into the read models, in its own process.
#include "ks/projector/projector_main.h"

int main(int argc, char** argv) { return ks::projector::ProjectorMain(argc, argv); }
