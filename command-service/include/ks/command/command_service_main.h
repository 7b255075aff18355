// The command-service program: flags, opening the log, rebuilding state, serving until SIGTERM.
#pragma once

namespace ks::command {
int CommandServiceMain(int argc, char** argv);
}
