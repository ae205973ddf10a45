// The TensorFlow worker's RunMetadata reader (workloads/tensorflow/run_metadata.hpp) on bytes built
// here field by field: nested messages, unknown fields of every wire type, repeated and merged
// fields, and malformed input of every kind it must refuse.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "greenbench/error.hpp"
#include "run_metadata.hpp"

namespace greenbench::workloads::tf {
namespace {

// A protobuf encoder for the tests: each function returns one encoded field.
std::string varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}
std::string key(uint32_t field, uint32_t type) { return varint((uint64_t{field} << 3) | type); }
std::string vfield(uint32_t field, uint64_t v) { return key(field, 0) + varint(v); }
std::string lfield(uint32_t field, const std::string& payload) {
  return key(field, 2) + varint(payload.size()) + payload;
}
std::string fixed64(uint32_t field, uint64_t v) {
  std::string out = key(field, 1);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return out;
}
std::string fixed32(uint32_t field, uint32_t v) {
  std::string out = key(field, 5);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return out;
}
std::string group(uint32_t field, const std::string& body) {
  return key(field, 3) + body + key(field, 4);
}

// One unknown field of every wire type, a nested group and a packed repeated field among them.
std::string unknown_fields(uint32_t first) {
  return vfield(first, 12345) + fixed64(first + 1, 0x0102030405060708ULL) +
         lfield(first + 2, "skipped bytes") + fixed32(first + 3, 0xdeadbeef) +
         group(first + 4, vfield(1, 7) + group(2, lfield(3, "inner")) + fixed32(4, 1)) +
         lfield(first + 5, varint(1) + varint(300) + varint(1ULL << 40)) +  // packed varints
         vfield(536870911, 1);                                              // largest field number
}

std::string node(const std::string& name, int64_t start_us, int64_t op_start, int64_t op_end,
                 int64_t all_end, const std::string& label) {
  return lfield(1, name) + vfield(2, static_cast<uint64_t>(start_us)) +
         vfield(3, static_cast<uint64_t>(op_start)) + vfield(4, static_cast<uint64_t>(op_end)) +
         vfield(5, static_cast<uint64_t>(all_end)) + lfield(8, label);
}

std::string device(const std::string& name, const std::string& nodes) {
  return lfield(1, name) + nodes;
}

std::string metadata(const std::string& devices) { return lfield(1, devices); }

TEST(TfRunMetadata, EmptyInputHasNoStats) {
  EXPECT_TRUE(parse_run_metadata("").dev_stats.empty());
  // A RunMetadata with an empty step_stats and other fields only.
  EXPECT_TRUE(parse_run_metadata(lfield(1, "") + lfield(2, "cost graph")).dev_stats.empty());
}

TEST(TfRunMetadata, DecodesNestedMessages) {
  const std::string n1 = node("train/MatMul_3", 1'700'000'000'000'000, 5, 25, 30,
                              "train/MatMul_3 = _MklMatMul(x, w)") +
                         vfield(13, 1'700'000'000'000'000'123ULL) + vfield(14, 5'100) +
                         vfield(15, 25'400) + vfield(16, 30'000) + vfield(10, 77);
  const std::string n2 = node("gradients/Relu_4_grad/ReluGrad", 10, 1, 2, 3, "label 2");
  const std::string bytes =
      metadata(lfield(1, device("/job:localhost/device:CPU:0", lfield(2, n1) + lfield(2, n2))) +
               lfield(1, device("/device:GPU:0/stream:all", "")));
  const StepStats s = parse_run_metadata(bytes);
  ASSERT_EQ(s.dev_stats.size(), 2U);
  EXPECT_EQ(s.dev_stats[0].device, "/job:localhost/device:CPU:0");
  EXPECT_EQ(s.dev_stats[1].device, "/device:GPU:0/stream:all");
  EXPECT_TRUE(s.dev_stats[1].node_stats.empty());
  ASSERT_EQ(s.dev_stats[0].node_stats.size(), 2U);
  const NodeExecStats& a = s.dev_stats[0].node_stats[0];
  EXPECT_EQ(a.node_name, "train/MatMul_3");
  EXPECT_EQ(a.all_start_micros, 1'700'000'000'000'000);
  EXPECT_EQ(a.op_start_rel_micros, 5);
  EXPECT_EQ(a.op_end_rel_micros, 25);
  EXPECT_EQ(a.all_end_rel_micros, 30);
  EXPECT_EQ(a.all_start_nanos, 1'700'000'000'000'000'123);
  EXPECT_EQ(a.op_start_rel_nanos, 5'100);
  EXPECT_EQ(a.op_end_rel_nanos, 25'400);
  EXPECT_EQ(a.all_end_rel_nanos, 30'000);
  EXPECT_EQ(a.timeline_label, "train/MatMul_3 = _MklMatMul(x, w)");
  EXPECT_EQ(a.thread_id, 77U);
  // Nanoseconds where the producer set them ...
  EXPECT_EQ(a.op_start_ns(), 1'700'000'000'000'000'123 + 5'100);
  EXPECT_EQ(a.op_end_ns(), 1'700'000'000'000'000'123 + 25'400);
  // ... else the microsecond fields.
  const NodeExecStats& b = s.dev_stats[0].node_stats[1];
  EXPECT_EQ(b.node_name, "gradients/Relu_4_grad/ReluGrad");
  EXPECT_EQ(b.all_start_nanos, 0);
  EXPECT_EQ(b.op_start_ns(), 11'000);
  EXPECT_EQ(b.op_end_ns(), 12'000);
}

TEST(TfRunMetadata, NegativeInt64UsesTenBytes) {
  const std::string n = vfield(3, static_cast<uint64_t>(int64_t{-5}));
  ASSERT_EQ(n.size(), 11U);  // key + ten-byte varint
  const StepStats s = parse_run_metadata(metadata(lfield(1, lfield(2, n))));
  EXPECT_EQ(s.dev_stats.at(0).node_stats.at(0).op_start_rel_micros, -5);
}

TEST(TfRunMetadata, SkipsUnknownFieldsOfEveryWireTypeAtEveryLevel) {
  const std::string n = unknown_fields(20) + node("a", 100, 1, 2, 3, "a = Relu(x)") +
                        unknown_fields(30) +
                        lfield(6, lfield(1, "allocator") + vfield(2, 9)) +  // memory (skipped)
                        vfield(9, 4) + vfield(17, 8) +                      // scheduled_*
                        lfield(7, vfield(1, 0));                            // output
  const std::string d = unknown_fields(10) + device("/device:CPU:0", lfield(2, n)) +
                        lfield(3, vfield(1, 5) + lfield(2, "thread name")) +  // thread_names map
                        lfield(3, vfield(1, 6) + lfield(2, "another"));
  const std::string bytes =
      unknown_fields(5) + metadata(unknown_fields(2) + lfield(1, d) + unknown_fields(40)) +
      lfield(2, "cost graph") + lfield(3, "partition graph") + unknown_fields(50);
  const StepStats s = parse_run_metadata(bytes);
  ASSERT_EQ(s.dev_stats.size(), 1U);
  EXPECT_EQ(s.dev_stats[0].device, "/device:CPU:0");
  ASSERT_EQ(s.dev_stats[0].node_stats.size(), 1U);
  const NodeExecStats& a = s.dev_stats[0].node_stats[0];
  EXPECT_EQ(a.node_name, "a");
  EXPECT_EQ(a.all_start_micros, 100);
  EXPECT_EQ(a.op_end_rel_micros, 2);
  EXPECT_EQ(a.timeline_label, "a = Relu(x)");
}

TEST(TfRunMetadata, RepeatedScalarsKeepTheLastAndMessagesMerge) {
  // A scalar given twice: the last value wins (protobuf's rule for non-repeated fields).
  const std::string n = vfield(2, 1) + lfield(1, "first") + vfield(2, 2) + lfield(1, "second");
  // RunMetadata.step_stats given twice: the two StepStats merge, their dev_stats append.
  const std::string bytes = metadata(lfield(1, device("cpu0", lfield(2, n)))) +
                            metadata(lfield(1, device("cpu1", lfield(2, n) + lfield(2, n))));
  const StepStats s = parse_run_metadata(bytes);
  ASSERT_EQ(s.dev_stats.size(), 2U);
  EXPECT_EQ(s.dev_stats[0].device, "cpu0");
  EXPECT_EQ(s.dev_stats[1].device, "cpu1");
  EXPECT_EQ(s.dev_stats[1].node_stats.size(), 2U);
  EXPECT_EQ(s.dev_stats[0].node_stats.at(0).node_name, "second");
  EXPECT_EQ(s.dev_stats[0].node_stats.at(0).all_start_micros, 2);
}

TEST(TfRunMetadata, ThreadIdKeepsTheLow32Bits) {
  const StepStats s =
      parse_run_metadata(metadata(lfield(1, lfield(2, vfield(10, (1ULL << 32) + 9)))));
  EXPECT_EQ(s.dev_stats.at(0).node_stats.at(0).thread_id, 9U);
}

// The message of the greenbench::Error that parsing `bytes` throws; "" if it parses.
std::string error_of(const std::string& bytes) {
  try {
    parse_run_metadata(bytes);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(TfRunMetadata, RefusesTruncatedVarints) {
  EXPECT_NE(error_of("\x48").find("truncated varint at byte 1"), std::string::npos);
  EXPECT_NE(error_of("\x80").find("truncated varint at byte 0"), std::string::npos);
  // A varint inside a node that ends with its message, although the buffer goes on.
  const std::string cut = lfield(2, key(2, 0) + "\xff");
  const std::string bytes = metadata(lfield(1, cut)) + vfield(9, 1);
  EXPECT_NE(error_of(bytes).find("truncated varint"), std::string::npos) << error_of(bytes);
  EXPECT_NE(error_of(bytes).find("NodeExecStats"), std::string::npos);
}

TEST(TfRunMetadata, RefusesOverlongVarints) {
  std::string eleven(10, '\x80');
  eleven += '\x01';
  EXPECT_NE(error_of(key(9, 0) + eleven).find("overflows 64 bits"), std::string::npos);
  // Ten bytes whose last one carries more than bit 63.
  std::string ten(9, '\xff');
  ten += '\x02';
  EXPECT_NE(error_of(key(9, 0) + ten).find("overflows 64 bits"), std::string::npos);
  std::string max(9, '\xff');
  max += '\x01';  // 2^64 - 1: the largest varint
  EXPECT_EQ(error_of(key(9, 0) + max), "");
}

TEST(TfRunMetadata, RefusesLengthsPastTheEnd) {
  // At the top level, and a nested length that fits the buffer but not its enclosing message.
  EXPECT_NE(error_of(key(1, 2) + varint(5) + "abc").find("length 5 runs past the end"),
            std::string::npos);
  const std::string inner = key(1, 2) + varint(20) + std::string(3, 'x');
  const std::string bytes = metadata(inner) + std::string(40, '\0');
  EXPECT_NE(error_of(bytes).find("length 20 runs past the end of the message (3 bytes left)"),
            std::string::npos)
      << error_of(bytes);
  EXPECT_NE(error_of(key(1, 2) + varint(~0ULL)).find("runs past the end"), std::string::npos);
  EXPECT_NE(error_of(key(9, 1) + "1234567").find("fixed64 value runs past the end"),
            std::string::npos);
  EXPECT_NE(error_of(key(9, 5) + "123").find("fixed32 value runs past the end"), std::string::npos);
}

TEST(TfRunMetadata, RefusesWrongWireTypesOfKnownFields) {
  EXPECT_NE(error_of(vfield(1, 3))
                .find("field step_stats (1) has wire type varint, expected "
                      "length-delimited"),
            std::string::npos)
      << error_of(vfield(1, 3));
  EXPECT_NE(error_of(metadata(vfield(1, 1))).find("dev_stats"), std::string::npos);
  EXPECT_NE(error_of(metadata(lfield(1, fixed32(1, 1)))).find("device"), std::string::npos);
  EXPECT_NE(error_of(metadata(lfield(1, vfield(2, 1)))).find("node_stats"), std::string::npos);
  const auto in_node = [](const std::string& field) {
    return error_of(metadata(lfield(1, lfield(2, field))));
  };
  EXPECT_NE(in_node(vfield(1, 1)).find("node_name"), std::string::npos);
  EXPECT_NE(in_node(lfield(2, "x")).find("all_start_micros"), std::string::npos);
  EXPECT_NE(in_node(fixed64(4, 1)).find("op_end_rel_micros"), std::string::npos);
  EXPECT_NE(in_node(vfield(8, 1)).find("timeline_label"), std::string::npos);
  EXPECT_NE(in_node(fixed32(10, 1)).find("thread_id"), std::string::npos);
  EXPECT_NE(in_node(lfield(13, "")).find("all_start_nanos"), std::string::npos);
  EXPECT_NE(in_node(group(16, "")).find("all_end_rel_nanos"), std::string::npos);
}

TEST(TfRunMetadata, RefusesInvalidTagsAndGroups) {
  EXPECT_NE(error_of(vfield(0, 1)).find("field number 0"), std::string::npos);
  EXPECT_NE(error_of(key(9, 6) + "x").find("wire type 6"), std::string::npos);
  EXPECT_NE(error_of(key(9, 7)).find("wire type 7"), std::string::npos);
  EXPECT_NE(error_of(varint(1ULL << 35)).find("field number"), std::string::npos);
  EXPECT_NE(error_of(key(9, 4)).find("end-group 9 without a start-group"), std::string::npos);
  EXPECT_NE(error_of(key(9, 3) + vfield(1, 1)).find("group 9 has no end"), std::string::npos);
  EXPECT_NE(error_of(key(9, 3) + key(8, 4)).find("end-group 8 closes group 9"), std::string::npos);
  // A group may not end outside the message it started in.
  EXPECT_NE(error_of(metadata(key(9, 3)) + key(9, 4)).find("has no end"), std::string::npos);
  std::string deep;
  for (int i = 0; i < 65; ++i) deep += key(9, 3);
  for (int i = 0; i < 65; ++i) deep += key(9, 4);
  EXPECT_NE(error_of(deep).find("nested too deep"), std::string::npos);
  std::string ok;
  for (int i = 0; i < 60; ++i) ok += key(9, 3);
  for (int i = 0; i < 60; ++i) ok += key(9, 4);
  EXPECT_EQ(error_of(ok), "");
}

TEST(TfRunMetadata, EveryTruncationParsesOrThrows) {
  const std::string n = node("train/Conv2D_1", 1'000, 1, 2, 3, "train/Conv2D_1 = Conv2D(a, b)") +
                        vfield(13, 1'000'000) + unknown_fields(20);
  const std::string bytes =
      metadata(lfield(1, device("/device:CPU:0", lfield(2, n) + lfield(2, n)))) + vfield(9, 300);
  const size_t step_stats_end = bytes.size() - vfield(9, 300).size();
  for (size_t len = 0; len < bytes.size(); ++len) {
    const std::string prefix = bytes.substr(0, len);
    const std::string error = error_of(prefix);
    if (len == 0 || len == step_stats_end) {
      EXPECT_EQ(error, "") << "prefix of " << len << " bytes";
    } else {
      // Any other cut falls inside a field.
      EXPECT_NE(error.find("RunMetadata: "), std::string::npos) << "prefix of " << len;
    }
  }
  EXPECT_EQ(parse_run_metadata(bytes).dev_stats.at(0).node_stats.size(), 2U);
}

TEST(TfRunMetadata, ErrorsNameTheOffsetAndMessage) {
  const std::string bytes = metadata(lfield(1, lfield(2, lfield(1, "n") + key(2, 2) + varint(9))));
  EXPECT_EQ(error_of(bytes),
            "RunMetadata: field all_start_micros (2) has wire type length-delimited, expected "
            "varint at byte 9 (in NodeExecStats, 11 bytes in all)");
}

TEST(TfRunMetadata, FullTraceRunOptions) {
  // RunOptions { trace_level: FULL_TRACE (3) }, field 1 as a varint.
  EXPECT_EQ(full_trace_run_options(), std::string("\x08\x03", 2));
}

}  // namespace
}  // namespace greenbench::workloads::tf
