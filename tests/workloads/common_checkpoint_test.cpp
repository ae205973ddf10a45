#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>

#include "common/checkpoint.hpp"
#include "common/models.hpp"
#include "common/weights.hpp"
#include "greenbench/error.hpp"

namespace greenbench::workloads {
namespace {

namespace fs = std::filesystem;

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("greenbench-ckpt-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  static std::string read_bytes(const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
  }
  static void write_bytes(const std::string& p, const std::string& bytes) {
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }

  // Expects load_checkpoint to throw an Error mentioning the file and `what`.
  static void expect_error(const std::string& p, const ModelSpec& spec, const std::string& what) {
    try {
      (void)load_checkpoint(p, spec);
      ADD_FAILURE() << "no error for " << p << " (expected '" << what << "')";
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(p), std::string::npos) << msg;
      EXPECT_NE(msg.find(what), std::string::npos) << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
  }

  fs::path dir_;
};

TEST_F(CheckpointTest, RoundTripKeepsNamesShapesFlagsAndBits) {
  const ModelSpec spec = make_model_spec("resnet50", "tiny");
  Weights w = make_initial_weights(spec, 7);
  w[0].value.f32[3] = -0.0F;  // sign of zero and odd values survive
  w[1].value.f32[0] = 1e-38F;
  const std::string p = path("a.gbckpt");
  save_checkpoint(p, spec.model, spec.scale, w);
  const Checkpoint c = read_checkpoint(p);
  EXPECT_EQ(c.model, "resnet50");
  EXPECT_EQ(c.scale, "tiny");
  ASSERT_EQ(c.weights.size(), w.size());
  for (size_t i = 0; i < w.size(); ++i) {
    EXPECT_EQ(c.weights[i].name, w[i].name);
    EXPECT_EQ(c.weights[i].trainable, w[i].trainable);
    EXPECT_EQ(c.weights[i].value.shape, w[i].value.shape);
    ASSERT_EQ(c.weights[i].value.f32.size(), w[i].value.f32.size());
    EXPECT_EQ(0, std::memcmp(c.weights[i].value.f32.data(), w[i].value.f32.data(),
                             w[i].value.f32.size() * sizeof(float)))
        << w[i].name;
  }
  EXPECT_EQ(load_checkpoint(p, spec).size(), w.size());
  // Only the checkpoint itself is left behind (the temporary file was renamed).
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(CheckpointTest, WrongModelOrScaleIsRejected) {
  const ModelSpec ncf = make_model_spec("ncf", "tiny");
  const std::string p = path("ncf.gbckpt");
  save_checkpoint(p, ncf.model, ncf.scale, make_initial_weights(ncf, 1));
  expect_error(p, make_model_spec("transformer_xl", "tiny"), "expected model 'transformer_xl'");
  expect_error(p, make_model_spec("ncf", "small"), "at scale 'small'");
}

TEST_F(CheckpointTest, MismatchedTensorsAreRejected) {
  const ModelSpec spec = make_model_spec("ncf", "tiny");
  Weights w = make_initial_weights(spec, 1);
  w[2].value.shape = {w[2].value.shape[1], w[2].value.shape[0]};
  const std::string p = path("shape.gbckpt");
  save_checkpoint(p, spec.model, spec.scale, w);
  expect_error(p, spec, "has shape");

  Weights fewer = make_initial_weights(spec, 1);
  fewer.pop_back();
  save_checkpoint(p, spec.model, spec.scale, fewer);
  expect_error(p, spec, "tensors");
}

TEST_F(CheckpointTest, TruncatedFilesAreRejectedAtEveryLength) {
  const ModelSpec spec = make_model_spec("transformer_xl", "tiny");
  const std::string full = path("full.gbckpt");
  save_checkpoint(full, spec.model, spec.scale, make_initial_weights(spec, 3));
  const std::string bytes = read_bytes(full);
  const std::string cut = path("cut.gbckpt");
  for (size_t n : {size_t{0}, size_t{5}, size_t{12}, size_t{30}, bytes.size() / 2, bytes.size() - 9,
                   bytes.size() - 1}) {
    write_bytes(cut, bytes.substr(0, n));
    SCOPED_TRACE(n);
    if (n < 8) {
      expect_error(cut, spec, "not a greenbench checkpoint");
    } else {
      expect_error(cut, spec, "truncated");
    }
  }
}

TEST_F(CheckpointTest, CorruptBytesAreDetected) {
  const ModelSpec spec = make_model_spec("ncf", "tiny");
  const std::string p = path("c.gbckpt");
  save_checkpoint(p, spec.model, spec.scale, make_initial_weights(spec, 3));
  const std::string bytes = read_bytes(p);
  for (size_t at : {size_t{30}, bytes.size() / 2, bytes.size() - 12, bytes.size() - 2}) {
    std::string bad = bytes;
    bad[at] = static_cast<char>(bad[at] ^ 0x10);
    write_bytes(p, bad);
    SCOPED_TRACE(at);
    expect_error(p, spec, "checksum mismatch");
  }
  std::string magic = bytes;
  magic[0] = 'X';
  write_bytes(p, magic);
  expect_error(p, spec, "bad magic");
  std::string version = bytes;
  version[8] = 2;
  write_bytes(p, version);
  expect_error(p, spec, "unsupported version 2");
  write_bytes(p, bytes + "extra");
  expect_error(p, spec, "header says");
}

// FNV-1a 64 of docs/checkpoint.md, to write intact files whose fields are wrong.
std::string resealed(std::string bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i + 8 < bytes.size(); ++i) {
    h ^= static_cast<unsigned char>(bytes[i]);
    h *= 0x100000001b3ULL;
  }
  std::memcpy(bytes.data() + bytes.size() - 8, &h, sizeof h);
  return bytes;
}

TEST_F(CheckpointTest, HeaderFieldsMustBeExactlyAsSpecified) {
  const ModelSpec spec = make_model_spec("ncf", "tiny");
  const Weights w = make_initial_weights(spec, 3);
  const std::string p = path("h.gbckpt");
  save_checkpoint(p, spec.model, spec.scale, w);
  const std::string bytes = read_bytes(p);
  write_bytes(p, resealed(bytes));  // resealing an intact file changes nothing
  EXPECT_EQ(load_checkpoint(p, spec).size(), w.size());

  // magic 8, version 4, reserved 4, size 8, model, scale, count 4, then the first tensor's name.
  const size_t first = 24 + 4 + spec.model.size() + 4 + spec.scale.size() + 4;
  const size_t flags = first + 4 + w[0].name.size();
  struct Case {
    size_t offset;
    char value;
    std::string message;
  };
  for (const Case& c :
       {Case{12, 1, "reserved header field is 1, expected 0"},
        Case{15, char(0x80), "reserved header field is 2147483648"},
        Case{flags, 2, "flags 2, expected 0 or 1"},
        Case{flags, char(0xff), "flags 255, expected 0 or 1"},
        Case{flags + 1, 1, "unknown dtype 1"}, Case{flags + 2, 1, "padding 1, expected 0"},
        Case{flags + 3, char(0x80), "padding 32768, expected 0"}}) {
    std::string bad = bytes;
    bad[c.offset] = c.value;
    write_bytes(p, resealed(bad));
    SCOPED_TRACE(c.message);
    expect_error(p, spec, c.message);
  }
}

TEST_F(CheckpointTest, NonFiniteWeightsAreRefusedNamingTheTensor) {
  const ModelSpec spec = make_model_spec("ncf", "tiny");
  for (const float bad :
       {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
        -std::numeric_limits<float>::infinity()}) {
    Weights w = make_initial_weights(spec, 3);
    w[2].value.f32[5] = bad;
    const std::string p = path("nan.gbckpt");
    save_checkpoint(p, spec.model, spec.scale, w);
    expect_error(p, spec,
                 "tensor '" + w[2].name + "' holds a non-finite weight (" +
                     (std::isnan(bad) ? "nan" : "inf") + " at index 5)");
  }
}

TEST_F(CheckpointTest, NamesWithControlCharactersAreRefusedAndShownEscaped) {
  const ModelSpec spec = make_model_spec("ncf", "tiny");
  Weights w = make_initial_weights(spec, 3);
  w[0].name = "user\x1b[2J" + std::string(300, 'x');
  const std::string p = path("name.gbckpt");
  save_checkpoint(p, spec.model, spec.scale, w);
  try {
    (void)read_checkpoint(p);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("tensor 0 name \"user\\x1b[2J"), std::string::npos) << msg;
    EXPECT_NE(msg.find("\u2026\" is not a UTF-8 name"), std::string::npos) << msg;
    for (const char c : msg) EXPECT_GE(static_cast<unsigned char>(c), 0x20) << msg;
  }
  // A name that differs from the model's is cut in the message too.
  w = make_initial_weights(spec, 3);
  w[0].name = std::string(3000, 'n');
  save_checkpoint(p, spec.model, spec.scale, w);
  expect_error(p, spec, "tensor 0 is '" + std::string(60, 'n') + "\u2026'");
}

// Found by fuzz_checkpoint: reading a tensor without data passed a null pointer to memcpy
// (undefined behaviour that UBSan reports, make sanitize).
TEST_F(CheckpointTest, TensorsWithAZeroDimensionRoundTrip) {
  Weights w(2);
  w[0].name = "empty";
  w[0].value.shape = {0, 4};
  w[0].value.dtype = HostTensor::DType::kF32;
  w[1].name = "scalar";
  w[1].trainable = true;
  w[1].value.shape = {};
  w[1].value.dtype = HostTensor::DType::kF32;
  w[1].value.f32 = {2.5F};
  const std::string p = path("zero.gbckpt");
  save_checkpoint(p, "ncf", "tiny", w);
  const Checkpoint c = read_checkpoint(p);
  ASSERT_EQ(c.weights.size(), 2u);
  EXPECT_EQ(c.weights[0].value.shape, (std::vector<int64_t>{0, 4}));
  EXPECT_TRUE(c.weights[0].value.f32.empty());
  EXPECT_EQ(c.weights[1].value.f32, std::vector<float>{2.5F});
}

TEST_F(CheckpointTest, MissingFileIsNamed) {
  const ModelSpec spec = make_model_spec("ncf", "tiny");
  expect_error(path("absent.gbckpt"), spec, "cannot open");
}

}  // namespace
}  // namespace greenbench::workloads
