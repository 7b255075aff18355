#include "ks/search/text_fold.h"

namespace ks::search {
namespace {

using namespace std::string_view_literals;

// The base letter of U+00C0..U+017F (Latin-1 Supplement and Latin Extended-A), lower case; 0
// where there is none (×, ÷) and the character is kept.
constexpr std::string_view kLatin1 =  // U+00C0..U+00FF
    "aaaaaaaceeeeiiii"   // À..Ï  (Æ as a)
    "dnooooo\0ouuuuyts"  // Ð..ß  (× kept, Þ as t, ß as s)
    "aaaaaaaceeeeiiii"   // à..ï
    "dnooooo\0ouuuuyty"sv;  // ð..ÿ (the literal's own length: it holds NULs)
constexpr std::string_view kLatinExtendedA =  // U+0100..U+017F
    "aaaaaaccccccccdd"
    "ddeeeeeeeeeegggg"
    "gggghhhhiiiiiiii"
    "iiiijjjjkkklllll"
    "lllllnnnnnnnnnoo"
    "oooooorrrrrrssss"
    "ssssttttttuuuuuu"
    "uuuuwwyyyzzzzzzs"sv;

}  // namespace

std::string FoldForSearch(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (c < 0x80) {
      out += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
      continue;
    }
    // Two-byte sequences 110xxxxx 10xxxxxx cover U+0080..U+07FF.
    if ((c & 0xE0) == 0xC0 && i + 1 < in.size() && (static_cast<unsigned char>(in[i + 1]) & 0xC0) == 0x80) {
      const unsigned cp = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(in[i + 1]) & 0x3Fu);
      // Ligatures and ß stand for two letters.
      const char* pair = cp == 0xC6 || cp == 0xE6 ? "ae" : cp == 0x152 || cp == 0x153 ? "oe" : cp == 0xDF ? "ss" : nullptr;
      if (pair != nullptr) {
        out += pair;
        ++i;
        continue;
      }
      char base = 0;
      if (cp >= 0xC0 && cp <= 0xFF) base = kLatin1[cp - 0xC0];
      if (cp >= 0x100 && cp <= 0x17F) base = kLatinExtendedA[cp - 0x100];
      if (base != 0) {
        out += base;
        ++i;
        continue;
      }
    }
    out += static_cast<char>(c);
  }
  return out;
}

}  // namespace ks::search
