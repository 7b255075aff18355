#include "support/store_compare.h"

#include <map>

#include "ks/readmodel/keys.h"
#include "ks/readmodel/store.h"

namespace ks::testing {
namespace {

std::map<std::string, std::string> Dump(const std::string& path, const std::vector<std::string>& ignore) {
  std::map<std::string, std::string> out;
  auto store = readmodel::ReadModelStore::OpenPrimary(path);
  if (!store) return out;
  Status s = (*store)->View().Scan("", "", [&](std::string_view k, std::string_view v) {
    for (const auto& prefix : ignore)
      if (k.starts_with(prefix)) return true;
    out.emplace(std::string(k), std::string(v));
    return true;
  });
  s.PermitUnchecked();
  return out;
}

std::string Printable(const std::string& key) {
  std::string out;
  for (unsigned char c : key) out += (c >= 32 && c < 127) ? std::string(1, static_cast<char>(c)) : "|";
  return out;
}

}  // namespace

std::vector<std::string> StoreDifferences(const std::string& path_a, const std::string& path_b,
                                          const std::vector<std::string>& ignore_prefixes) {
  const auto a = Dump(path_a, ignore_prefixes);
  const auto b = Dump(path_b, ignore_prefixes);
  std::vector<std::string> diffs;
  if (a.empty()) diffs.push_back("store " + path_a + " is empty or cannot be opened");
  for (const auto& [k, v] : a) {
    auto it = b.find(k);
    if (it == b.end())
      diffs.push_back("only in " + path_a + ": " + Printable(k));
    else if (it->second != v)
      diffs.push_back("different value: " + Printable(k));
    if (diffs.size() >= 20) return diffs;
  }
  for (const auto& [k, v] : b) {
    if (!a.count(k)) diffs.push_back("only in " + path_b + ": " + Printable(k));
    if (diffs.size() >= 20) return diffs;
  }
  return diffs;
}

std::vector<std::string> IndexCounterMismatches(const readmodel::ReadView& view) {
  std::map<std::string, int64_t> entries;  // counter key -> entries counted
  std::map<std::string, int64_t> counters;  // counter key -> its value
  Status s = view.Scan("", "", [&](std::string_view k, std::string_view v) {
    if (k.starts_with("#"))
      counters[std::string(k)] = readmodel::keys::DecodeInt64(v);
    else if (auto counter = readmodel::keys::IndexCounterOf(k))
      ++entries[*counter];
    return true;
  });
  std::vector<std::string> out;
  if (!s.ok()) out.push_back("scan: " + s.ToString());
  for (const auto& [key, n] : entries)
    if (counters[key] != n)
      out.push_back(Printable(key) + ": counter " + std::to_string(counters[key]) + ", entries " + std::to_string(n));
  for (const auto& [key, n] : counters)
    if (n != 0 && !entries.contains(key)) out.push_back(Printable(key) + ": counter " + std::to_string(n) + ", no entries");
  if (entries.empty()) out.push_back("no counted index entries at all");
  return out;
}

}  // namespace ks::testing
