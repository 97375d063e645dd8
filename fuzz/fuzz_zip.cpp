// Fuzz target: recur::zip::Reader, the container reader of Keras 3 `.keras` files (libzip under
// ZIP_CHECKCONS plus recur's own walk of the central directory, which libzip does not expose).
// Arbitrary bytes are opened with Reader::from_bytes and every member is read with a 1 MiB
// bound; recur::Error is the only accepted failure.
//
// Invariants of an accepted archive (a break is a finding, reported with recur_fuzz::fail):
// a member that reads returns exactly its declared size, never more than the bound; and the
// members that read survive a round trip through the writer (archive_bytes, then from_bytes
// again gives the same names and bytes), so the writer accepts every name the reader accepts.
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "fuzz_support.hpp"
#include "recur/core/error.hpp"
#include "recur/io/zip_archive.hpp"

namespace {

constexpr std::uint64_t kMaxMemberBytes = std::uint64_t{1} << 20;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<recur::zip::Member> members;
  try {
    const recur::zip::Reader reader =
        recur::zip::Reader::from_bytes(std::string(reinterpret_cast<const char*>(data), size), "fuzz.keras");
    for (const std::string& name : reader.names()) {
      if (!reader.has(name)) recur_fuzz::fail("names() lists a member that has() denies");
      try {
        std::string bytes = reader.read(name, kMaxMemberBytes);
        if (bytes.size() > kMaxMemberBytes) recur_fuzz::fail("read() returned more than its bound");
        if (bytes.size() != reader.declared_size(name)) recur_fuzz::fail("read() returned other than the declared size");
        members.emplace_back(name, std::move(bytes));
      } catch (const recur::Error&) {
        // A damaged or refused member; the others are still read.
      }
    }
  } catch (const recur::Error&) {
    return 0;  // a typed refusal of the archive
  }

  std::string again;
  try {
    again = recur::zip::archive_bytes(members);
  } catch (const recur::Error& e) {
    recur_fuzz::fail(std::string("the writer refuses members the reader accepted: ") + e.what());
  }
  try {
    const recur::zip::Reader reread = recur::zip::Reader::from_bytes(again, "again.keras");
    if (reread.names().size() != members.size()) recur_fuzz::fail("member count changed in a write/read round trip");
    for (std::size_t i = 0; i < members.size(); ++i) {
      if (reread.names()[i] != members[i].first) recur_fuzz::fail("a member name changed in a write/read round trip");
      if (reread.read(members[i].first, kMaxMemberBytes) != members[i].second)
        recur_fuzz::fail("member bytes changed in a write/read round trip");
    }
  } catch (const recur::Error& e) {
    recur_fuzz::fail(std::string("an archive written from accepted members does not read back: ") + e.what());
  }
  return 0;
}
