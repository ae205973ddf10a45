#include "common/checkpoint.hpp"

#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

#include "common/weights.hpp"
#include "greenbench/error.hpp"

namespace greenbench::workloads {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the checkpoint writer stores native little-endian bytes");

constexpr char kMagic[8] = {'G', 'B', 'C', 'K', 'P', 'T', '\r', '\n'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderBytes = 8 + 4 + 4 + 8;  // magic, version, reserved, file size
constexpr uint32_t kMaxDims = 8;
constexpr uint32_t kMaxString = 4096;

uint64_t fnv1a(const char* data, size_t n) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(data[i]);
    h *= 0x100000001b3ULL;
  }
  return h;
}

template <typename T>
void put(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}

void put_string(std::string& out, const std::string& s) {
  put<uint32_t>(out, static_cast<uint32_t>(s.size()));
  out += s;
}

class Reader {
 public:
  Reader(const std::string& path, const std::string& bytes, size_t end)
      : path_(path), bytes_(bytes), end_(end) {}

  template <typename T>
  T get(const std::string& what) {
    need(sizeof(T), what);
    T value;
    std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }

  std::string get_string(const std::string& what) {
    const auto n = get<uint32_t>(what + " length");
    if (n > kMaxString) {
      corrupt(what + " length " + std::to_string(n) + " is implausible");
    }
    need(n, what);
    std::string s = bytes_.substr(pos_, n);
    pos_ += n;
    if (!is_valid_utf8(s) || has_control_character(s)) {
      corrupt(what + " \"" + printable(s) + "\" is not a UTF-8 name");
    }
    return s;
  }

  void get_floats(std::vector<float>& out, size_t count, const std::string& what) {
    if (count > (end_ - pos_) / sizeof(float)) {
      corrupt(what + " needs " + std::to_string(count * sizeof(float)) + " bytes at offset " +
              std::to_string(pos_) + ", only " + std::to_string(end_ - pos_) + " remain");
    }
    out.resize(count);
    // A tensor with a zero dimension has no data, and an empty vector's data() may be null,
    // which memcpy must not be given even for 0 bytes.
    if (count > 0) std::memcpy(out.data(), bytes_.data() + pos_, count * sizeof(float));
    pos_ += count * sizeof(float);
  }

  [[nodiscard]] size_t pos() const { return pos_; }

  [[noreturn]] void corrupt(const std::string& what) const {
    throw Error("checkpoint " + printable(path_, 200) + ": corrupt: " + what);
  }

 private:
  void need(size_t n, const std::string& what) const {
    if (n > end_ - pos_) {
      corrupt(what + " runs past the end of the data at offset " + std::to_string(pos_));
    }
  }

  const std::string& path_;
  const std::string& bytes_;
  size_t end_;
  size_t pos_ = kHeaderBytes;
};

}  // namespace

void save_checkpoint(const std::string& path, const std::string& model, const std::string& scale,
                     const Weights& weights) {
  std::string out(kMagic, sizeof(kMagic));
  put<uint32_t>(out, kVersion);
  put<uint32_t>(out, 0);
  put<uint64_t>(out, 0);  // file size, patched below
  put_string(out, model);
  put_string(out, scale);
  put<uint32_t>(out, static_cast<uint32_t>(weights.size()));
  for (const NamedTensor& w : weights) {
    if (w.value.dtype != HostTensor::DType::kF32 ||
        w.value.f32.size() != static_cast<size_t>(w.value.numel())) {
      throw Error("checkpoint " + path + ": tensor '" + w.name + "' is not a float32 tensor of " +
                  "its shape");
    }
    put_string(out, w.name);
    put<uint8_t>(out, w.trainable ? 1 : 0);
    put<uint8_t>(out, 0);  // dtype 0 = float32
    put<uint16_t>(out, 0);
    put<uint32_t>(out, static_cast<uint32_t>(w.value.shape.size()));
    for (int64_t d : w.value.shape) {
      put<int64_t>(out, d);
    }
    out.append(reinterpret_cast<const char*>(w.value.f32.data()),
               w.value.f32.size() * sizeof(float));
  }
  const uint64_t size = out.size() + sizeof(uint64_t);
  std::memcpy(out.data() + 16, &size, sizeof(size));
  put<uint64_t>(out, fnv1a(out.data(), out.size()));

  // Write a temporary file and rename it, so a reader never sees half a checkpoint.
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) {
      throw Error("checkpoint " + path + ": cannot create " + tmp + ": " + std::strerror(errno));
    }
    f.write(out.data(), static_cast<std::streamsize>(out.size()));
    f.close();
    if (!f) {
      std::remove(tmp.c_str());
      throw Error("checkpoint " + path + ": write failed");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    std::remove(tmp.c_str());
    throw Error("checkpoint " + path + ": cannot rename " + tmp + ": " + reason);
  }
}

Checkpoint read_checkpoint(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    throw Error("checkpoint " + printable(path, 200) + ": cannot open: " + std::strerror(errno));
  }
  const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return parse_checkpoint(bytes, path);
}

Checkpoint parse_checkpoint(const std::string& bytes, const std::string& path) {
  const std::string file = "checkpoint " + printable(path, 200);
  if (bytes.size() < sizeof(kMagic) || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    throw Error(file + ": not a greenbench checkpoint (bad magic)");
  }
  if (bytes.size() < kHeaderBytes) {
    throw Error(file + ": truncated: " + std::to_string(bytes.size()) +
                " bytes, shorter than the header");
  }
  uint32_t version = 0;
  std::memcpy(&version, bytes.data() + 8, sizeof(version));
  if (version != kVersion) {
    throw Error(file + ": unsupported version " + std::to_string(version) +
                " (this build reads version " + std::to_string(kVersion) + ")");
  }
  uint64_t declared = 0;
  std::memcpy(&declared, bytes.data() + 16, sizeof(declared));
  if (bytes.size() < declared) {
    throw Error(file + ": truncated: " + std::to_string(bytes.size()) + " of " +
                std::to_string(declared) + " bytes");
  }
  if (bytes.size() > declared || declared < kHeaderBytes + sizeof(uint64_t)) {
    throw Error(file + ": corrupt: " + std::to_string(bytes.size()) + " bytes, header says " +
                std::to_string(declared));
  }
  const size_t body = bytes.size() - sizeof(uint64_t);
  uint64_t stored = 0;
  std::memcpy(&stored, bytes.data() + body, sizeof(stored));
  if (stored != fnv1a(bytes.data(), body)) {
    throw Error(file + ": corrupt: checksum mismatch");
  }
  // Checked after the checksum: a reserved field that is not 0 in an intact file is written by
  // something that does not follow this version of the format.
  uint32_t reserved = 0;
  std::memcpy(&reserved, bytes.data() + 12, sizeof(reserved));
  if (reserved != 0) {
    throw Error(file + ": corrupt: reserved header field is " + std::to_string(reserved) +
                ", expected 0");
  }

  Reader r(path, bytes, body);
  Checkpoint c;
  c.model = r.get_string("model name");
  c.scale = r.get_string("scale name");
  const auto count = r.get<uint32_t>("tensor count");
  for (uint32_t i = 0; i < count; ++i) {
    NamedTensor t;
    t.name = r.get_string("tensor " + std::to_string(i) + " name");
    const std::string tensor = "tensor '" + printable(t.name) + "'";
    const auto flags = r.get<uint8_t>(tensor + " flags");
    if (flags > 1) {
      r.corrupt(tensor + " flags " + std::to_string(flags) + ", expected 0 or 1");
    }
    t.trainable = flags == 1;
    const auto dtype = r.get<uint8_t>(tensor + " dtype");
    if (dtype != 0) {
      r.corrupt(tensor + " has an unknown dtype " + std::to_string(dtype));
    }
    const auto padding = r.get<uint16_t>(tensor + " padding");
    if (padding != 0) {
      r.corrupt(tensor + " padding " + std::to_string(padding) + ", expected 0");
    }
    const auto ndim = r.get<uint32_t>(tensor + " rank");
    if (ndim > kMaxDims) {
      r.corrupt(tensor + " rank " + std::to_string(ndim));
    }
    uint64_t numel = 1;
    for (uint32_t d = 0; d < ndim; ++d) {
      const auto dim = r.get<int64_t>(tensor + " shape");
      if (dim < 0 || (dim > 0 && numel > (uint64_t{1} << 40) / static_cast<uint64_t>(dim))) {
        r.corrupt(tensor + " dimension " + std::to_string(dim));
      }
      numel *= static_cast<uint64_t>(dim);
      t.value.shape.push_back(dim);
    }
    t.value.dtype = HostTensor::DType::kF32;
    r.get_floats(t.value.f32, numel, tensor + " data");
    // A diverged training run saves NaN or infinite weights; inference on them measures nothing.
    for (size_t k = 0; k < t.value.f32.size(); ++k) {
      if (!std::isfinite(t.value.f32[k])) {
        throw Error(file + ": " + tensor + " holds a non-finite weight (" +
                    (std::isnan(t.value.f32[k]) ? "nan" : "inf") + " at index " +
                    std::to_string(k) + "); was the training run that wrote it diverged?");
      }
    }
    c.weights.push_back(std::move(t));
  }
  if (r.pos() != body) {
    r.corrupt(std::to_string(body - r.pos()) + " unread bytes after the last tensor");
  }
  return c;
}

Weights load_checkpoint(const std::string& path, const ModelSpec& spec) {
  Checkpoint c = read_checkpoint(path);
  if (c.model != spec.model || c.scale != spec.scale) {
    throw Error("checkpoint " + printable(path, 200) + ": holds model '" + printable(c.model) +
                "' at scale '" + printable(c.scale) + "', expected model '" + spec.model +
                "' at scale '" + spec.scale + "'");
  }
  check_weights(spec, c.weights, "checkpoint " + printable(path, 200));
  return std::move(c.weights);
}

}  // namespace greenbench::workloads
