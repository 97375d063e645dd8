// recur::zip: round trips, the layout Keras writes (STORED, 1980-01-01), DEFLATE members people
// re-zip with, and hostile archives. Hostile archives are built here byte by byte (RawEntry) so
// that any field can lie; DEFLATE data comes from libzip itself. Nothing is committed: every
// archive is made at test time.
#include "recur/io/zip_archive.hpp"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zip.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "recur/core/error.hpp"
#include "support/expect_error.hpp"

namespace {

namespace fs = std::filesystem;
using recur::ModelFormatError;
using recur::test::expect_error;
using recur::zip::Member;
using recur::zip::Reader;
const std::string kFormat = recur::codes::kModelFormat;

// A private folder for the test's files, removed after.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "recur_zip_test_XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

 private:
  fs::path dir_;
};

// Deterministic incompressible bytes.
std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(gen() & 0xff);
  return s;
}

std::uint32_t crc32(const std::string& s) {
  std::uint32_t crc = 0xffffffffu;
  for (unsigned char c : s) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

void put(std::string& s, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
std::uint64_t get(const std::string& s, std::size_t pos, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[pos + static_cast<std::size_t>(i)]);
  return v;
}

// One member of a hand-built archive: `payload` is what is stored (compressed or not); `size`
// and `crc` are what the headers declare; `zip64` writes both sizes in Zip64 extra fields.
struct RawEntry {
  std::string name;
  std::string payload;
  std::uint64_t size = 0;
  std::uint32_t crc = 0;
  std::uint16_t method = 0;
  std::uint16_t flags = 0;
  bool zip64 = false;
};

RawEntry stored(const std::string& name, const std::string& data) {
  return RawEntry{name, data, data.size(), crc32(data)};
}

// A zip archive of `entries`, local headers then central directory then end record, with the
// same values in local and central headers (libzip checks they agree).
std::string raw_zip(const std::vector<RawEntry>& entries) {
  std::string out, central;
  for (const RawEntry& e : entries) {
    std::string extra;
    if (e.zip64) {
      put(extra, 0x0001, 2);
      put(extra, 16, 2);
      put(extra, e.size, 8);
      put(extra, e.payload.size(), 8);
    }
    const std::uint64_t offset = out.size();
    const std::uint32_t size32 = e.zip64 ? 0xffffffffu : static_cast<std::uint32_t>(e.size);
    const std::uint32_t comp32 = e.zip64 ? 0xffffffffu : static_cast<std::uint32_t>(e.payload.size());
    const int version = e.zip64 ? 45 : 20;
    out += "PK\x03\x04";
    put(out, version, 2);
    put(out, e.flags, 2);
    put(out, e.method, 2);
    put(out, 0x0000, 2);  // time 00:00
    put(out, 0x0021, 2);  // date 1980-01-01
    put(out, e.crc, 4);
    put(out, comp32, 4);
    put(out, size32, 4);
    put(out, e.name.size(), 2);
    put(out, extra.size(), 2);
    out += e.name + extra + e.payload;

    central += "PK\x01\x02";
    put(central, 0x0300 | version, 2);  // made by: Unix
    put(central, version, 2);
    put(central, e.flags, 2);
    put(central, e.method, 2);
    put(central, 0x0000, 2);
    put(central, 0x0021, 2);
    put(central, e.crc, 4);
    put(central, comp32, 4);
    put(central, size32, 4);
    put(central, e.name.size(), 2);
    put(central, extra.size(), 2);
    put(central, 0, 2);  // comment
    put(central, 0, 2);  // disk
    put(central, 0, 2);  // internal attributes
    put(central, 0100644u << 16, 4);
    put(central, offset, 4);
    central += e.name + extra;
  }
  const std::uint64_t cd_offset = out.size();
  out += central;
  out += "PK\x05\x06";
  put(out, 0, 2);
  put(out, 0, 2);
  put(out, entries.size(), 2);
  put(out, entries.size(), 2);
  put(out, central.size(), 4);
  put(out, cd_offset, 4);
  put(out, 0, 2);
  return out;
}

// An archive built by libzip with every member compressed with `method`, to check the Reader
// against archives it did not write.
std::string libzip_archive(const std::vector<Member>& members, std::int32_t method) {
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* out = zip_source_buffer_create(nullptr, 0, 0, &err);
  zip_error_fini(&err);
  if (out == nullptr) throw std::runtime_error("zip_source_buffer_create");
  zip_t* za = zip_open_from_source(out, ZIP_CREATE | ZIP_TRUNCATE, nullptr);
  if (za == nullptr) throw std::runtime_error("zip_open_from_source");
  zip_source_keep(out);
  for (const auto& [name, data] : members) {
    zip_source_t* s = zip_source_buffer(za, data.data(), data.size(), 0);
    const zip_int64_t idx = zip_file_add(za, name.c_str(), s, 0);
    if (idx < 0 || zip_set_file_compression(za, static_cast<zip_uint64_t>(idx), method, 9) != 0)
      throw std::runtime_error("zip_file_add");
  }
  if (zip_close(za) != 0) throw std::runtime_error("zip_close");
  std::string bytes;
  zip_source_open(out);
  char buf[65536];
  for (zip_int64_t n; (n = zip_source_read(out, buf, sizeof buf)) > 0;) bytes.append(buf, static_cast<std::size_t>(n));
  zip_source_close(out);
  zip_source_free(out);
  return bytes;
}

// The raw DEFLATE stream of `data` (the payload of the first member of a libzip archive).
std::string deflated(const std::string& data) {
  const std::string zip = libzip_archive({{"x", data}}, ZIP_CM_DEFLATE);
  const std::size_t n = get(zip, 26, 2), m = get(zip, 28, 2), comp = get(zip, 18, 4);
  return zip.substr(30 + n + m, comp);
}

// What libzip's own stat says of every member of `bytes`: (name, comp_method, size, comp_size).
struct Stat {
  std::string name;
  int method;
  std::uint64_t size, comp_size;
};
std::vector<Stat> libzip_stats(const std::string& bytes) {
  zip_source_t* src = zip_source_buffer_create(bytes.data(), bytes.size(), 0, nullptr);
  zip_t* za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, nullptr);
  if (za == nullptr) {
    zip_source_free(src);
    throw std::runtime_error("libzip cannot open the archive");
  }
  std::vector<Stat> stats;
  for (zip_int64_t i = 0; i < zip_get_num_entries(za, 0); ++i) {
    zip_stat_t st;
    zip_stat_index(za, static_cast<zip_uint64_t>(i), 0, &st);
    stats.push_back({st.name, st.comp_method, st.size, st.comp_size});
  }
  zip_discard(za);
  return stats;
}

std::vector<Member> keras_like_members() {
  return {{"metadata.json", R"({"keras_version": "3.8.0", "date_saved": "2025-06-26@12:30:02"})"},
          {"config.json", R"({"module": "keras", "class_name": "Sequential", "config": {}})"},
          {"assets/empty.bin", ""},
          {"model.weights.h5", random_bytes(5 << 20, 7)}};
}

// ---- round trips and layout ----------------------------------------------------------------

TEST(ZipArchive, RoundTripThroughFileKeepsOrderAndBytes) {
  TempDir dir;
  const std::vector<Member> members = keras_like_members();
  const std::string path = dir.path("model.keras");
  recur::zip::write_archive(path, members);

  Reader reader = Reader::open(path);
  EXPECT_EQ(reader.label(), path);
  ASSERT_EQ(reader.names().size(), members.size());
  for (std::size_t i = 0; i < members.size(); ++i) {
    EXPECT_EQ(reader.names()[i], members[i].first);
    EXPECT_TRUE(reader.has(members[i].first));
    EXPECT_EQ(reader.declared_size(members[i].first), members[i].second.size());
    const std::string got = reader.read(members[i].first, 8 << 20);
    EXPECT_EQ(got.size(), members[i].second.size()) << members[i].first;
    EXPECT_TRUE(got == members[i].second) << members[i].first;
  }
  EXPECT_FALSE(reader.has("model.weights"));
  // The size bound is inclusive.
  EXPECT_EQ(reader.read("model.weights.h5", 5 << 20).size(), std::size_t{5} << 20);

  // A Reader moves without invalidating libzip's view of the bytes.
  Reader moved = std::move(reader);
  EXPECT_EQ(moved.read("config.json", 1024), members[1].second);
}

TEST(ZipArchive, WritesStoredMembersDatedLikePythonDeterministically) {
  const std::vector<Member> members = keras_like_members();
  const std::string bytes = recur::zip::archive_bytes(members);
  EXPECT_EQ(bytes, recur::zip::archive_bytes(members));
  EXPECT_TRUE(recur::zip::is_zip(bytes));

  const std::vector<Stat> stats = libzip_stats(bytes);
  ASSERT_EQ(stats.size(), members.size());
  for (std::size_t i = 0; i < stats.size(); ++i) {
    EXPECT_EQ(stats[i].name, members[i].first);
    EXPECT_EQ(stats[i].method, ZIP_CM_STORE) << stats[i].name;
    EXPECT_EQ(stats[i].comp_size, members[i].second.size());
  }
  // The first local header: method 0, DOS time 00:00, date 1980-01-01, no data descriptor.
  ASSERT_GE(bytes.size(), 30u);
  EXPECT_EQ(bytes.substr(0, 4), std::string("PK\x03\x04"));
  EXPECT_EQ(get(bytes, 6, 2) & 0x0008u, 0u);
  EXPECT_EQ(get(bytes, 8, 2), 0u);
  EXPECT_EQ(get(bytes, 10, 2), 0x0000u);
  EXPECT_EQ(get(bytes, 12, 2), 0x0021u);
}

TEST(ZipArchive, EmptyArchiveRoundTrips) {
  const std::string bytes = recur::zip::archive_bytes({});
  EXPECT_EQ(bytes.size(), 22u);
  EXPECT_TRUE(recur::zip::is_zip(bytes));
  const Reader reader = Reader::from_bytes(bytes, "empty.zip");
  EXPECT_TRUE(reader.names().empty());
  expect_error<ModelFormatError>([&] { (void)reader.read("config.json", 10); }, kFormat,
                                 {"empty.zip", "no member 'config.json'", "(none)"});
}

TEST(ZipArchive, ReadsDeflatedMembers) {
  std::string config;
  for (int i = 0; i < 2000; ++i) config += R"({"class_name": "LSTM", "config": {"units": 32}}, )";
  const std::vector<Member> members = {{"config.json", config}, {"model.weights.h5", random_bytes(100000, 3)}};
  const std::string bytes = libzip_archive(members, ZIP_CM_DEFLATE);
  const std::vector<Stat> stats = libzip_stats(bytes);
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].method, ZIP_CM_DEFLATE);
  EXPECT_LT(stats[0].comp_size * 10, stats[0].size);

  const Reader reader = Reader::from_bytes(bytes, "rezipped.keras");
  EXPECT_EQ(reader.names(), (std::vector<std::string>{"config.json", "model.weights.h5"}));
  EXPECT_EQ(reader.read("config.json", 1 << 20), config);
  EXPECT_TRUE(reader.read("model.weights.h5", 1 << 20) == members[1].second);
}

TEST(ZipArchive, SniffsZipHeads) {
  EXPECT_TRUE(recur::zip::is_zip(std::string("PK\x03\x04rest", 8)));
  EXPECT_TRUE(recur::zip::is_zip(std::string("PK\x05\x06", 4)));
  EXPECT_FALSE(recur::zip::is_zip("PK"));
  EXPECT_FALSE(recur::zip::is_zip("\x89HDF\r\n\x1a\n"));
  EXPECT_FALSE(recur::zip::is_zip(""));
}

TEST(ZipArchive, WriterRefusesNamesTheReaderWouldRefuse) {
  for (const std::string& name : {std::string("../evil"), std::string("a/../../b"), std::string("/abs"),
                                  std::string("C:evil"), std::string("a\\b"), std::string("a\0b", 3),
                                  std::string()}) {
    expect_error<recur::ValueError>([&] { (void)recur::zip::archive_bytes({{name, "x"}}); },
                                    recur::codes::kValue, {"cannot write a member named"});
  }
  expect_error<recur::ValueError>([] { (void)recur::zip::archive_bytes({{"a.json", "1"}, {"a.json", "2"}}); },
                                  recur::codes::kValue, {"two members are named 'a.json'"});
  EXPECT_EQ(recur::zip::member_name_problem("assets/"), "");
  EXPECT_EQ(recur::zip::member_name_problem("a..b/..c"), "");
}

TEST(ZipArchive, WriteArchiveReplacesAFileAndRefusesAMissingFolder) {
  TempDir dir;
  const std::string path = dir.path("model.keras");
  recur::zip::write_archive(path, {{"a", "first"}});
  recur::zip::write_archive(path, {{"b", "second"}});
  EXPECT_EQ(Reader::open(path).names(), std::vector<std::string>{"b"});
  expect_error<recur::IoError>([&] { recur::zip::write_archive(dir.path("no/such/model.keras"), {{"a", "x"}}); },
                               recur::codes::kIo, {"no/such/model.keras"});
}

// ---- hostile archives ----------------------------------------------------------------------

TEST(ZipHostile, MissingFileIsAnIoError) {
  expect_error<recur::IoError>([] { (void)Reader::open("/nonexistent/recur/model.keras", "Keras file"); },
                               recur::codes::kIo, {"/nonexistent/recur/model.keras"});
}

TEST(ZipHostile, NotAZipOrEmpty) {
  expect_error<ModelFormatError>([] { (void)Reader::from_bytes("", "m.keras"); }, kFormat, {"m.keras", "empty"});
  expect_error<ModelFormatError>([] { (void)Reader::from_bytes("\x89HDF\r\n\x1a\n and more bytes than 22", "m.keras"); },
                                 kFormat, {"m.keras", "not a zip archive"});
}

TEST(ZipHostile, TruncatedArchivesAreRefused) {
  const std::string bytes = recur::zip::archive_bytes(
      {{"metadata.json", "{}"}, {"config.json", std::string(1000, 'c')}, {"model.weights.h5", random_bytes(5000, 1)}});
  for (std::size_t cut : {std::size_t{1}, std::size_t{4}, std::size_t{30}, bytes.size() / 2, bytes.size() - 40,
                          bytes.size() - 22, bytes.size() - 1}) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    expect_error<ModelFormatError>([&] { (void)Reader::from_bytes(bytes.substr(0, cut), "cut.keras"); }, kFormat,
                                   {"cut.keras", "zip archive"});
  }
  // 100 bytes cut out of the first member: every offset after it is wrong.
  std::string holed = bytes.substr(0, 60) + bytes.substr(160);
  expect_error<ModelFormatError>([&] { (void)Reader::from_bytes(holed, "holed.keras"); }, kFormat,
                                 {"holed.keras", "damaged"});
  // Bytes after the end record (its comment length no longer reaches the end).
  expect_error<ModelFormatError>([&] { (void)Reader::from_bytes(bytes + "garbage", "tail.keras"); }, kFormat,
                                 {"tail.keras"});
}

TEST(ZipHostile, NamesThatEscapeTheFolderAreRefusedAtOpen) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"../evil", "'..' component"},       {"a/../../evil", "'..' component"},
      {"/abs", "absolute path"},           {"C:evil", "drive letter"},
      {"a\\..\\evil", "backslash"},        {std::string("config.json\0.sh", 15), "NUL byte"},
      {"", "empty"}};
  for (const auto& [name, words] : cases) {
    SCOPED_TRACE(name);
    const std::string bytes = raw_zip({stored("config.json", "{}"), stored(name, "x")});
    expect_error<ModelFormatError>([&] { (void)Reader::from_bytes(bytes, "evil.keras"); }, kFormat,
                                   {"evil.keras", words});
  }
}

TEST(ZipHostile, DuplicateNamesAreRefused) {
  const std::string bytes = raw_zip({stored("config.json", "{}"), stored("config.json", "{\"evil\": 1}")});
  expect_error<ModelFormatError>([&] { (void)Reader::from_bytes(bytes, "dup.keras"); }, kFormat,
                                 {"dup.keras", "two members named 'config.json'"});
  // libzip shows a NUL byte as a space: "a\0" and "a " collide there.
  const std::string nul = raw_zip({stored("a ", "1"), stored(std::string("a\0", 2), "2")});
  expect_error<ModelFormatError>([&] { (void)Reader::from_bytes(nul, "nul.keras"); }, kFormat,
                                 {"nul.keras", "NUL byte"});
}

TEST(ZipHostile, MissingMemberListsTheMembers) {
  const Reader reader = Reader::from_bytes(recur::zip::archive_bytes(keras_like_members()), "m.keras");
  expect_error<ModelFormatError>([&] { (void)reader.read("model.weights.npz", 1 << 20); }, kFormat,
                                 {"m.keras", "no member 'model.weights.npz'", "4 members", "'metadata.json'",
                                  "'config.json'", "'model.weights.h5'"});
  std::vector<RawEntry> many;
  for (int i = 0; i < 25; ++i) many.push_back(stored("f" + std::to_string(i), ""));
  const Reader crowd = Reader::from_bytes(raw_zip(many), "many.zip");
  expect_error<ModelFormatError>([&] { (void)crowd.read("g", 1); }, kFormat,
                                 {"'f0'", "'f19'", "(and 5 more)"});
}

TEST(ZipHostile, DeclaredSizeOverTheBoundIsRefusedBeforeReading) {
  const Reader reader = Reader::from_bytes(recur::zip::archive_bytes(keras_like_members()), "m.keras");
  expect_error<ModelFormatError>([&] { (void)reader.read("model.weights.h5", (5 << 20) - 1); }, kFormat,
                                 {"m.keras", "'model.weights.h5'", "5242880 bytes", "limit"});
  // A Zip64 member declaring 2^60 bytes.
  RawEntry huge{"model.weights.h5", deflated(std::string(1000, 'a')), std::uint64_t{1} << 60,
                crc32(std::string(1000, 'a')), ZIP_CM_DEFLATE, 0, true};
  const Reader liar = Reader::from_bytes(raw_zip({huge}), "liar.keras");
  expect_error<ModelFormatError>([&] { (void)liar.read("model.weights.h5", std::uint64_t{4} << 30); }, kFormat,
                                 {"liar.keras", "declares", "limit"});
}

TEST(ZipHostile, ZipBombsAreRefusedWithoutDecompressing) {
  // 50 MB of zeros deflate about 1030:1.
  const std::string bomb = libzip_archive({{"model.weights.h5", std::string(50'000'000, '\0')}}, ZIP_CM_DEFLATE);
  const std::vector<Stat> stats = libzip_stats(bomb);
  ASSERT_EQ(stats.size(), 1u);
  ASSERT_GT(stats[0].size, stats[0].comp_size * 1000) << "zlib no longer compresses zeros 1000:1";
  const Reader reader = Reader::from_bytes(bomb, "bomb.keras");
  expect_error<ModelFormatError>([&] { (void)reader.read("model.weights.h5", std::uint64_t{1} << 30); }, kFormat,
                                 {"bomb.keras", "'model.weights.h5'", "zip bomb", "50000000"});

  // Declaring 2^60 bytes under no bound: allocating that would throw std::bad_alloc, which
  // expect_error would report as the wrong exception.
  RawEntry huge{"w", deflated(std::string(1000, 'a')), std::uint64_t{1} << 60, crc32(std::string(1000, 'a')),
                ZIP_CM_DEFLATE, 0, true};
  const Reader liar = Reader::from_bytes(raw_zip({huge}), "liar.keras");
  EXPECT_EQ(liar.declared_size("w"), std::uint64_t{1} << 60);
  expect_error<ModelFormatError>([&] { (void)liar.read("w", ~std::uint64_t{0}); }, kFormat, {"'w'", "zip bomb"});
}

TEST(ZipHostile, FlippedDataByteFailsTheCrc) {
  const std::string weights = random_bytes(10000, 5);
  std::string bytes = recur::zip::archive_bytes({{"config.json", "{}"}, {"model.weights.h5", weights}});
  const std::size_t at = bytes.find(weights);
  ASSERT_NE(at, std::string::npos);
  bytes[at + 5000] = static_cast<char>(bytes[at + 5000] ^ 0x01);
  const Reader reader = Reader::from_bytes(bytes, "flip.keras");
  EXPECT_EQ(reader.read("config.json", 10), "{}");
  expect_error<ModelFormatError>([&] { (void)reader.read("model.weights.h5", 1 << 20); }, kFormat,
                                 {"flip.keras", "'model.weights.h5'", "CRC"});

  // The same in a DEFLATE member: the stream no longer decodes, or decodes to other bytes.
  std::string text;
  for (int i = 0; i < 500; ++i) text += "units " + std::to_string(i) + ", ";
  std::string z = libzip_archive({{"config.json", text}}, ZIP_CM_DEFLATE);
  const std::size_t data_at = 30 + get(z, 26, 2) + get(z, 28, 2);
  z[data_at + 20] = static_cast<char>(z[data_at + 20] ^ 0x10);
  const Reader zr = Reader::from_bytes(z, "zflip.keras");
  expect_error<ModelFormatError>([&] { (void)zr.read("config.json", 1 << 20); }, kFormat,
                                 {"zflip.keras", "'config.json'"});
}

TEST(ZipHostile, SizesThatLieAreRefused) {
  // DEFLATE data of 1000 bytes declared as 500 (and its CRC): more bytes than declared.
  const std::string data(1000, 'q');
  RawEntry more{"m", deflated(data), 500, crc32(data.substr(0, 500)), ZIP_CM_DEFLATE};
  const Reader r1 = Reader::from_bytes(raw_zip({more}), "more.zip");
  expect_error<ModelFormatError>([&] { (void)r1.read("m", 1 << 20); }, kFormat, {"more.zip", "'m'"});
  // Declared as 2000: fewer.
  RawEntry fewer{"m", deflated(data), 2000, crc32(data), ZIP_CM_DEFLATE};
  const Reader r2 = Reader::from_bytes(raw_zip({fewer}), "fewer.zip");
  expect_error<ModelFormatError>([&] { (void)r2.read("m", 1 << 20); }, kFormat, {"fewer.zip", "'m'"});
  // Stored with a size different from its stored bytes.
  RawEntry odd{"m", data, 999, crc32(data), ZIP_CM_STORE};
  expect_error<ModelFormatError>(
      [&] {
        const Reader r3 = Reader::from_bytes(raw_zip({odd}), "odd.zip");
        (void)r3.read("m", 1 << 20);
      },
      kFormat, {"odd.zip"});
}

TEST(ZipHostile, EncryptionAndUnknownMethodsAreRefused) {
  RawEntry secret = stored("config.json", "{}");
  secret.flags = 0x0001;  // traditional PKWARE encryption
  const Reader r1 = Reader::from_bytes(raw_zip({secret}), "secret.keras");
  expect_error<ModelFormatError>([&] { (void)r1.read("config.json", 100); }, kFormat,
                                 {"secret.keras", "'config.json'", "encrypted"});
  RawEntry d64 = stored("config.json", "{}");
  d64.method = ZIP_CM_DEFLATE64;
  const Reader r2 = Reader::from_bytes(raw_zip({d64}), "d64.keras");
  expect_error<ModelFormatError>([&] { (void)r2.read("config.json", 100); }, kFormat,
                                 {"d64.keras", "'config.json'", "compression method 9", "Deflate64"});
}

TEST(ZipHostile, TooManyMembersAreRefused) {
  std::vector<RawEntry> many;
  for (std::size_t i = 0; i <= recur::zip::kMaxMembers; ++i) many.push_back(stored(std::to_string(i), ""));
  expect_error<ModelFormatError>([&] { (void)Reader::from_bytes(raw_zip(many), "many.zip"); }, kFormat,
                                 {"many.zip", "10001 members", "more than 10000"});

  // A Zip64 end record declaring 2^40 members, refused before libzip sizes a table by it.
  std::string z = raw_zip({stored("a", "1")});
  const std::size_t eocd = z.size() - 22;
  std::string tail;
  tail += "PK\x06\x06";
  put(tail, 44, 8);
  put(tail, 0x032d, 2);
  put(tail, 45, 2);
  put(tail, 0, 4);
  put(tail, 0, 4);
  put(tail, std::uint64_t{1} << 40, 8);
  put(tail, std::uint64_t{1} << 40, 8);
  put(tail, get(z, eocd + 12, 4), 8);
  put(tail, get(z, eocd + 16, 4), 8);
  tail += "PK\x06\x07";
  put(tail, 0, 4);
  put(tail, eocd, 8);
  put(tail, 1, 4);
  std::string end = z.substr(eocd);
  for (int i = 8; i < 20; ++i) end[static_cast<std::size_t>(i)] = '\xff';
  const std::string hostile = z.substr(0, eocd) + tail + end;
  expect_error<ModelFormatError>([&] { (void)Reader::from_bytes(hostile, "z64.zip"); }, kFormat,
                                 {"z64.zip", "1099511627776 members"});
}

}  // namespace
