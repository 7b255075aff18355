#include "ks/core/flags.h"

#include <cstdio>
#include <cstdlib>

namespace ks {

Flags::Flags(std::string program, std::string summary) : program_(std::move(program)), summary_(std::move(summary)) {}

Flags& Flags::Define(const std::string& name, const std::string& default_value, const std::string& help) {
  defs_[name] = {default_value, help};
  return *this;
}

bool Flags::Parse(int argc, char** argv, int* exit_code) {
  *exit_code = 0;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::printf("%s: %s\n\nFlags (each also read from KS_<NAME> in the environment):\n", program_.c_str(),
                  summary_.c_str());
      for (const auto& [name, def] : defs_)
        std::printf("  --%-28s %s (default: %s)\n", name.c_str(), def.help.c_str(),
                    def.default_value.empty() ? "none" : def.default_value.c_str());
      return false;
    }
    if (arg == "--version") {
      std::printf("%s %s\n", program_.c_str(), kVersion);
      return false;
    }
    if (!arg.starts_with("--")) {
      positional_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::string value;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else if (defs_.count(name) && i + 1 < argc && !std::string(argv[i + 1]).starts_with("--")) {
      value = argv[++i];
    } else {
      value = "true";  // a bare boolean flag
    }
    if (!defs_.count(name)) {
      std::fprintf(stderr, "%s: unknown flag --%s (see --help)\n", program_.c_str(), name.c_str());
      *exit_code = 2;
      return false;
    }
    values_[name] = value;
  }
  return true;
}

std::string Flags::Get(const std::string& name) const {
  if (auto it = values_.find(name); it != values_.end()) return it->second;
  std::string env = "KS_";
  for (char c : name) env.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  if (const char* v = std::getenv(env.c_str()); v != nullptr) return v;
  auto def = defs_.find(name);
  KS_CHECK(def != defs_.end());
  return def->second.default_value;
}

Result<int64_t> Flags::GetInt(const std::string& name) const {
  const std::string v = Get(name);
  char* end = nullptr;
  const long long n = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0') return std::unexpected(InvalidArgument("--{}: '{}' is not a whole number", name, v));
  return n;
}

bool Flags::GetBool(const std::string& name) const {
  const std::string v = Get(name);
  return v == "true" || v == "1" || v == "yes";
}

}  // namespace ks
