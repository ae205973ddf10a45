#include "common/driver.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "common/checkpoint.hpp"
#include "common/data.hpp"
#include "common/data_translation.hpp"
#include "common/loss_scale.hpp"
#include "common/weights.hpp"
#include "greenbench/error.hpp"
#include "greenbench/markers.hpp"

namespace greenbench::workloads {
namespace {

// Exit statuses: 2 for what the caller asked wrongly (arguments, device), 1 for failures.
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

int64_t parse_int(const std::string& flag, const std::string& text, int64_t min, int64_t max) {
  size_t used = 0;
  long long value = 0;
  try {
    value = std::stoll(text, &used, 10);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty() || value < min || value > max) {
    throw Error("option " + flag + ": '" + text + "' is not an integer in [" + std::to_string(min) +
                ", " + std::to_string(max) + "]");
  }
  return value;
}

uint64_t parse_seed(const std::string& text) {
  size_t used = 0;
  unsigned long long value = 0;
  try {
    value = std::stoull(text, &used, 10);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty() || text[0] == '-' || text[0] == '+') {
    throw Error("option --seed: '" + text + "' is not a non-negative integer");
  }
  return value;
}

std::string one_of(const std::string& flag, const std::string& value,
                   const std::vector<std::string>& allowed) {
  for (const std::string& a : allowed) {
    if (a == value) {
      return value;
    }
  }
  std::string list;
  for (size_t i = 0; i < allowed.size(); ++i) {
    list += (i ? ", " : "") + allowed[i];
  }
  throw Error("option " + flag + ": unknown value '" + value + "' (expected " + list + ")");
}

double mean_tail(const std::vector<float>& v, size_t n) {
  if (v.empty()) {
    return 0.0;
  }
  n = std::min(n, v.size());
  double sum = 0.0;
  for (size_t i = v.size() - n; i < v.size(); ++i) {
    sum += v[i];
  }
  return sum / static_cast<double>(n);
}

void write_logits(const std::string& path, const HostTensor& logits) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) {
    throw Error("--dump-logits " + path + ": cannot create the file");
  }
  // float32 little-endian, row-major: the host layout on every platform we build for.
  f.write(reinterpret_cast<const char*>(logits.f32.data()),
          static_cast<std::streamsize>(logits.f32.size() * sizeof(float)));
  if (!f) {
    throw Error("--dump-logits " + path + ": write failed");
  }
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Writes a metric as a marker and as a "name value" line on stdout.
void report(const std::string& name, double value, const std::string& unit = {}) {
  if (std::isfinite(value)) {
    markers::metric(name, value, unit);
  }
  std::printf("%s %.6g%s%s\n", name.c_str(), value, unit.empty() ? "" : " ", unit.c_str());
}

ModelSpec effective_spec(const Settings& s) {
  ModelSpec spec = make_model_spec(s.model, s.scale);
  spec.batch_size = s.batch_size;
  spec.train_steps = s.steps;
  spec.eval_batch_size = s.eval_batch_size;
  spec.eval_batches = s.eval_batches;
  return spec;
}

nlohmann::json options_json(const FrameworkOptions& options) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, value] : options) out[name] = value;
  return out;
}

nlohmann::json describe(const ModelSpec& spec, const Settings& s, Backend& backend,
                        const Weights& built) {
  nlohmann::json layers = nlohmann::json::array();
  for (const NamedTensor& w : built) {
    layers.push_back({{"name", w.name}, {"shape", w.value.shape}, {"trainable", w.trainable}});
  }
  nlohmann::json model;
  if (spec.model == "ncf") {
    const NcfConfig& c = spec.ncf;
    model = {{"num_users", c.num_users},
             {"num_items", c.num_items},
             {"mf_dim", c.mf_dim},
             {"mlp_sizes", c.mlp_sizes},
             {"negatives_per_positive", c.negatives_per_positive},
             {"eval_negatives", c.eval_negatives},
             {"top_k", c.top_k}};
  } else if (spec.model == "resnet50") {
    const ResNetConfig& c = spec.resnet;
    model = {{"image_size", c.image_size},   {"channels", c.channels},
             {"num_classes", c.num_classes}, {"base_width", c.base_width},
             {"blocks", c.blocks},           {"bn_eps", c.bn_eps},
             {"bn_momentum", c.bn_momentum}, {"label_smoothing", c.label_smoothing}};
  } else if (spec.model == "ssd") {
    const SsdConfig& c = spec.ssd;
    model = {{"image_size", c.image_size},
             {"channels", c.channels},
             {"num_classes", c.num_classes},
             {"base_width", c.base_width},
             {"backbone_blocks", c.backbone_blocks},
             {"out_channels", c.out_channels},
             {"mid_channels", c.mid_channels},
             {"feature_sizes", c.feature_sizes},
             {"default_boxes", c.num_default_boxes()},
             {"neg_pos_ratio", c.neg_pos_ratio},
             {"match_iou", c.match_iou},
             {"nms_iou", c.nms_iou},
             {"max_detections", c.max_detections}};
  } else if (spec.model == "gnmt") {
    const GnmtConfig& c = spec.gnmt;
    model = {{"vocab_size", c.vocab_size},
             {"source_vocab_size", source_vocab_size(c.data)},
             {"hidden_size", c.hidden_size},
             {"num_layers", c.num_layers},
             {"max_source_len", c.data.max_source_len},
             {"max_target_len", c.data.max_target_len},
             {"init_weight", c.init_weight},
             {"label_smoothing", c.label_smoothing},
             {"grad_clip_norm", c.grad_clip_norm},
             {"beam_width", c.beam_width},
             {"len_norm_factor", c.len_norm_factor},
             {"len_norm_const", c.len_norm_const},
             {"cov_penalty_factor", c.cov_penalty_factor},
             {"max_decode_length", c.max_decode_length}};
  } else if (spec.model == "mask_rcnn") {
    const MaskRcnnConfig& c = spec.mask_rcnn;
    model = {{"image_height", c.data.height},
             {"image_width", c.data.width},
             {"channels", c.channels},
             {"num_classes", c.num_classes},
             {"base_width", c.base_width},
             {"blocks", c.blocks},
             {"frozen_bn", c.frozen_bn},
             {"trainable_backbone_layers", c.trainable_backbone_layers},
             {"fpn_channels", c.fpn_channels},
             {"anchor_sizes", c.anchor_sizes},
             {"aspect_ratios", c.aspect_ratios},
             {"rpn_batch_per_image", c.rpn_batch_per_image},
             {"rpn_pre_nms_top_n", {c.rpn_pre_nms_top_n_train, c.rpn_pre_nms_top_n_test}},
             {"rpn_post_nms_top_n", {c.rpn_post_nms_top_n_train, c.rpn_post_nms_top_n_test}},
             {"box_batch_per_image", c.box_batch_per_image},
             {"representation_size", c.representation_size},
             {"canonical_scale", c.canonical_scale},
             {"mask_layers", c.mask_layers},
             {"mask_resolution", c.mask_resolution},
             {"detections_per_image", c.detections_per_image}};
  } else {
    const TransformerXlConfig& c = spec.txl;
    model = {{"n_token", c.n_token},
             {"n_layer", c.n_layer},
             {"d_model", c.d_model},
             {"n_head", c.n_head},
             {"d_head", c.d_head},
             {"d_inner", c.d_inner},
             {"tgt_len", c.tgt_len},
             {"mem_len", c.mem_len},
             {"clamp_len", c.clamp_len},
             {"eval_tgt_len", c.eval_tgt_len},
             {"eval_mem_len", c.eval_mem_len},
             {"eval_clamp_len", c.eval_clamp_len}};
  }
  const OptimizerSpec& o = spec.optimizer;
  nlohmann::json optimizer = {{"name", o.name}};
  if (o.name == "adam") {
    optimizer.update({{"beta1", o.beta1}, {"beta2", o.beta2}, {"eps", o.eps}});
  } else {
    optimizer.update({{"momentum", o.momentum}, {"weight_decay", o.weight_decay}});
  }
  return {
      {"model", spec.model},
      {"framework", backend.framework()},
      {"framework_version", backend.framework_version()},
      {"parameter_count", trainable_count(built)},
      {"spec_parameter_count", spec.trainable_parameter_count()},
      {"layers", layers},
      {"config", model},
      {"framework_options", options_json(backend.framework_options())},
      {"settings",
       {{"scale", s.scale},
        {"phase", s.phase},
        {"seed", s.seed},
        {"threads", s.threads},
        {"device", s.device},
        {"batch_size", s.batch_size},
        {"steps", s.steps},
        {"eval_batch_size", s.eval_batch_size},
        {"eval_batches", s.eval_batches},
        {"numerics", s.numerics},
        {"data_budget_bytes", s.data_budget_bytes},
        {"train_pool_batches", s.train_pool_batches},
        {"eval_pool_batches", s.eval_pool_batches},
        {"optimizer", optimizer},
        {"lr", spec.schedule.base_lr},
        {"schedule",
         {{"kind", spec.schedule.kind},
          {"base_lr", spec.schedule.base_lr},
          {"warmup_steps", spec.schedule.warmup_steps},
          {"min_lr", spec.schedule.min_lr}}},
        {"precision", s.precision},
        {"dtype", "float32"},
        {"dropout", 0.0}}},
  };
}

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double sum(const std::vector<double>& v) {
  double total = 0.0;
  for (double x : v) total += x;
  return total;
}

// The synthetic data of one kind (training or evaluation), made in setup as framework tensors.
struct PreparedSet {
  std::vector<std::unique_ptr<PreparedBatch>> batches;
  std::vector<Batch> metric_inputs;  ///< evaluation: labels or targets for the quality metric
  std::vector<int64_t> samples;      ///< samples_in of each batch
  int64_t bytes = 0;                 ///< host bytes of the canonical batches
};

// Generates batches [0, n) on `threads` threads (each batch is a pure function of its index, so
// the bytes do not depend on the thread count) and hands them to the backend in order, a chunk
// at a time, so at most one chunk is held twice.
PreparedSet materialise(const TaskData& data, Backend& backend, int64_t n, bool eval, int threads) {
  PreparedSet set;
  const int64_t chunk = std::max<int64_t>(1, 4 * threads);
  std::vector<Batch> host;
  for (int64_t first = 0; first < n; first += chunk) {
    const int64_t count = std::min(chunk, n - first);
    host.assign(static_cast<size_t>(count), Batch{});
    auto work = [&](int64_t t) {
      for (int64_t i = t; i < count; i += threads) {
        host[static_cast<size_t>(i)] =
            eval ? data.eval_batch(first + i) : data.train_batch(first + i);
      }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads && t < count; ++t) pool.emplace_back(work, t);
    work(0);
    for (std::thread& th : pool) th.join();
    for (Batch& b : host) {
      set.bytes += batch_bytes(b);
      set.samples.push_back(data.samples_in(b));
      set.batches.push_back(backend.prepare(b, /*training=*/!eval));
      if (eval) set.metric_inputs.push_back(data.metric_inputs(std::move(b)));
    }
  }
  return set;
}

// Sends the framework's effective options as info markers, so they are stored with the run.
void send_options(const Backend& backend) {
  for (const auto& [name, value] : backend.framework_options()) {
    markers::info("framework_option." + name, value);
  }
}

// Reports how fast set-up made the data: bytes, seconds and MB/s (generation and conversion into
// framework tensors together).
void report_data(int64_t bytes, double seconds) {
  report("data_bytes", static_cast<double>(bytes), "B");
  report("data_setup_s", seconds, "s");
  report("data_mb_per_s", seconds > 0 ? static_cast<double>(bytes) / 1e6 / seconds : 0.0, "MB/s");
}

// The op profile of a measured phase (--profile FILE, MODELS.md "Profiling"): the backend's
// profiler runs from just before the phase's first step to just after its last; the driver notes
// when each step starts, so that every op span can be given its step.
class PhaseProfile {
 public:
  PhaseProfile(Backend& backend, const Settings& s) : backend_(backend), s_(s) {}
  [[nodiscard]] bool on() const { return !s_.profile.empty(); }
  void start() {
    if (!on()) return;
    backend_.start_profile();
    // Span times count from the end of start_profile() (Backend::stop_profile).
    origin_ = std::chrono::steady_clock::now();
  }
  void step_started(std::chrono::steady_clock::time_point t) {
    if (on()) step_start_s_.push_back(std::chrono::duration<double>(t - origin_).count());
  }
  // Stops the profiler and writes the JSON file; phase_s and step_s are the phase's own timings.
  void finish(const std::string& phase, double phase_s, const std::vector<double>& step_s) {
    if (!on()) return;
    OpProfile p = backend_.stop_profile();
    nlohmann::json ops = nlohmann::json::array();
    double self_s = 0;
    for (const OpTime& op : p.ops) {
      ops.push_back(
          {{"name", op.name}, {"pass", op.pass}, {"self_s", op.self_s}, {"calls", op.calls}});
      self_s += op.self_s;
    }
    nlohmann::json spans = nlohmann::json::array();
    for (OpSpan& span : p.spans) {
      const auto next = std::upper_bound(step_start_s_.begin(), step_start_s_.end(), span.start_s);
      span.step = std::max<int64_t>(0, (next - step_start_s_.begin()) - 1);
      if (spans.size() < kMaxSpans) {
        spans.push_back({{"name", span.name},
                         {"pass", span.pass},
                         {"step", span.step},
                         {"start_s", span.start_s},
                         {"dur_s", span.dur_s}});
      }
    }
    const nlohmann::json out = {
        {"framework", backend_.framework()},
        {"framework_version", backend_.framework_version()},
        {"profiler", p.profiler},
        {"model", s_.model},
        {"scale", s_.scale},
        {"phase", phase},
        {"device", s_.device},
        {"precision", s_.precision},
        {"threads", s_.threads},
        {"steps", static_cast<int64_t>(step_s.size())},
        {"phase_s", phase_s},
        {"ops_self_s", self_s},
        {"step_s", step_s},
        {"step_start_s", step_start_s_},
        {"ops", ops},
        {"spans_total", static_cast<int64_t>(p.spans.size())},
        {"spans", spans},
    };
    std::ofstream f(s_.profile, std::ios::trunc);
    if (!f) throw Error("--profile " + s_.profile + ": cannot create the file");
    f << out.dump() << '\n';
    if (!f) throw Error("--profile " + s_.profile + ": write failed");
  }

 private:
  static constexpr size_t kMaxSpans = 1'000'000;  // about 100 MB of JSON
  Backend& backend_;
  const Settings& s_;
  std::chrono::steady_clock::time_point origin_;
  std::vector<double> step_start_s_;
};

// --dump-logits: the first evaluation batch's head outputs. A model whose predictions are not
// float32 (GNMT's decoded tokens) has its head outputs computed again here, after the measured
// phase, so that the phase holds only the predictions.
void dump_logits(Backend& backend, const PreparedSet& eval, const Settings& s,
                 const HostTensor& first) {
  if (s.dump_logits.empty()) return;
  if (first.dtype == HostTensor::DType::kF32) {
    write_logits(s.dump_logits, first);
  } else {
    backend.reset_state();
    write_logits(s.dump_logits, backend.head_outputs(*eval.batches.front()));
  }
}

// The evaluation passes: s.eval_batches forward passes over the prepared set, cycled; returns the
// wall time of each (the forward pass and the copy of its logits to the host, synchronised), and
// the first batch's predictions in `first`.
std::vector<double> evaluate(Backend& backend, TaskData& data, const PreparedSet& eval,
                             const Settings& s, HostTensor* first,
                             PhaseProfile* profile = nullptr) {
  backend.reset_state();
  data.begin_eval();
  std::vector<double> batch_s;
  batch_s.reserve(static_cast<size_t>(s.eval_batches));
  const auto pool = static_cast<int64_t>(eval.batches.size());
  for (int64_t i = 0; i < s.eval_batches; ++i) {
    const auto k = static_cast<size_t>(i % pool);
    const auto start = std::chrono::steady_clock::now();
    if (profile != nullptr) profile->step_started(start);
    const HostTensor logits = backend.predict(*eval.batches[k]);
    backend.synchronize();
    batch_s.push_back(seconds_since(start));
    markers::step(i);
    data.add_eval(eval.metric_inputs[k], logits);
    if (i == 0 && !s.dump_logits.empty()) *first = logits;
  }
  return batch_s;
}

int64_t eval_samples(const PreparedSet& eval, const Settings& s) {
  int64_t n = 0;
  for (int64_t i = 0; i < s.eval_batches; ++i) {
    n += eval.samples[static_cast<size_t>(i % static_cast<int64_t>(eval.samples.size()))];
  }
  return n;
}

// The spec the data generator sees: only the pools are generated.
ModelSpec data_spec(ModelSpec spec, const Settings& s) {
  spec.train_steps = s.phase == "train" ? s.train_pool_batches : 1;
  spec.eval_batches = s.eval_pool_batches;
  return spec;
}

void run_train(Backend& backend, const ModelSpec& spec, const Settings& s) {
  markers::begin("setup");
  const Weights initial = make_initial_weights(spec, s.seed);
  backend.build(spec, s, initial);
  send_options(backend);
  const auto data_start = std::chrono::steady_clock::now();
  std::unique_ptr<TaskData> data = make_task_data(data_spec(spec, s), s.seed, s.threads);
  const PreparedSet train = materialise(*data, backend, s.train_pool_batches, false, s.threads);
  const PreparedSet eval = materialise(*data, backend, s.eval_pool_batches, true, s.threads);
  backend.finish_prepare();
  backend.synchronize();
  const double data_s = seconds_since(data_start);
  markers::end("setup");

  PhaseProfile profile(backend, s);
  profile.start();
  markers::begin("train");
  std::vector<float> losses;
  std::vector<double> step_s;
  losses.reserve(static_cast<size_t>(s.steps));
  step_s.reserve(static_cast<size_t>(s.steps));
  int64_t samples = 0;
  const bool fp16 = s.precision == "fp16";
  LossScale loss_scale;
  backend.reset_state();
  const auto start = std::chrono::steady_clock::now();
  for (int64_t t = 0; t < s.steps; ++t) {
    const auto k = static_cast<size_t>(t % s.train_pool_batches);
    const double lr = learning_rate_at(spec.schedule, t, s.steps);
    const auto step_start = std::chrono::steady_clock::now();
    profile.step_started(step_start);
    const Backend::StepResult step = backend.train_step(*train.batches[k], static_cast<float>(lr),
                                                        fp16 ? loss_scale.scale() : 1.0f);
    backend.synchronize();
    step_s.push_back(seconds_since(step_start));
    markers::step(t);
    const float loss = step.loss;
    if (fp16) {
      loss_scale.update(step.applied);
      if (!step.applied) {
        markers::info("skipped_step", std::to_string(t) + " (gradients not finite at loss scale " +
                                          std::to_string(loss_scale.scale() / LossScale::kBackoff) +
                                          ")");
      }
    }
    if (fp16 && !step.applied && !std::isfinite(loss)) {
      // An fp16 forward pass that overflowed: the step was skipped like one whose gradients did.
      samples += train.samples[k];
      continue;
    }
    if (!std::isfinite(loss)) {
      throw Error("training diverged: loss " + std::to_string(loss) + " at step " +
                  std::to_string(t));
    }
    losses.push_back(loss);
    samples += train.samples[k];
  }
  backend.synchronize();
  const double train_s = seconds_since(start);
  markers::end("train");
  profile.finish("train", train_s, step_s);

  report_data(train.bytes + eval.bytes, data_s);
  if (losses.empty()) {
    throw Error("training diverged: every one of " + std::to_string(s.steps) +
                " fp16 steps overflowed");
  }
  report("loss_first", losses.front());
  report("loss", mean_tail(losses, 10));
  report("samples_per_s", static_cast<double>(samples) / train_s, "samples/s");
  report("train_s", train_s, "s");
  report("step_s_first", step_s.front(), "s");
  report("step_s_median", median(step_s), "s");
  report("step_s_sum", sum(step_s), "s");
  if (fp16) {
    report("skipped_steps", static_cast<double>(loss_scale.skipped()));
    report("loss_scale_final", loss_scale.scale());
  }

  markers::begin("eval");
  HostTensor first;
  evaluate(backend, *data, eval, s, &first);
  backend.synchronize();
  markers::end("eval");
  dump_logits(backend, eval, s, first);
  for (const auto& [name, value] : data->quality()) {
    report(name, value);
  }

  if (!s.checkpoint.empty()) {
    markers::begin("save");
    save_checkpoint(s.checkpoint, spec.model, spec.scale, backend.weights());
    markers::end("save");
  }
}

void run_infer(Backend& backend, const ModelSpec& spec, const Settings& s) {
  markers::begin("setup");
  const Weights initial = s.checkpoint.empty() ? make_initial_weights(spec, s.seed)
                                               : load_checkpoint(s.checkpoint, spec);
  backend.build(spec, s, initial);
  send_options(backend);
  const auto data_start = std::chrono::steady_clock::now();
  std::unique_ptr<TaskData> data = make_task_data(data_spec(spec, s), s.seed, s.threads);
  const PreparedSet eval = materialise(*data, backend, s.eval_pool_batches, true, s.threads);
  const int64_t samples = eval_samples(eval, s);
  backend.finish_prepare();
  backend.synchronize();
  const double data_s = seconds_since(data_start);
  markers::end("setup");

  PhaseProfile profile(backend, s);
  profile.start();
  markers::begin("infer");
  const auto start = std::chrono::steady_clock::now();
  HostTensor first;
  const std::vector<double> batch_s = evaluate(backend, *data, eval, s, &first, &profile);
  backend.synchronize();
  const double infer_s = seconds_since(start);
  markers::end("infer");
  profile.finish("infer", infer_s, batch_s);
  dump_logits(backend, eval, s, first);

  report_data(eval.bytes, data_s);
  report("samples_per_s", static_cast<double>(samples) / infer_s, "samples/s");
  report("infer_s", infer_s, "s");
  report("batch_s_first", batch_s.front(), "s");
  report("batch_s_median", median(batch_s), "s");
  report("batch_s_sum", sum(batch_s), "s");
  for (const auto& [name, value] : data->quality()) {
    report(name, value);
  }
}

// Parses a byte count with an optional binary suffix: 1048576, 512K, 256M, 2G.
int64_t parse_bytes(const std::string& flag, const std::string& text) {
  std::string digits = text;
  int shift = 0;
  if (!digits.empty()) {
    const char unit = digits.back();
    if (unit == 'K' || unit == 'k') shift = 10;
    if (unit == 'M' || unit == 'm') shift = 20;
    if (unit == 'G' || unit == 'g') shift = 30;
    if (shift > 0) digits.pop_back();
  }
  const int64_t max = (int64_t{1} << 50) >> shift;
  try {
    return parse_int(flag, digits, 1, max) << shift;
  } catch (const Error&) {
    throw Error("option " + flag + ": '" + text +
                "' is not a byte count (an integer, optionally with K, M or G)");
  }
}

// "cpu", "cuda" (= "cuda:0") or "cuda:N".
std::string parse_device(const std::string& value) {
  if (value == "cpu") return value;
  if (value == "cuda") return "cuda:0";
  if (value.rfind("cuda:", 0) == 0) {
    const std::string index = value.substr(5);
    if (!index.empty() && index.size() <= 4 &&
        std::all_of(index.begin(), index.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return "cuda:" + std::to_string(std::stoi(index));
    }
  }
  throw Error("option --device: unknown value '" + value + "' (expected cpu, cuda or cuda:N)");
}

}  // namespace

std::string worker_usage(const std::string& program) {
  return "usage: " + program +
         " --model ncf|resnet50|transformer_xl|ssd|gnmt|mask_rcnn --phase train|infer [options]\n"
         "  --scale tiny|small|paper   size preset (default tiny)\n"
         "  --seed N                   seed of initial weights and synthetic data (default 1)\n"
         "  --threads N                intra-op threads (default 1)\n"
         "  --steps N                  training steps (default: the preset's)\n"
         "  --batch-size N             training batch size (default: the preset's)\n"
         "  --eval-batches N           evaluation forward passes (default: the preset's)\n"
         "  --device cpu|cuda|cuda:N   where the model runs (default cpu; cuda = cuda:0)\n"
         "  --precision fp32|tf32|bf16|fp16\n"
         "                             numerics of conv/matmul (MODELS.md, Precision): fp32;\n"
         "                             TF32 matmuls (CUDA); bf16 or fp16 mixed precision with\n"
         "                             float32 weights (fp16: dynamic loss scale; CUDA, or CPU\n"
         "                             for ncf and resnet50) (default fp32)\n"
         "  --checkpoint FILE          train: save weights after training; infer: load them\n"
         "                             (default infer weights: the seed's initial weights)\n"
         "  --dump-logits FILE         logits of the first evaluation batch, float32 LE\n"
         "  --profile FILE             profile the measured phase op by op with the framework's\n"
         "                             own profiler and write it as JSON (MODELS.md, Profiling);\n"
         "                             profiling slows the run, so never time a profiled run\n"
         "  --numerics default|strict  default: each framework as it ships (TensorFlow with\n"
         "                             oneDNN and Grappler); strict: the configuration the\n"
         "                             cross-framework equality tests need (default: default)\n"
         "  --data-budget BYTES        synthetic data held in memory, e.g. 512M, 2G (default 2G);\n"
         "                             half for the training pool, half for the evaluation set\n"
         "  --describe                 print the model and effective settings as JSON\n"
         "  --help                     this text\n"
         "Phase markers go to the descriptor in GREENBENCH_MARKER_FD when it is set.\n";
}

ParsedArgs parse_worker_args(const std::vector<std::string>& args) {
  ParsedArgs out;
  Settings& s = out.settings;
  bool have_model = false;
  bool have_phase = false;
  int64_t steps = 0;
  int64_t batch = 0;
  int64_t eval_batches = 0;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::string value;
    bool inline_value = false;
    if (const size_t eq = flag.find('='); flag.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      inline_value = true;
    }
    if (flag == "--help" || flag == "-h") {
      out.help = true;
      return out;
    }
    if (flag == "--describe") {
      if (inline_value) {
        throw Error("option --describe takes no value");
      }
      s.describe = true;
      continue;
    }
    static const std::vector<std::string> with_value = {
        "--model",    "--phase",       "--scale",        "--seed",        "--threads",
        "--steps",    "--device",      "--checkpoint",   "--dump-logits", "--batch-size",
        "--numerics", "--data-budget", "--eval-batches", "--precision",   "--profile"};
    if (std::find(with_value.begin(), with_value.end(), flag) == with_value.end()) {
      throw Error("unknown option '" + args[i] + "' (see --help)");
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) {
        throw Error("option " + flag + " needs a value");
      }
      value = args[++i];
    }
    if (flag == "--model") {
      s.model = one_of(flag, value, model_names());
      have_model = true;
    } else if (flag == "--phase") {
      s.phase = one_of(flag, value, {"train", "infer"});
      have_phase = true;
    } else if (flag == "--scale") {
      s.scale = one_of(flag, value, scale_names());
    } else if (flag == "--seed") {
      s.seed = parse_seed(value);
    } else if (flag == "--threads") {
      s.threads = static_cast<int>(parse_int(flag, value, 1, 1024));
    } else if (flag == "--steps") {
      steps = parse_int(flag, value, 1, int64_t{1} << 40);
    } else if (flag == "--batch-size") {
      batch = parse_int(flag, value, 1, int64_t{1} << 24);
    } else if (flag == "--eval-batches") {
      eval_batches = parse_int(flag, value, 1, int64_t{1} << 40);
    } else if (flag == "--numerics") {
      s.numerics = one_of(flag, value, {"default", "strict"});
    } else if (flag == "--data-budget") {
      s.data_budget_bytes = parse_bytes(flag, value);
    } else if (flag == "--device") {
      s.device = parse_device(value);
    } else if (flag == "--precision") {
      s.precision = one_of(flag, value, {"fp32", "tf32", "bf16", "fp16"});
    } else if (flag == "--checkpoint") {
      if (value.empty()) {
        throw Error("option --checkpoint: empty file name");
      }
      s.checkpoint = value;
    } else if (flag == "--dump-logits") {
      if (value.empty()) {
        throw Error("option --dump-logits: empty file name");
      }
      s.dump_logits = value;
    } else if (flag == "--profile") {
      if (value.empty()) {
        throw Error("option --profile: empty file name");
      }
      s.profile = value;
    }
  }
  if (!have_model) {
    throw Error(
        "option --model is required (ncf, resnet50, transformer_xl, ssd, gnmt or mask_rcnn)");
  }
  if (!have_phase) {
    if (!s.describe) {
      throw Error("option --phase is required (train or infer)");
    }
    s.phase = "train";
  }
  if (s.precision == "fp16" && s.device == "cpu" && s.model == "transformer_xl") {
    throw Error(
        "option --precision fp16: transformer_xl needs --device cuda (TensorFlow's CPU build has "
        "no float16 BatchMatMulV3 kernel, which the attention's gradient uses)");
  }
  const ModelSpec spec = make_model_spec(s.model, s.scale);
  s.steps = steps > 0 ? steps : spec.train_steps;
  s.batch_size = batch > 0 ? batch : spec.batch_size;
  s.eval_batch_size = spec.eval_batch_size;
  s.eval_batches = eval_batches > 0 ? eval_batches : spec.eval_batches;
  // Half of the budget each for the distinct training batches and the distinct evaluation
  // batches; beyond it the pools are cycled (the evaluation pool's size does not depend on the
  // phase, so train and infer runs judge quality on the same set).
  ModelSpec sized = spec;
  sized.batch_size = s.batch_size;
  const int64_t half = s.data_budget_bytes / 2;
  s.train_pool_batches =
      std::clamp<int64_t>(half / std::max<int64_t>(1, batch_bytes(sized, false)), 1, s.steps);
  // The preset's evaluation batches are the distinct ones (NCF has no more users than that);
  // more passes (--eval-batches) cycle them.
  s.eval_pool_batches = std::clamp<int64_t>(half / std::max<int64_t>(1, batch_bytes(sized, true)),
                                            1, std::min(s.eval_batches, spec.eval_batches));
  return out;
}

int run_worker(int argc, char** argv, Backend& backend) {
  std::string program = argc > 0 ? argv[0] : "greenbench-worker";
  if (const size_t slash = program.rfind('/'); slash != std::string::npos) {
    program = program.substr(slash + 1);
  }
  ParsedArgs parsed;
  try {
    parsed = parse_worker_args(std::vector<std::string>(argv + std::min(argc, 1), argv + argc));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", program.c_str(), e.what());
    return kExitUsage;
  }
  if (parsed.help) {
    std::fputs(worker_usage(program).c_str(), stdout);
    return 0;
  }
  const Settings& s = parsed.settings;
  try {
    const ModelSpec spec = effective_spec(s);
    if (s.describe) {
      backend.build(spec, s, make_initial_weights(spec, s.seed));
      const Weights built = backend.weights();
      check_weights(spec, built, backend.framework() + " model");
      std::printf("%s\n", describe(spec, s, backend, built).dump(2).c_str());
      return 0;
    }
    markers::info("framework", backend.framework());
    markers::info("framework_version", backend.framework_version());
    markers::info("threads", std::to_string(s.threads));
    markers::info("device", s.device);
    markers::info("model", s.model + " " + s.scale + " seed " + std::to_string(s.seed));
    markers::info("numerics", s.numerics);
    markers::info("precision", s.precision);
    markers::info("data", "budget " + std::to_string(s.data_budget_bytes) + " B, train pool " +
                              std::to_string(s.train_pool_batches) + " of " +
                              std::to_string(s.steps) + " steps, eval pool " +
                              std::to_string(s.eval_pool_batches) + " of " +
                              std::to_string(s.eval_batches) + " batches");
    if (s.phase == "train") {
      run_train(backend, spec, s);
    } else {
      run_infer(backend, spec, s);
    }
    std::fflush(stdout);
    return 0;
  } catch (const DeviceUnavailable& e) {
    std::fprintf(stderr, "%s: %s\n", program.c_str(), e.what());
    return kExitUsage;
  } catch (const std::exception& e) {
    std::string msg = e.what();
    // Framework errors can span lines (stack traces); the first line carries the reason.
    if (const size_t nl = msg.find('\n'); nl != std::string::npos) {
      msg = msg.substr(0, nl);
    }
    std::fprintf(stderr, "%s: %s\n", program.c_str(), msg.c_str());
    return kExitFailure;
  }
}

}  // namespace greenbench::workloads
