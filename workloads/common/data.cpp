#include "common/data.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>
#include <thread>
#include <unordered_map>

#include "common/metrics.hpp"
#include "greenbench/error.hpp"

namespace greenbench::workloads {
namespace {

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

HostTensor i64_tensor(std::vector<int64_t> shape, std::vector<int64_t> values) {
  HostTensor t;
  t.dtype = HostTensor::DType::kI64;
  t.shape = std::move(shape);
  t.i64 = std::move(values);
  return t;
}

HostTensor f32_tensor(std::vector<int64_t> shape, std::vector<float> values) {
  HostTensor t;
  t.dtype = HostTensor::DType::kF32;
  t.shape = std::move(shape);
  t.f32 = std::move(values);
  return t;
}

// The batch with only the named input left.
Batch keep_only(Batch batch, const std::string& name) {
  Batch out;
  for (auto& [n, t] : batch.inputs) {
    if (n == name) out.inputs.emplace_back(n, std::move(t));
  }
  return out;
}

// Fisher–Yates with our generator (std::shuffle's algorithm is implementation-defined).
template <typename T>
void shuffle(std::vector<T>& v, Rng& rng) {
  for (size_t i = v.size(); i > 1; --i) {
    const size_t j = rng.below(i);
    std::swap(v[i - 1], v[j]);
  }
}

// ---------------------------------------------------------------------------------------------
class NcfTask : public TaskData {
 public:
  NcfTask(const ModelSpec& spec, uint64_t seed, int threads)
      : config_(spec.ncf), batch_(spec.batch_size), data_(make_ncf_data(spec.ncf, seed, threads)) {
    group_ = 1 + config_.eval_negatives;
    users_per_batch_ = std::max<int64_t>(1, spec.eval_batch_size / group_);
    batches_ = (config_.num_users + users_per_batch_ - 1) / users_per_batch_;
    if (spec.eval_batches > 0) {
      batches_ = std::min(batches_, spec.eval_batches);
    }
  }

  Batch train_batch(int64_t step) const override {
    const auto n = static_cast<int64_t>(data_.train_users.size());
    std::vector<int64_t> users(batch_);
    std::vector<int64_t> items(batch_);
    std::vector<float> labels(batch_);
    for (int64_t k = 0; k < batch_; ++k) {
      const auto row = static_cast<size_t>((step * batch_ + k) % n);
      users[k] = data_.train_users[row];
      items[k] = data_.train_items[row];
      labels[k] = data_.train_labels[row];
    }
    Batch b;
    b.inputs.emplace_back("users", i64_tensor({batch_}, std::move(users)));
    b.inputs.emplace_back("items", i64_tensor({batch_}, std::move(items)));
    b.inputs.emplace_back("labels", f32_tensor({batch_}, std::move(labels)));
    return b;
  }

  int64_t eval_batch_count() const override { return batches_; }

  Batch eval_batch(int64_t index) const override {
    const int64_t first = index * users_per_batch_;
    const int64_t last = std::min(config_.num_users, first + users_per_batch_);
    const auto begin = static_cast<size_t>(first * group_);
    const auto end = static_cast<size_t>(last * group_);
    const auto rows = static_cast<int64_t>(end - begin);
    std::vector<int64_t> users(data_.eval_users.begin() + begin, data_.eval_users.begin() + end);
    std::vector<int64_t> items(data_.eval_items.begin() + begin, data_.eval_items.begin() + end);
    std::vector<float> labels(end - begin, 0.0F);
    for (size_t r = 0; r < labels.size(); r += static_cast<size_t>(group_)) {
      labels[r] = 1.0F;
    }
    Batch b;
    b.inputs.emplace_back("users", i64_tensor({rows}, std::move(users)));
    b.inputs.emplace_back("items", i64_tensor({rows}, std::move(items)));
    b.inputs.emplace_back("labels", f32_tensor({rows}, std::move(labels)));
    return b;
  }

  int64_t samples_in(const Batch& batch) const override { return batch.get("users").numel(); }

  void begin_eval() override { hits_ = users_ = 0, bce_ = 0.0, rows_ = 0; }

  Batch metric_inputs(Batch batch) const override { return keep_only(std::move(batch), "labels"); }

  void add_eval(const Batch& b, const HostTensor& logits) override {
    const HostTensor& labels = b.get("labels");
    if (logits.f32.size() != labels.f32.size()) {
      throw Error("ncf: " + std::to_string(logits.f32.size()) +
                  " logits for an evaluation batch of " + std::to_string(labels.f32.size()) +
                  " rows");
    }
    hits_ += count_hits_at_k(logits.f32, group_, config_.top_k);
    users_ += static_cast<int64_t>(labels.f32.size()) / group_;
    bce_ += sum_binary_cross_entropy(logits.f32, labels.f32);
    rows_ += static_cast<int64_t>(labels.f32.size());
  }

  std::vector<std::pair<std::string, double>> quality() const override {
    if (users_ == 0) {
      return {};
    }
    return {{"hit_rate_10", static_cast<double>(hits_) / static_cast<double>(users_)},
            {"eval_loss", bce_ / static_cast<double>(rows_)}};
  }

 private:
  NcfConfig config_;
  int64_t batch_;
  NcfData data_;
  int64_t group_ = 0, users_per_batch_ = 0, batches_ = 0;
  int64_t hits_ = 0, users_ = 0, rows_ = 0;
  double bce_ = 0.0;
};

// ---------------------------------------------------------------------------------------------
class ImageTask : public TaskData {
 public:
  ImageTask(const ModelSpec& spec, uint64_t seed)
      : config_(spec.resnet),
        seed_(seed),
        batch_(spec.batch_size),
        eval_batch_(spec.eval_batch_size),
        batches_(spec.eval_batches),
        templates_(make_class_templates(spec.resnet, seed)) {}

  Batch train_batch(int64_t step) const override {
    ImageData d = make_images(config_, templates_, batch_, seed_,
                              stream_tag("images.train." + std::to_string(step)));
    return make_batch(std::move(d.images), std::move(d.labels), batch_);
  }

  int64_t eval_batch_count() const override { return batches_; }

  Batch eval_batch(int64_t index) const override {
    // Evaluation batch i always comes from its own stream.
    ImageData d = make_images(config_, templates_, eval_batch_, seed_,
                              stream_tag("images.eval." + std::to_string(index)));
    return make_batch(std::move(d.images), std::move(d.labels), eval_batch_);
  }

  int64_t samples_in(const Batch& batch) const override { return batch.get("labels").numel(); }

  Batch metric_inputs(Batch batch) const override { return keep_only(std::move(batch), "labels"); }

  void begin_eval() override { top1_ = top5_ = rows_ = 0, ce_ = 0.0; }

  void add_eval(const Batch& b, const HostTensor& logits) override {
    const auto& labels = b.get("labels").i64;
    const int64_t k = config_.num_classes;
    top1_ += count_top_k_correct(logits.f32, k, labels, 1);
    top5_ += count_top_k_correct(logits.f32, k, labels, std::min<int64_t>(5, k));
    ce_ += sum_cross_entropy(logits.f32, k, labels);
    rows_ += static_cast<int64_t>(labels.size());
  }

  std::vector<std::pair<std::string, double>> quality() const override {
    if (rows_ == 0) {
      return {};
    }
    const auto n = static_cast<double>(rows_);
    return {{"accuracy_top1", static_cast<double>(top1_) / n},
            {"accuracy_top5", static_cast<double>(top5_) / n},
            {"eval_loss", ce_ / n}};
  }

 private:
  Batch make_batch(std::vector<float> images, std::vector<int64_t> labels, int64_t n) const {
    const int64_t s = config_.image_size;
    Batch b;
    b.inputs.emplace_back("images", f32_tensor({n, config_.channels, s, s}, std::move(images)));
    b.inputs.emplace_back("labels", i64_tensor({n}, std::move(labels)));
    return b;
  }

  ResNetConfig config_;
  uint64_t seed_;
  int64_t batch_, eval_batch_, batches_;
  std::vector<float> templates_;
  int64_t top1_ = 0, top5_ = 0, rows_ = 0;
  double ce_ = 0.0;
};

// ---------------------------------------------------------------------------------------------
class TextTask : public TaskData {
 public:
  TextTask(const ModelSpec& spec, uint64_t seed)
      : config_(spec.txl),
        batch_(spec.batch_size),
        eval_batch_(spec.eval_batch_size),
        batches_(spec.eval_batches),
        chain_(make_markov_chain(spec.txl.n_token, spec.txl.markov_branching, seed)) {
    train_ = make_columns(batch_, spec.train_steps * config_.tgt_len + 1, seed, "text.train.");
    eval_ = make_columns(eval_batch_, batches_ * config_.eval_tgt_len + 1, seed, "text.eval.");
    bound_ = std::exp(chain_.entropy_rate_nats());
  }

  Batch train_batch(int64_t step) const override {
    return segment(train_, batch_, config_.tgt_len, step);
  }

  int64_t eval_batch_count() const override { return batches_; }

  Batch eval_batch(int64_t index) const override {
    return segment(eval_, eval_batch_, config_.eval_tgt_len, index);
  }

  int64_t samples_in(const Batch& batch) const override { return batch.get("target").numel(); }

  void begin_eval() override { nll_ = 0.0, tokens_ = 0; }

  Batch metric_inputs(Batch batch) const override { return keep_only(std::move(batch), "target"); }

  void add_eval(const Batch& b, const HostTensor& logits) override {
    const auto& target = b.get("target").i64;
    nll_ += sum_cross_entropy(logits.f32, config_.n_token, target);
    tokens_ += static_cast<int64_t>(target.size());
  }

  std::vector<std::pair<std::string, double>> quality() const override {
    if (tokens_ == 0) {
      return {};
    }
    return {{"perplexity", perplexity(nll_, tokens_)},
            {"perplexity_bound", bound_},
            {"eval_loss", nll_ / static_cast<double>(tokens_)}};
  }

 private:
  // Column texts are extended on demand (a longer run reads the same prefix).
  std::vector<std::vector<int64_t>> make_columns(int64_t columns, int64_t length, uint64_t seed,
                                                 const std::string& prefix) const {
    std::vector<std::vector<int64_t>> out;
    for (int64_t b = 0; b < columns; ++b) {
      Rng rng(seed, stream_tag(prefix + std::to_string(b)));
      const auto start = static_cast<int64_t>(rng.below(static_cast<uint64_t>(chain_.vocab)));
      out.push_back(chain_.sample(length, start, rng));
    }
    return out;
  }

  static Batch segment(const std::vector<std::vector<int64_t>>& columns, int64_t batch, int64_t q,
                       int64_t index) {
    std::vector<int64_t> data(static_cast<size_t>(q * batch));
    std::vector<int64_t> target(data.size());
    for (int64_t b = 0; b < batch; ++b) {
      const auto& text = columns[static_cast<size_t>(b)];
      // Steps beyond the generated text wrap around (only when --steps exceeds the preset).
      const auto usable = static_cast<int64_t>(text.size()) - 1;
      for (int64_t i = 0; i < q; ++i) {
        const int64_t pos = (index * q + i) % usable;
        data[static_cast<size_t>(i * batch + b)] = text[static_cast<size_t>(pos)];
        target[static_cast<size_t>(i * batch + b)] = text[static_cast<size_t>(pos + 1)];
      }
    }
    Batch out;
    out.inputs.emplace_back("data", i64_tensor({q, batch}, std::move(data)));
    out.inputs.emplace_back("target", i64_tensor({q, batch}, std::move(target)));
    return out;
  }

  TransformerXlConfig config_;
  int64_t batch_, eval_batch_, batches_;
  MarkovChain chain_;
  std::vector<std::vector<int64_t>> train_, eval_;
  double bound_ = 0.0;
  double nll_ = 0.0;
  int64_t tokens_ = 0;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t stream_tag(const std::string& name) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : name) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

Rng::Rng(uint64_t seed, uint64_t stream) {
  uint64_t x = splitmix64(seed) ^ stream;
  for (uint64_t& s : s_) {
    x = splitmix64(x);
    s = x;
  }
}

uint64_t Rng::next() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

uint64_t Rng::below(uint64_t n) {
  // Rejection keeps every value equally likely.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x = next();
  while (x >= limit) {
    x = next();
  }
  return x % n;
}

double Rng::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  const double u1 = 1.0 - uniform();  // (0, 1]: log is finite
  const double u2 = uniform();
  const double r = std::sqrt(-2.0 * std::log(u1));
  spare_ = r * std::sin(2.0 * std::numbers::pi * u2);
  has_spare_ = true;
  return r * std::cos(2.0 * std::numbers::pi * u2);
}

// ---------------------------------------------------------------------------------------------
NcfData make_ncf_data(const NcfConfig& c, uint64_t seed, int threads) {
  if (c.positives_per_user < 2 || c.num_items < c.positives_per_user + c.eval_negatives) {
    throw Error("ncf data: " + std::to_string(c.num_items) + " items cannot hold " +
                std::to_string(c.positives_per_user) + " positives and " +
                std::to_string(c.eval_negatives) + " negatives per user");
  }
  const int64_t r = c.latent_rank;
  Rng factors(seed, stream_tag("ncf.factors"));
  std::vector<double> p(static_cast<size_t>(c.num_users * r));
  std::vector<double> q(static_cast<size_t>(c.num_items * r));
  std::vector<double> pop(static_cast<size_t>(c.num_items));
  for (double& x : p) {
    x = factors.normal();
  }
  for (double& x : q) {
    x = factors.normal();
  }
  for (double& x : pop) {
    x = factors.normal();
  }
  const double scale = 2.0 / std::sqrt(static_cast<double>(r));

  // Every user's draws come from their own stream, so users are made on `threads` threads and
  // the data do not depend on the thread count. Each user has the same number of rows, so each
  // thread writes its users' rows in place.
  const int64_t group = 1 + c.eval_negatives;
  const int64_t rows_per_user = (c.positives_per_user - 1) * (1 + c.negatives_per_positive);
  NcfData d;
  d.train_users.resize(static_cast<size_t>(c.num_users * rows_per_user));
  d.train_items.resize(d.train_users.size());
  d.train_labels.resize(d.train_users.size());
  d.eval_users.resize(static_cast<size_t>(c.num_users * group));
  d.eval_items.resize(d.eval_users.size());
  std::vector<double> q_by_rank(q.size());
  for (int64_t i = 0; i < c.num_items; ++i) {
    for (int64_t k = 0; k < r; ++k) {
      q_by_rank[static_cast<size_t>(k * c.num_items + i)] = q[static_cast<size_t>(i * r + k)];
    }
  }
  // gumbel_floor[b]: the smallest U whose Gumbel value G(U) = -log(-log U) reaches b / 8, lowered
  // by a margin so that rounding never skips a U that reaches a gap in [b / 8, (b + 1) / 8).
  // Beyond the table (a gap of 48 or more) no double U < 1 reaches it: G is at most about 37.4.
  constexpr double kGapsPerUnit = 8.0;
  std::vector<double> gumbel_floor(48 * 8 + 1);
  for (size_t b = 0; b < gumbel_floor.size(); ++b) {
    const double gap = static_cast<double>(b) / kGapsPerUnit;
    gumbel_floor[b] = std::exp(-std::exp(-gap)) * (1.0 - 1e-9);
  }
  const auto make_users = [&](int64_t first, int64_t stride) {
    std::vector<std::pair<double, int64_t>> keyed;
    std::vector<double> dot(static_cast<size_t>(c.num_items));
    std::vector<double> score(static_cast<size_t>(c.num_items));
    std::vector<double> open_u(static_cast<size_t>(c.num_items));
    std::vector<int64_t> pool;
    std::vector<char> positive(static_cast<size_t>(c.num_items));
    for (int64_t u = first; u < c.num_users; u += stride) {
      Rng rng(seed, stream_tag("ncf.user." + std::to_string(u)));
      // Positives: the k largest keys score + Gumbel noise (a sample without replacement
      // ∝ exp(score)), key_i = score_i + G(U_i), G(U) = -log(-log U). Two logarithms per user
      // and item would dominate set-up, so the items are scanned in order keeping the k best
      // keys so far, and an item's key is computed only if its U can beat the worst of them:
      // key_i >= T needs U_i >= exp(-exp(score_i - T)), checked against a table that errs
      // towards computing. An item skipped is below a key that the k-th largest is not below,
      // so the positives are those of computing every key.
      // dot(P_u, Q_i) summed over k in order for every item at once (q_by_rank is Q
      // transposed), which the compiler can vectorise across items.
      std::fill(dot.begin(), dot.end(), 0.0);
      for (int64_t k = 0; k < r; ++k) {
        const double pk = p[static_cast<size_t>(u * r + k)];
        const double* qk = q_by_rank.data() + k * c.num_items;
        for (size_t i = 0; i < dot.size(); ++i) {
          dot[i] += pk * qk[i];
        }
      }
      for (size_t i = 0; i < dot.size(); ++i) {
        score[i] = scale * dot[i] + pop[i];
        // U in (0, 1) strictly, so both logarithms are finite.
        open_u[i] = (static_cast<double>(rng.next() >> 11) + 0.5) * 0x1.0p-53;
      }
      const auto first = [](const auto& a, const auto& b) {
        return a.first > b.first || (a.first == b.first && a.second < b.second);
      };
      const auto k_top = static_cast<size_t>(c.positives_per_user);
      keyed.clear();  // a heap whose front is the worst of the best keys so far
      for (size_t i = 0; i < score.size(); ++i) {
        if (keyed.size() == k_top) {
          const double gap = keyed.front().first - score[i];  // G(U_i) must reach this
          if (gap > 0.0) {
            const auto bucket = static_cast<size_t>(
                std::min(gap * kGapsPerUnit, static_cast<double>(gumbel_floor.size() - 1)));
            if (open_u[i] < gumbel_floor[bucket]) continue;
          }
        }
        const std::pair<double, int64_t> item{score[i] + -std::log(-std::log(open_u[i])),
                                              static_cast<int64_t>(i)};
        if (keyed.size() < k_top) {
          keyed.push_back(item);
          std::push_heap(keyed.begin(), keyed.end(), first);
        } else if (first(item, keyed.front())) {
          std::pop_heap(keyed.begin(), keyed.end(), first);
          keyed.back() = item;
          std::push_heap(keyed.begin(), keyed.end(), first);
        }
      }
      std::sort_heap(keyed.begin(), keyed.end(), first);  // best first
      std::vector<int64_t> mine;
      for (int64_t k = 0; k < c.positives_per_user; ++k) {
        mine.push_back(keyed[static_cast<size_t>(k)].second);
      }
      shuffle(mine, rng);
      std::fill(positive.begin(), positive.end(), 0);
      for (int64_t i : mine) {
        positive[static_cast<size_t>(i)] = 1;
      }
      auto row = static_cast<size_t>(u * rows_per_user);
      const auto put = [&](int64_t item, float label) {
        d.train_users[row] = u;
        d.train_items[row] = item;
        d.train_labels[row] = label;
        ++row;
      };
      for (size_t k = 0; k + 1 < mine.size(); ++k) {
        put(mine[k], 1.0F);
        for (int64_t n = 0; n < c.negatives_per_positive; ++n) {
          put(static_cast<int64_t>(rng.below(static_cast<uint64_t>(c.num_items))), 0.0F);
        }
      }
      // Evaluation: the held-out positive, then distinct never-positive items (partial shuffle).
      const auto eval_row = static_cast<size_t>(u * group);
      std::fill_n(d.eval_users.begin() + static_cast<std::ptrdiff_t>(eval_row),
                  static_cast<size_t>(group), u);
      d.eval_items[eval_row] = mine.back();
      pool.clear();
      for (int64_t i = 0; i < c.num_items; ++i) {
        if (!positive[static_cast<size_t>(i)]) {
          pool.push_back(i);
        }
      }
      for (int64_t n = 0; n < c.eval_negatives; ++n) {
        const auto j = static_cast<size_t>(n) + rng.below(pool.size() - static_cast<size_t>(n));
        std::swap(pool[static_cast<size_t>(n)], pool[j]);
        d.eval_items[eval_row + 1 + static_cast<size_t>(n)] = pool[static_cast<size_t>(n)];
      }
    }
  };
  const int64_t workers = std::clamp<int64_t>(threads, 1, std::max<int64_t>(1, c.num_users));
  {
    std::vector<std::jthread> helpers;
    for (int64_t t = 1; t < workers; ++t) {
      helpers.emplace_back(make_users, t, workers);
    }
    make_users(0, workers);
  }  // joins
  // One shuffle of the training rows, applied to the three columns alike.
  std::vector<size_t> order(d.train_users.size());
  for (size_t i = 0; i < order.size(); ++i) {
    order[i] = i;
  }
  Rng mix(seed, stream_tag("ncf.shuffle"));
  shuffle(order, mix);
  NcfData s;
  s.train_users.reserve(order.size());
  s.train_items.reserve(order.size());
  s.train_labels.reserve(order.size());
  for (size_t i : order) {
    s.train_users.push_back(d.train_users[i]);
    s.train_items.push_back(d.train_items[i]);
    s.train_labels.push_back(d.train_labels[i]);
  }
  s.eval_users = std::move(d.eval_users);
  s.eval_items = std::move(d.eval_items);
  return s;
}

// ---------------------------------------------------------------------------------------------
std::vector<float> make_class_templates(const ResNetConfig& c, uint64_t seed) {
  const int64_t s = c.image_size;
  const int64_t plane = s * s;
  std::vector<float> out(static_cast<size_t>(c.num_classes * c.channels * plane));
  Rng rng(seed, stream_tag("images.templates"));
  std::vector<double> t(static_cast<size_t>(c.channels * plane));
  std::vector<double> sin_a(static_cast<size_t>(s)), cos_a(sin_a.size());
  std::vector<double> sin_b(sin_a.size()), cos_b(sin_a.size());
  for (int64_t k = 0; k < c.num_classes; ++k) {
    std::fill(t.begin(), t.end(), 0.0);
    for (int64_t ch = 0; ch < c.channels; ++ch) {
      for (int wave = 0; wave < 6; ++wave) {
        const double fy = (2.0 * rng.uniform() - 1.0) * 3.0;
        const double fx = (2.0 * rng.uniform() - 1.0) * 3.0;
        const double phase = 2.0 * std::numbers::pi * rng.uniform();
        const double amp = 0.5 + 0.5 * rng.uniform();
        // sin(a_y + b_x) = sin a_y cos b_x + cos a_y sin b_x: 4·s trigonometric calls per wave
        // instead of s² (at paper scale this was most of a worker's start-up).
        for (int64_t i = 0; i < s; ++i) {
          const double a = 2.0 * std::numbers::pi * fy * static_cast<double>(i) / s + phase;
          const double b = 2.0 * std::numbers::pi * fx * static_cast<double>(i) / s;
          sin_a[i] = amp * std::sin(a), cos_a[i] = amp * std::cos(a);
          sin_b[i] = std::sin(b), cos_b[i] = std::cos(b);
        }
        for (int64_t y = 0; y < s; ++y) {
          double* row = t.data() + ch * plane + y * s;
          for (int64_t x = 0; x < s; ++x) {
            row[x] += sin_a[y] * cos_b[x] + cos_a[y] * sin_b[x];
          }
        }
      }
    }
    double mean = 0.0;
    double sq = 0.0;
    for (double v : t) {
      mean += v;
    }
    mean /= static_cast<double>(t.size());
    for (double v : t) {
      sq += (v - mean) * (v - mean);
    }
    const double sd = std::sqrt(sq / static_cast<double>(t.size()));
    for (size_t i = 0; i < t.size(); ++i) {
      out[static_cast<size_t>(k) * t.size() + i] = static_cast<float>((t[i] - mean) / sd);
    }
  }
  return out;
}

ImageData make_images(const ResNetConfig& c, const std::vector<float>& templates, int64_t count,
                      uint64_t seed, uint64_t stream) {
  const int64_t s = c.image_size;
  const int64_t plane = s * s;
  const int64_t pixels = c.channels * plane;
  ImageData d;
  d.count = count;
  d.images.resize(static_cast<size_t>(count * pixels));
  d.labels.resize(static_cast<size_t>(count));
  Rng rng(seed, stream);
  const auto span = static_cast<uint64_t>(2 * c.max_shift + 1);
  for (int64_t n = 0; n < count; ++n) {
    const auto label = static_cast<int64_t>(rng.below(static_cast<uint64_t>(c.num_classes)));
    const int64_t dy = static_cast<int64_t>(rng.below(span)) - c.max_shift;
    const int64_t dx = static_cast<int64_t>(rng.below(span)) - c.max_shift;
    d.labels[static_cast<size_t>(n)] = label;
    const float* t = templates.data() + label * pixels;
    float* img = d.images.data() + n * pixels;
    for (int64_t ch = 0; ch < c.channels; ++ch) {
      for (int64_t y = 0; y < s; ++y) {
        for (int64_t x = 0; x < s; ++x) {
          const int64_t sy = y - dy;
          const int64_t sx = x - dx;
          const bool inside = sy >= 0 && sy < s && sx >= 0 && sx < s;
          const double base = inside ? t[ch * plane + sy * s + sx] : 0.0;
          img[ch * plane + y * s + x] = static_cast<float>(base + c.noise_std * rng.normal());
        }
      }
    }
  }
  return d;
}

// ---------------------------------------------------------------------------------------------
std::vector<double> MarkovChain::stationary() const {
  const auto n = static_cast<size_t>(vocab);
  std::vector<double> pi(n, 1.0 / static_cast<double>(n));
  std::vector<double> next(n);
  // Work cap: the tiny and small chains converge to 1e-13 long before it; at paper scale
  // (267,735 states) it bounds set-up time, and the bound is then approximate.
  size_t edges = 0;
  for (const auto& row : transitions) edges += row.size();
  const auto max_iter = static_cast<int>(
      std::min<size_t>(100000, std::max<size_t>(200, size_t{2000000000} / (edges + 1))));
  for (int iter = 0; iter < max_iter; ++iter) {
    // The lazy chain (½ stay, ½ move) has the same stationary law and converges even when the
    // chain itself is periodic.
    for (size_t i = 0; i < n; ++i) {
      next[i] = 0.5 * pi[i];
    }
    for (size_t s = 0; s < n; ++s) {
      for (const auto& [t, prob] : transitions[s]) {
        next[static_cast<size_t>(t)] += 0.5 * pi[s] * prob;
      }
    }
    double diff = 0.0;
    for (size_t i = 0; i < n; ++i) {
      diff += std::abs(next[i] - pi[i]);
    }
    pi.swap(next);
    if (diff < 1e-13) {
      break;
    }
  }
  return pi;
}

double MarkovChain::entropy_rate_nats() const {
  const std::vector<double> pi = stationary();
  double h = 0.0;
  for (size_t s = 0; s < transitions.size(); ++s) {
    double hs = 0.0;
    for (const auto& [t, prob] : transitions[s]) {
      if (prob > 0.0) {
        hs -= prob * std::log(prob);
      }
    }
    h += pi[s] * hs;
  }
  return h;
}

std::vector<int64_t> MarkovChain::sample(int64_t length, int64_t start, Rng& rng) const {
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(std::max<int64_t>(0, length)));
  int64_t state = start;
  for (int64_t i = 0; i < length; ++i) {
    out.push_back(state);
    const double u = rng.uniform();
    const auto& next = transitions[static_cast<size_t>(state)];
    double acc = 0.0;
    int64_t chosen = next.back().first;  // guards against rounding in the cumulative sum
    for (const auto& [t, prob] : next) {
      acc += prob;
      if (u < acc) {
        chosen = t;
        break;
      }
    }
    state = chosen;
  }
  return out;
}

MarkovChain make_markov_chain(int64_t vocab, int64_t branching, uint64_t seed) {
  if (vocab < 2 || branching < 1 || branching > vocab) {
    throw Error("markov chain: branching " + std::to_string(branching) + " does not fit vocab " +
                std::to_string(vocab));
  }
  MarkovChain chain;
  chain.vocab = vocab;
  chain.transitions.resize(static_cast<size_t>(vocab));
  Rng rng(seed, stream_tag("text.chain"));
  // The successors other than the ring's are a partial Fisher-Yates shuffle of the pool of the
  // vocab - 1 other states, in increasing order. Only the positions a swap touched differ from
  // that order, so they are kept in a small map: the same draws and successors as shuffling the
  // whole pool, in O(branching) per state instead of O(vocab) (267,735 states at paper scale).
  const auto pool_size = static_cast<uint64_t>(vocab - 1);
  std::unordered_map<uint64_t, int64_t> moved;
  for (int64_t s = 0; s < vocab; ++s) {
    const int64_t ring = (s + 1) % vocab;
    moved.clear();
    const auto at = [&](uint64_t i) {
      const auto it = moved.find(i);
      if (it != moved.end()) return it->second;
      const auto t = static_cast<int64_t>(i);
      return t < ring ? t : t + 1;
    };
    std::vector<int64_t> succ = {ring};
    for (int64_t k = 0; k + 1 < branching; ++k) {
      const auto uk = static_cast<uint64_t>(k);
      const uint64_t j = uk + rng.below(pool_size - uk);
      const int64_t picked = at(j);
      moved[j] = at(uk);
      moved[uk] = picked;
      succ.push_back(picked);
    }
    std::vector<double> w(succ.size());
    double total = 0.0;
    for (double& x : w) {
      const double u = 1.0 - rng.uniform();
      x = u * u * u;
      total += x;
    }
    auto& row = chain.transitions[static_cast<size_t>(s)];
    for (size_t k = 0; k < succ.size(); ++k) {
      row.emplace_back(succ[k], w[k] / total);
    }
  }
  return chain;
}

int64_t batch_bytes(const ModelSpec& spec, bool eval) {
  const int64_t batch = eval ? spec.eval_batch_size : spec.batch_size;
  if (spec.model == "ncf") {
    // users, items (int64) and labels (float32) per row; evaluation batches hold whole users.
    const int64_t group = 1 + spec.ncf.eval_negatives;
    const int64_t rows = eval ? std::max<int64_t>(1, batch / group) * group : batch;
    return rows * (8 + 8 + 4);
  }
  if (spec.model == "resnet50") {
    const ResNetConfig& c = spec.resnet;
    return batch * (c.channels * c.image_size * c.image_size * 4 + 8);
  }
  if (spec.model == "transformer_xl") {
    const int64_t q = eval ? spec.txl.eval_tgt_len : spec.txl.tgt_len;
    return 2 * q * batch * 8;  // data and target
  }
  throw Error("no data for model '" + spec.model + "'");
}

int64_t batch_bytes(const Batch& batch) {
  int64_t bytes = 0;
  for (const auto& [name, t] : batch.inputs) {
    bytes += t.numel() * (t.dtype == HostTensor::DType::kF32 ? 4 : 8);
  }
  return bytes;
}

std::unique_ptr<TaskData> make_task_data(const ModelSpec& spec, uint64_t seed, int threads) {
  if (spec.model == "ncf") {
    return std::make_unique<NcfTask>(spec, seed, threads);
  }
  if (spec.model == "resnet50") {
    return std::make_unique<ImageTask>(spec, seed);
  }
  if (spec.model == "transformer_xl") {
    return std::make_unique<TextTask>(spec, seed);
  }
  throw Error("no data for model '" + spec.model + "'");
}

}  // namespace greenbench::workloads
