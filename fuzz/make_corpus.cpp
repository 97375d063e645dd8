// Writes the seed corpus of the fuzz targets, deterministically, into <dir>/<target>/:
//   fuzz_model_file    model files saved by the library (LSTM, GRU, Bidirectional, Embedding
//                      and Masking models, compiled and not, with metadata; a checkpoint with its
//                      training state; a Functional encoder-decoder with merges, a shared layer
//                      and two outputs); fuzz_model_file_crc
//                      reads the same seeds
//   fuzz_load_weights  files of recur_fuzz::load_weights_model's architecture (recur, Keras 3
//                      .weights.h5 and legacy Keras .h5), and one of another
//   fuzz_npy           .npy files v1.0 / v2.0 of float32, float64 and integer arrays, rank 1 to 4
//   fuzz_csv           an options byte (see fuzz_csv.cpp) followed by a small CSV
//   fuzz_onnx          the fuzz_model_file seeds that ONNX can hold, exported as .onnx
//   fuzz_keras_h5      the fuzz_model_file seeds exported as legacy Keras .h5 files
//   fuzz_keras_config  a byte picking one of recur_fuzz::keras_config_models(), then that
//                      model's Keras 3 config.json; and the config.json of every
//                      fuzz_model_file seed's .keras export, behind byte 0
// (fuzz/README.md: the real-world files copied beside these, which this program leaves alone.)
// Usage: fuzz_make_corpus fuzz/corpus
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "recur/callbacks/callbacks.hpp"
#include "recur/io/zip_archive.hpp"
#include "recur/layers/core.hpp"
#include "recur/layers/dense.hpp"
#include "recur/layers/dropout.hpp"
#include "recur/layers/recurrent.hpp"
#include "recur/layers/wrappers.hpp"
#include "recur/layers/graph.hpp"
#include "recur/layers/merge.hpp"
#include "recur/model/model.hpp"
#include "recur/model/sequential.hpp"
#include "recur/optimizers/optimizers.hpp"

namespace fs = std::filesystem;

namespace {

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

void model_seeds(const fs::path& dir) {
  {
    recur::Sequential m("forecaster");
    m.add(recur::LSTM(3));
    m.add(recur::Dense(1));
    m.build({5, 1}, 7);
    m.compile("adam", "mse", {"mae"});
    m.save((dir / "lstm_dense.recur").string(),
           R"({"task":"forecast","target":"y","lookback":5,"input_offset":[0.5],"input_scale":[2.0]})");
  }
  {
    // A checkpoint: a model with dropout trained 2 epochs, with its training state (optimizer
    // slots, generators, EarlyStopping's best weights, history).
    recur::Sequential m;
    m.add(recur::LSTM(recur::LstmOptions(2).dropout(0.1f)));
    m.add(recur::Dropout(0.2f));
    m.add(recur::Dense(1));
    m.build({3, 1}, 5);
    m.compile("adam", "mse");
    recur::Tensor x({8, 3, 1}), y({8, 1});
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 5) * 0.25f;
    for (std::size_t i = 0; i < y.size(); ++i) y[i] = static_cast<float>(i % 3) * 0.5f;
    const std::string path = (dir / "checkpoint.recur").string();
    m.fit(x, y,
          recur::FitOptions().epochs(2).batch_size(4).seed(1).validation_split(0.25).callbacks(
              {std::make_shared<recur::EarlyStopping>(recur::EarlyStoppingOptions().restore_best_weights(true)),
               std::make_shared<recur::ModelCheckpoint>(recur::ModelCheckpointOptions(path).save_training_state(true))}));
  }
  {
    recur::Sequential m;
    m.add(recur::GRU(recur::GruOptions(2).return_sequences(true)));
    m.add(recur::GRU(recur::GruOptions(2).reset_after(false)));
    m.add(recur::Dense(1, "sigmoid"));
    m.build({4, 2}, 3);
    auto sgd = std::make_unique<recur::SGD>(recur::SgdOptions().learning_rate(0.05f).momentum(0.9f));
    sgd->set_clipping({.clipnorm = 1.0f, .clipvalue = 0.5f, .global_clipnorm = {}});
    m.compile(std::move(sgd), "binary_crossentropy", {"accuracy"});
    m.save((dir / "gru.recur").string());
  }
  {
    recur::Sequential m("bidi");
    m.add(recur::Bidirectional(recur::LSTM(recur::LstmOptions(2).return_sequences(true)), "concat"));
    m.add(recur::Bidirectional(recur::SimpleRNN(2), "ave"));
    m.add(recur::Dense(3, "softmax"));
    m.build({3, 2}, 5);
    auto adamw = std::make_unique<recur::AdamW>();
    adamw->set_schedule(recur::exponential_decay(0.01, 100, 0.9, true));
    m.compile(std::move(adamw), "categorical_crossentropy", {"accuracy"});
    m.save((dir / "bidirectional.recur").string(), R"({"classes":["a","b","c"]})");
  }
  {
    recur::Sequential m("tokens");
    m.add(recur::Embedding(recur::EmbeddingOptions(6, 3).mask_zero(true)));
    m.add(recur::LSTM(recur::LstmOptions(2).return_sequences(true)));
    m.add(recur::GlobalAveragePooling1D());
    m.add(recur::Dense(2));
    m.build({4}, 11);
    m.compile(std::make_unique<recur::RMSprop>(), recur::Loss{recur::parse_loss("sparse_categorical_crossentropy"), true, 1.0},
              {"accuracy"});
    m.save((dir / "embedding_masking.recur").string(),
           R"({"task":"classify","input":{"form":"sequence","alphabet":"ACGT","embed":1}})");
  }
  {
    recur::Sequential m("masked");
    m.add(recur::Masking(-1.0f));
    m.add(recur::RNN(recur::LSTMCell(2), recur::RnnOptions().return_sequences(true)));
    m.add(recur::TimeDistributed(recur::Dense(2, "relu")));
    m.add(recur::Dropout(0.25f));
    m.add(recur::Flatten());
    m.add(recur::Dense(1));
    m.build({3, 2}, 13);  // never compiled: the file has no "compile" entry
    m.save((dir / "masking_uncompiled.recur").string());
  }
  {
    recur::set_random_seed(17);
    auto enc_in = recur::Input({3, 2}, "encoder_input");
    auto dec_in = recur::Input({2, 2}, "decoder_input");
    auto [enc, h, c] = recur::shared(recur::LSTM(recur::LstmOptions(3).return_state(true))).call<3>(enc_in);
    auto seq = recur::shared(recur::LSTM(recur::LstmOptions(3).return_sequences(true)))(dec_in, {.initial_state = {h, c}});
    auto gru = recur::shared(recur::GRU(3));
    auto merged = recur::shared(recur::Concatenate())(
        {recur::shared(recur::Add())({gru(seq), enc}), recur::shared(recur::Average())({gru(seq), c})});
    auto y1 = recur::shared(recur::Dense(1))(merged);
    auto y2 = recur::shared(recur::Dense(2, "softmax"))(recur::shared(recur::Reshape({-1}))(recur::shared(recur::RepeatVector(2))(h)));
    recur::Model m({enc_in, dec_in}, {y1, y2}, "functional");
    m.compile("adam", std::vector<std::string>{"mse", "sparse_categorical_crossentropy"}, {}, {1.0, 0.5});
    m.save((dir / "functional.recur").string(), R"({"note":"seed"})");
  }
}

void load_weights_seeds(const fs::path& dir) {
  for (std::uint64_t seed : {1, 2}) {
    recur::Sequential m = recur_fuzz::load_weights_model();
    if (seed != 1) m.build({4, 2}, seed);
    m.compile("adam", "mse");
    m.save((dir / ("same_architecture_" + std::to_string(seed) + ".recur")).string());
  }
  // Keras weight files of the same architecture: Keras 3's .weights.h5 and a legacy .h5 model.
  recur::Sequential keras = recur_fuzz::load_weights_model();
  keras.save((dir / "keras3.weights.h5").string());
  keras.save((dir / "legacy_model.h5").string());
  recur::Sequential other;
  other.add(recur::LSTM(recur::LstmOptions(3).return_sequences(true)));
  other.add(recur::GRU(4));  // differs in units
  other.add(recur::Dense(1));
  other.build({4, 2}, 1);
  other.save((dir / "other_units.recur").string());
}

// Each fuzz_model_file seed (not the checkpoint) exported to the foreign formats recur writes:
// .onnx into `onnx`, .h5 into `h5`, and its .keras archive's config.json, behind a byte 0, into
// `config`. A model a format cannot hold (ONNX has no Embedding masks, ...) is skipped there.
void foreign_seeds(const fs::path& models, const fs::path& onnx, const fs::path& h5, const fs::path& config) {
  for (const char* stem : {"lstm_dense", "gru", "bidirectional", "embedding_masking", "masking_uncompiled", "functional"}) {
    const recur::Model m = recur::Model::load((models / (std::string(stem) + ".recur")).string());
    try {
      m.save((onnx / (std::string(stem) + ".onnx")).string());
    } catch (const recur::Error& e) {
      std::fprintf(stderr, "fuzz_make_corpus: %s not exported to ONNX: %.200s\n", stem, e.what());
    }
    m.save((h5 / (std::string(stem) + ".h5")).string());
    const fs::path keras = config / (std::string(stem) + ".keras");
    m.save(keras.string());
    write_file(config / (std::string(stem) + ".json"),
               std::string(1, '\0') + recur::zip::Reader::open(keras.string()).read("config.json", 1 << 20));
    fs::remove(keras);
  }
  std::vector<recur::Sequential> targets = recur_fuzz::keras_config_models();
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const fs::path keras = config / "target.keras";
    targets[i].save(keras.string());
    write_file(config / ("target_" + std::to_string(i) + ".json"),
               std::string(1, static_cast<char>(i)) + recur::zip::Reader::open(keras.string()).read("config.json", 1 << 20));
    fs::remove(keras);
  }
}

// A .npy file: magic, version, header length, the header dict padded with spaces to a multiple
// of 64 bytes and ended by '\n' (numpy.lib.format), then the raw data.
std::string npy(int major, const std::string& descr, const std::string& shape, const std::string& data) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  const std::size_t prefix = major == 1 ? 10 : 12;
  while ((prefix + dict.size() + 1) % 64 != 0) dict += ' ';
  dict += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  const std::size_t n = dict.size();
  out += static_cast<char>(n & 0xff);
  out += static_cast<char>((n >> 8) & 0xff);
  if (major != 1) out += std::string(2, '\0');
  return out + dict + data;
}

template <typename T>
std::string raw(const std::vector<T>& values, bool big_endian = false) {
  std::string out;
  for (T v : values) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    for (std::size_t i = 0; i < sizeof(T); ++i) out += b[big_endian ? sizeof(T) - 1 - i : i];
  }
  return out;
}

void npy_seeds(const fs::path& dir) {
  write_file(dir / "f4_rank1.npy", npy(1, "<f4", "(3,)", raw<float>({1.5f, -2.0f, 0.25f})));
  write_file(dir / "f8_rank2.npy", npy(1, "<f8", "(2, 3)", raw<double>({1, 2, 3, 4, 5, 6})));
  write_file(dir / "i4_rank3.npy", npy(1, "<i4", "(2, 2, 2)", raw<std::int32_t>({0, 1, -2, 3, 4, -5, 6, 7})));
  write_file(dir / "u1_rank2.npy", npy(1, "|u1", "(2, 2)", raw<std::uint8_t>({0, 1, 200, 255})));
  write_file(dir / "f8_big_endian.npy", npy(1, ">f8", "(2,)", raw<double>({3.5, -1e10}, true)));
  write_file(dir / "i8_rank1.npy", npy(1, "<i8", "(4,)", raw<std::int64_t>({-1, 0, 1LL << 40, 7})));
  write_file(dir / "i2_rank1.npy", npy(1, "<i2", "(1,)", raw<std::int16_t>({-300})));
  write_file(dir / "f4_rank4.npy", npy(1, "<f4", "(1, 2, 1, 2)", raw<float>({1, 2, 3, 4})));
  write_file(dir / "f4_v2.npy", npy(2, "<f4", "(2, 2)", raw<float>({0.5f, 1.5f, 2.5f, 3.5f})));
  write_file(dir / "u8_v3.npy", npy(3, "<u8", "(2,)", raw<std::uint64_t>({9, 1ULL << 50})));
}

void csv_seeds(const fs::path& dir) {
  // Byte 0 is the options byte of fuzz_csv.cpp.
  const char kTime = 0x20, kSeason = 0x40, kInterpolate = 0x08, kDrop = 0x10;
  write_file(dir / "comma_monthly.csv",
             std::string(1, kTime) +
                 "month,passengers,temp\n1949-01,112,3.5\n1949-02,118,4.1\n1949-03,132,7.9\n"
                 "1949-04,129,11.2\n1949-05,121,15.0\n1949-06,135,18.3\n");
  write_file(dir / "semicolon_decimal_comma.csv",
             std::string(1, kTime) +
                 "date;temp;rain\n2021-03-01;12,5;0,1\n2021-03-02;13,0;0\n2021-03-03;11,75;2,5\n");
  write_file(dir / "semicolon_forced.csv",
             std::string(1, 2) + "date;temp\n2021/03/01;12.5\n2021/03/02;13\n2021/03/03;1e1\n");
  write_file(dir / "quoted.csv",
             std::string(1, 0) +
                 "name,\"value, with comma\",x\n\"a \"\"quoted\"\" cell\",1,2\n\"multi\nline\",3,4\n"
                 "plain,\" 5 \",-6.5e-3\n");
  write_file(dir / "missing_interpolate.csv",
             std::string(1, kInterpolate) + "t,y,z\n1,1.0,NA\n2,NA,2\n3,,3\n4,4.0,N/A\n5,?,null\n6,6,NaN\n");
  write_file(dir / "missing_drop.csv",
             std::string(1, kDrop) + "t,y\n1,1.0\n2,\n3,3.0\n4,nan\n");
  write_file(dir / "bom_crlf_tab.csv",
             std::string(1, kTime | 3) +
                 "\xEF\xBB\xBFtime\tload\r\n2020-01-01 00:00\t1.5\r\n2020-01-01 01:00\t1.7\r\n"
                 "2020-01-01T02:00:00\t1.9\r\n\r\n2020-01-01 03:00\t2.0\r\n");
  write_file(dir / "year_quarter.csv",
             std::string(1, kTime) +
                 "year,quarter,realgdp\n1959,1,2710.349\n1959,2,2778.801\n1959,3,2775.488\n"
                 "1959,4,2785.204\n1960,1,2847.699\n");
  write_file(dir / "pipe_forced.csv",
             std::string(1, 5) + "|a|b\r1|2\r3|4\r");
  std::string series = std::string(1, kSeason | kTime) + "year,value\n";
  for (int i = 0; i < 48; ++i) {
    char line[64];
    std::snprintf(line, sizeof line, "%d,%.3f\n", 1900 + i, 10 + 3 * std::sin(i * 2 * M_PI / 12) + 0.1 * i);
    series += line;
  }
  write_file(dir / "seasonal_yearly.csv", series);
  write_file(dir / "ragged.csv", std::string(1, 0) + "a,b\n1,2\n3\n112,5,6\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus dir, e.g. fuzz/corpus>\n", argv[0]);
    return 2;
  }
  const fs::path root = argv[1];
  try {
    for (const char* t : {"fuzz_model_file", "fuzz_load_weights", "fuzz_npy", "fuzz_csv", "fuzz_onnx", "fuzz_keras_h5",
                          "fuzz_keras_config"})
      fs::create_directories(root / t);
    model_seeds(root / "fuzz_model_file");
    foreign_seeds(root / "fuzz_model_file", root / "fuzz_onnx", root / "fuzz_keras_h5", root / "fuzz_keras_config");
    load_weights_seeds(root / "fuzz_load_weights");
    npy_seeds(root / "fuzz_npy");
    csv_seeds(root / "fuzz_csv");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_make_corpus: %s\n", e.what());
    return 1;
  }
  return 0;
}
