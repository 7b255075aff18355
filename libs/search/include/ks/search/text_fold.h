// Folding text for search: lower case and Latin letters without their diacritics, so that
// "geïnformeerd" and "Geinformeerd" are one word ("geinformeerd"), for what is indexed and for
// what is asked alike. Bytes that are not Latin letters (other scripts, digits, punctuation) are
// kept as they are.
//
// Thread-safety: pure function.
#pragma once

#include <string>
#include <string_view>

namespace ks::search {

std::string FoldForSearch(std::string_view utf8);

}  // namespace ks::search
