// NCF ratings: planted user/item factors, positives by score + Gumbel noise (MODELS.md, Synthetic
// data).
#include <algorithm>
#include <cmath>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/data.hpp"
#include "common/data_internal.hpp"
#include "common/metrics.hpp"
#include "greenbench/error.hpp"

namespace greenbench::workloads {

using data_detail::f32_tensor;
using data_detail::i64_tensor;
using data_detail::keep_only;
using data_detail::shuffle;

namespace {

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

}  // namespace

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

std::unique_ptr<TaskData> data_detail::make_ncf_task(const ModelSpec& spec, uint64_t seed,
                                                     int threads) {
  return std::make_unique<NcfTask>(spec, seed, threads);
}

}  // namespace greenbench::workloads
