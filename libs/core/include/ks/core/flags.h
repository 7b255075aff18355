// Command-line flags for the programs: "--name=value" or "--name value", with an environment
// variable fallback (KS_<NAME> with '-' as '_', upper-cased), then the default. "--help" prints
// the flags that were declared; "--version" prints the version.
//
// Thread-safety: parse once in main(), then read from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ks/core/status.h"

namespace ks {

inline constexpr const char* kVersion = "0.1.0";

class Flags {
 public:
  // `program` and `summary` are printed by --help.
  Flags(std::string program, std::string summary);

  // Declares a flag with its default and help text; returns *this for chaining.
  Flags& Define(const std::string& name, const std::string& default_value, const std::string& help);

  // Parses argv. Returns false when the program should exit (after --help/--version, exit code 0,
  // or on an unknown flag, after printing why, with *exit_code = 2).
  bool Parse(int argc, char** argv, int* exit_code);

  std::string Get(const std::string& name) const;
  Result<int64_t> GetInt(const std::string& name) const;
  bool GetBool(const std::string& name) const;
  // Arguments that are not flags, in order.
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  struct Def {
    std::string default_value;
    std::string help;
  };
  std::string program_;
  std::string summary_;
  std::map<std::string, Def> defs_;
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

}  // namespace ks
