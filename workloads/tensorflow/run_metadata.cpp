#include "run_metadata.hpp"

#include "greenbench/error.hpp"

namespace greenbench::workloads::tf {
namespace {

enum WireType : uint32_t {
  kVarint = 0,
  kFixed64 = 1,
  kLength = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5,
};

const char* wire_type_name(uint32_t type) {
  switch (type) {
    case kVarint:
      return "varint";
    case kFixed64:
      return "fixed64";
    case kLength:
      return "length-delimited";
    case kStartGroup:
      return "start-group";
    case kEndGroup:
      return "end-group";
    case kFixed32:
      return "fixed32";
    default:
      return "invalid";
  }
}

// Groups are nested at most this deep inside a skipped field (our own messages nest four deep).
constexpr int kMaxGroupDepth = 64;

// Reads one message: the bytes [pos, end) of the whole buffer, so errors give absolute offsets.
class Reader {
 public:
  Reader(std::string_view buffer, size_t begin, size_t end, const char* message)
      : buf_(buffer), pos_(begin), end_(end), message_(message) {}

  [[nodiscard]] bool done() const { return pos_ >= end_; }

  struct Tag {
    uint32_t field = 0;
    uint32_t type = 0;
    size_t at = 0;  // offset of the tag
  };

  Tag tag() {
    Tag t;
    t.at = pos_;
    const uint64_t key = varint();
    if (key >> 32 != 0 || (key >> 3) == 0) fail(t.at, "field number " + std::to_string(key >> 3));
    t.field = static_cast<uint32_t>(key >> 3);
    t.type = static_cast<uint32_t>(key & 7);
    if (t.type > kFixed32) fail(t.at, "wire type " + std::to_string(t.type));
    return t;
  }

  uint64_t varint() {
    const size_t at = pos_;
    uint64_t value = 0;
    for (int i = 0; i < 10; ++i) {
      if (pos_ >= end_) fail(at, "truncated varint");
      const auto byte = static_cast<uint8_t>(buf_[pos_++]);
      // The tenth byte holds bit 63 only.
      if (i == 9 && byte > 1) fail(at, "varint overflows 64 bits");
      value |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
      if ((byte & 0x80) == 0) return value;
    }
    fail(at, "varint longer than 10 bytes");
  }

  // The payload [begin, end) of a length-delimited field; advances past it.
  std::pair<size_t, size_t> length_delimited() {
    const size_t at = pos_;
    const uint64_t n = varint();
    if (n > end_ - pos_) {
      fail(at, "length " + std::to_string(n) + " runs past the end of the message (" +
                   std::to_string(end_ - pos_) + " bytes left)");
    }
    const size_t begin = pos_;
    pos_ += static_cast<size_t>(n);
    return {begin, pos_};
  }

  std::string string() {
    const auto [begin, end] = length_delimited();
    return std::string(buf_.substr(begin, end - begin));
  }

  // A known field's value must come with its own wire type.
  void expect(const Tag& t, uint32_t type, const char* field) const {
    if (t.type != type) {
      fail(t.at, std::string("field ") + field + " (" + std::to_string(t.field) +
                     ") has wire type " + wire_type_name(t.type) + ", expected " +
                     wire_type_name(type));
    }
  }

  int64_t int64_field(const Tag& t, const char* field) {
    expect(t, kVarint, field);
    return static_cast<int64_t>(varint());  // int64 is two's complement in ten bytes
  }

  void skip(const Tag& t) { skip(t, 0); }

  [[noreturn]] void fail(size_t at, const std::string& what) const {
    throw Error("RunMetadata: " + what + " at byte " + std::to_string(at) + " (in " + message_ +
                ", " + std::to_string(buf_.size()) + " bytes in all)");
  }

  [[nodiscard]] std::string_view buffer() const { return buf_; }

 private:
  void fixed(size_t n, const Tag& t) {
    if (n > end_ - pos_)
      fail(t.at, std::string(wire_type_name(t.type)) + " value runs past the end");
    pos_ += n;
  }

  void skip(const Tag& t, int depth) {
    switch (t.type) {
      case kVarint:
        varint();
        return;
      case kFixed64:
        fixed(8, t);
        return;
      case kFixed32:
        fixed(4, t);
        return;
      case kLength:
        length_delimited();
        return;
      case kStartGroup: {
        if (depth >= kMaxGroupDepth) fail(t.at, "groups nested too deep");
        for (;;) {
          if (done()) fail(t.at, "group " + std::to_string(t.field) + " has no end");
          const Tag inner = tag();
          if (inner.type == kEndGroup) {
            if (inner.field != t.field) {
              fail(inner.at, "end-group " + std::to_string(inner.field) + " closes group " +
                                 std::to_string(t.field));
            }
            return;
          }
          skip(inner, depth + 1);
        }
      }
      default:  // kEndGroup without a start
        fail(t.at, "end-group " + std::to_string(t.field) + " without a start-group");
    }
  }

  std::string_view buf_;
  size_t pos_;
  size_t end_;
  const char* message_;
};

Reader sub(const Reader& r, std::pair<size_t, size_t> range, const char* message) {
  return Reader(r.buffer(), range.first, range.second, message);
}

void parse_node(Reader r, NodeExecStats& n) {
  while (!r.done()) {
    const Reader::Tag t = r.tag();
    switch (t.field) {
      case 1:
        r.expect(t, kLength, "node_name");
        n.node_name = r.string();
        break;
      case 2:
        n.all_start_micros = r.int64_field(t, "all_start_micros");
        break;
      case 3:
        n.op_start_rel_micros = r.int64_field(t, "op_start_rel_micros");
        break;
      case 4:
        n.op_end_rel_micros = r.int64_field(t, "op_end_rel_micros");
        break;
      case 5:
        n.all_end_rel_micros = r.int64_field(t, "all_end_rel_micros");
        break;
      case 8:
        r.expect(t, kLength, "timeline_label");
        n.timeline_label = r.string();
        break;
      case 10:
        r.expect(t, kVarint, "thread_id");
        n.thread_id = static_cast<uint32_t>(r.varint());  // uint32: the low 32 bits
        break;
      case 13:
        n.all_start_nanos = r.int64_field(t, "all_start_nanos");
        break;
      case 14:
        n.op_start_rel_nanos = r.int64_field(t, "op_start_rel_nanos");
        break;
      case 15:
        n.op_end_rel_nanos = r.int64_field(t, "op_end_rel_nanos");
        break;
      case 16:
        n.all_end_rel_nanos = r.int64_field(t, "all_end_rel_nanos");
        break;
      default:
        r.skip(t);
    }
  }
}

void parse_device(Reader r, DeviceStepStats& d) {
  while (!r.done()) {
    const Reader::Tag t = r.tag();
    if (t.field == 1) {
      r.expect(t, kLength, "device");
      d.device = r.string();
    } else if (t.field == 2) {
      r.expect(t, kLength, "node_stats");
      parse_node(sub(r, r.length_delimited(), "NodeExecStats"), d.node_stats.emplace_back());
    } else {
      r.skip(t);
    }
  }
}

void parse_step_stats(Reader r, StepStats& s) {
  while (!r.done()) {
    const Reader::Tag t = r.tag();
    if (t.field == 1) {
      r.expect(t, kLength, "dev_stats");
      parse_device(sub(r, r.length_delimited(), "DeviceStepStats"), s.dev_stats.emplace_back());
    } else {
      r.skip(t);
    }
  }
}

// Sums in unsigned arithmetic: values from a malformed buffer wrap instead of overflowing.
int64_t wall_ns(int64_t start_nanos, int64_t rel_nanos, int64_t start_micros, int64_t rel_micros) {
  if (start_nanos != 0) {
    return static_cast<int64_t>(static_cast<uint64_t>(start_nanos) +
                                static_cast<uint64_t>(rel_nanos));
  }
  return static_cast<int64_t>(
      (static_cast<uint64_t>(start_micros) + static_cast<uint64_t>(rel_micros)) * 1000U);
}

}  // namespace

int64_t NodeExecStats::op_start_ns() const {
  return wall_ns(all_start_nanos, op_start_rel_nanos, all_start_micros, op_start_rel_micros);
}

int64_t NodeExecStats::op_end_ns() const {
  return wall_ns(all_start_nanos, op_end_rel_nanos, all_start_micros, op_end_rel_micros);
}

StepStats parse_run_metadata(std::string_view bytes) {
  StepStats out;
  Reader r(bytes, 0, bytes.size(), "RunMetadata");
  while (!r.done()) {
    const Reader::Tag t = r.tag();
    if (t.field == 1) {
      r.expect(t, kLength, "step_stats");
      // A repeated occurrence of a message field merges into the first.
      parse_step_stats(sub(r, r.length_delimited(), "StepStats"), out);
    } else {
      r.skip(t);
    }
  }
  return out;
}

std::string full_trace_run_options() {
  return std::string("\x08\x03", 2);  // field 1 (trace_level), varint, FULL_TRACE = 3
}

}  // namespace greenbench::workloads::tf
