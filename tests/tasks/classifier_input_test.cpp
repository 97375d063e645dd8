// How CSV rows become a classifier's tensors (recur/tasks/classifier_input.hpp): class names
// and ids, the symbol form (alphabet, pre-padding, one-hot and ids) and its errors, the columns
// form and its shapes, the seeded split with the scaler fitted on training rows only, and the
// metadata a model file carries, read back and checked against the model.
#include "recur/tasks/classifier_input.hpp"

#include <gtest/gtest.h>

#include "support/expect_error.hpp"

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "recur/core/error.hpp"
#include "recur/data/csv.hpp"
#include "recur/tasks/classifier.hpp"

namespace {

using recur::CsvTable;
using recur::tasks::ClassifierInput;
using Names = std::vector<std::string>;

CsvTable table(const std::string& text) { return recur::parse_csv(text, "c.csv"); }

using recur::test::expect_error;

// 12 rows: a label and a DNA-like sequence, lengths 2 to 4 (so padded).
std::string dna_csv() {
  return "label,seq\n"
         "a,ACGT\nb,CA\nb,GGT\na,TTTT\nb,ACG\na,CC\nb,GATC\na,AA\nb,TGC\na,CAT\nb,GG\na,ACGT\n";
}

TEST(TaskClassifierInput, ClassNamesSortIntegersByValueAndTextAsText) {
  EXPECT_EQ(recur::tasks::class_names({"10", "2", "2", "-1"}), (Names{"-1", "2", "10"}));
  EXPECT_EQ(recur::tasks::class_names({"b", "a", "b", "10"}), (Names{"10", "a", "b"}));
  EXPECT_EQ(recur::tasks::class_names({"-", "3"}), (Names{"-", "3"}));  // "-" is no integer
}

TEST(TaskClassifierInput, LabelsBecomeIdsAndBadLabelsAreRefused) {
  const auto l = recur::tasks::read_class_labels(table(dna_csv()), "label");
  EXPECT_EQ(l.classes, (Names{"a", "b"}));
  ASSERT_EQ(l.ids.size(), 12u);
  EXPECT_EQ(l.ids[0], 0u);
  EXPECT_EQ(l.ids[1], 1u);
  expect_error<recur::ValueError>([] { recur::tasks::read_class_labels(table("label,x\na,1\nb,2\n"), "label"); },
                                  {"c.csv has 2 rows", "at least 10"});
  std::string empty = dna_csv();
  empty.replace(empty.find("b,CA"), 4, " ,CA");
  expect_error<recur::ParseError>([&] { recur::tasks::read_class_labels(table(empty), "label"); },
                                  {"c.csv:3:1", "(column \"label\")", "the label is empty"});
  std::string single = "label,x\n";
  for (int i = 0; i < 10; ++i) single += "same," + std::to_string(i) + "\n";
  expect_error<recur::ValueError>([&] { recur::tasks::read_class_labels(table(single), "label"); },
                                  {"single class (\"same\")"});
  expect_error<recur::ValueError>([] { recur::tasks::read_class_labels(table(dna_csv()), "lable"); },
                                  {"no column named \"lable\""});
}

TEST(TaskClassifierInput, SymbolSequencesArePrePaddedOneHotOrIds) {
  const CsvTable t = table(dna_csv());
  const ClassifierInput in = recur::tasks::sequence_input(t, "seq", 0);
  EXPECT_EQ(in.form, "sequence");
  EXPECT_EQ(in.alphabet, "ACGT");
  EXPECT_EQ(in.timesteps, 4u);
  EXPECT_EQ(in.features, 4u);
  EXPECT_TRUE(in.padded);
  EXPECT_EQ(in.sample_shape(), (recur::Shape{4, 4}));
  const recur::Tensor x = recur::tasks::encode_rows(t, in);
  ASSERT_EQ(x.shape(), (recur::Shape{12, 4, 4}));
  // Row 1 is "CA": two all-zero steps, then C (feature 1), then A (feature 0).
  const float* r = x.data() + 1 * 16;
  for (int k = 0; k < 8; ++k) EXPECT_EQ(r[k], 0.0f) << k;
  EXPECT_EQ(r[8 + 1], 1.0f);
  EXPECT_EQ(r[12 + 0], 1.0f);
  float sum = 0;
  for (int k = 0; k < 16; ++k) sum += r[k];
  EXPECT_EQ(sum, 2.0f);
  // With an Embedding: ids k + 1, 0 for padding.
  const ClassifierInput ids = recur::tasks::sequence_input(t, "seq", 3);
  EXPECT_EQ(ids.sample_shape(), (recur::Shape{4}));
  const recur::Tensor e = recur::tasks::encode_rows(t, ids);
  ASSERT_EQ(e.shape(), (recur::Shape{12, 4}));
  EXPECT_EQ(e[4], 0.0f);
  EXPECT_EQ(e[5], 0.0f);
  EXPECT_EQ(e[6], 2.0f);  // C
  EXPECT_EQ(e[7], 1.0f);  // A
}

TEST(TaskClassifierInput, SymbolErrorsNameTheCell) {
  const CsvTable t = table(dna_csv());
  const ClassifierInput in = recur::tasks::sequence_input(t, "seq", 0);
  expect_error<recur::ParseError>([&] { recur::tasks::encode_rows(table("label,seq\na,ACN\n"), in); },
                                  {"c.csv:2:5", "unknown symbol 'N' at position 3", "\"ACGT\""});
  expect_error<recur::ParseError>([&] { recur::tasks::encode_rows(table("label,seq\na,ACGTA\n"), in); },
                                  {"expected a sequence of 1 to 4 symbols", "got 5"});
  ClassifierInput fixed = in;
  fixed.padded = false;
  expect_error<recur::ParseError>([&] { recur::tasks::encode_rows(table("label,seq\na,AC\n"), fixed); },
                                  {"expected a sequence of 4 symbols"});
  std::string empty = dna_csv();
  empty.replace(empty.find("b,GGT"), 5, "b,");
  expect_error<recur::ParseError>([&] { recur::tasks::sequence_input(table(empty), "seq", 0); },
                                  {"c.csv:4:3", "the sequence is empty"});
}

TEST(TaskClassifierInput, ColumnsFormTakesTheNumericColumnsAndTheirShape) {
  const CsvTable t = table("p0,name,p1,label,p2,p3\n1,x,2,a,3,4\n5,y,6,b,7,8\n");
  const ClassifierInput in = recur::tasks::columns_input(t, 3, {});
  EXPECT_EQ(in.form, "columns");
  EXPECT_EQ(in.columns, (Names{"p0", "p1", "p2", "p3"}));
  EXPECT_EQ(in.timesteps, 4u);
  EXPECT_EQ(in.features, 1u);
  EXPECT_EQ(recur::tasks::columns_input(t, 3, {"p3", "p0"}).columns, (Names{"p3", "p0"}));
  expect_error<recur::ValueError>([] { recur::tasks::columns_input(table("name,label\nx,a\n"), 1, {}); },
                                  {"no numeric columns besides \"label\""});
  using Shape2 = std::array<std::size_t, 2>;
  EXPECT_EQ(recur::tasks::columns_shape(64, 8, 8), (Shape2{8, 8}));
  EXPECT_EQ(recur::tasks::columns_shape(64, 0, 16), (Shape2{4, 16}));
  EXPECT_EQ(recur::tasks::columns_shape(64, 2, 0), (Shape2{2, 32}));
  EXPECT_EQ(recur::tasks::columns_shape(64, 0, 0), (Shape2{64, 1}));
  EXPECT_FALSE(recur::tasks::columns_shape(64, 7, 0).has_value());
  EXPECT_FALSE(recur::tasks::columns_shape(64, 8, 4).has_value());
}

TEST(TaskClassifierInput, SplitIsSeededAndTheScalerSeesOnlyTrainingRows) {
  std::string text = "label,v0,v1\n";
  for (int i = 0; i < 20; ++i) text += std::string(i % 2 ? "b" : "a") + "," + std::to_string(i) + "," + std::to_string(100 * i) + "\n";
  const CsvTable t = table(text);
  const auto labels = recur::tasks::read_class_labels(t, "label");
  ClassifierInput in = recur::tasks::columns_input(t, 0, {});
  in.timesteps = 2;
  in.features = 1;
  const auto s = recur::tasks::split_rows(t, &in, labels.ids, 7, 0.25);
  EXPECT_EQ(s.n_test, 5u);
  EXPECT_EQ(s.n_train, 15u);
  ASSERT_EQ(s.x_train.shape(), (recur::Shape{15, 2, 1}));
  ASSERT_EQ(s.x_test.shape(), (recur::Shape{5, 2, 1}));
  // The standard scaler's offset is the mean of the training rows of v0 (row i holds i).
  double mean = 0;
  for (std::size_t i = s.n_test; i < 20; ++i) mean += static_cast<double>(s.order[i]);
  mean /= 15;
  EXPECT_NEAR(in.scaler.offset[0], mean, 1e-9);
  EXPECT_NEAR(in.scaler.offset[1], 100 * mean, 1e-6);
  // Training rows are standardised: mean 0.
  double scaled = 0;
  for (std::size_t i = 0; i < 15; ++i) scaled += s.x_train[i * 2];
  EXPECT_NEAR(scaled / 15, 0.0, 1e-5);
  // Labels follow their rows, and the same seed gives the same split.
  EXPECT_EQ(s.y_test[0], static_cast<float>(s.order[0] % 2));
  ClassifierInput again = recur::tasks::columns_input(t, 0, {});
  again.timesteps = 2;
  again.features = 1;
  EXPECT_EQ(recur::tasks::split_rows(t, &again, labels.ids, 7, 0.25).order, s.order);
  expect_error<recur::ValueError>([&] { recur::tasks::split_rows(t, &again, labels.ids, 7, 1.0); },
                                  {"test_split must be in (0, 1)"});
  expect_error<recur::ValueError>([&] { recur::tasks::split_rows(t, &again, labels.ids, 7, 0.99); },
                                  {"leaves no training row"});
}

TEST(TaskClassifierInput, MetadataRoundTripsAndIsCheckedAgainstTheModel) {
  const CsvTable t = table(dna_csv());
  recur::tasks::ClassifierMetadata m{"label", {"a", "b"}, recur::tasks::sequence_input(t, "seq", 0)};
  const std::string text = recur::tasks::classifier_metadata(m);
  EXPECT_NE(text.find("\"task\":\"classify\""), std::string::npos) << text;
  const auto back = recur::tasks::read_classifier_metadata(text, "m.recur");
  EXPECT_EQ(back.label, "label");
  EXPECT_EQ(back.classes, (Names{"a", "b"}));
  EXPECT_EQ(back.input.alphabet, "ACGT");
  EXPECT_TRUE(back.input.padded);
  expect_error<recur::ModelFormatError>([] { recur::tasks::read_classifier_metadata("{\"classes\":[]}", "m.recur"); },
                                        {"m.recur: the classifier metadata is incomplete"});
  expect_error<recur::ModelFormatError>([] { recur::tasks::read_classifier_metadata("not json", ""); },
                                        {"ModelFormatError", "the classifier metadata is incomplete"});
  // Against the model it came with: fits; a tampered alphabet or shape does not.
  recur::tasks::ClassifierOptions o;
  o.units = 4;
  recur::tasks::Classifier c = recur::tasks::build_classifier(back.input, 2, o);
  EXPECT_NO_THROW(back.input.check_against(c.model, "m.recur"));
  ClassifierInput bad = back.input;
  bad.alphabet = "AACG";
  expect_error<recur::ModelFormatError>([&] { bad.check_against(c.model, "m.recur"); }, {"repeats a symbol"});
  bad = back.input;
  bad.timesteps = 5;
  expect_error<recur::ModelFormatError>([&] { bad.check_against(c.model, "m.recur"); },
                                        {"m.recur", "does not fit the model", "its input is"});
  bad.timesteps = std::size_t{1} << 23;
  expect_error<recur::ModelFormatError>([&] { bad.check_against(c.model, "m.recur"); }, {"outside 1 to 4194304"});
}

}  // namespace
