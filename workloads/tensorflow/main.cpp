// greenbench-tf: the TensorFlow worker (TensorFlow C API: graph, session, TF_AddGradients).
//
// TensorFlow reads TF_ENABLE_ONEDNN_OPTS while its libraries load, so this launcher sets the
// environment first and only then loads the worker module (beside this executable), which links
// TensorFlow. Its oneDNN FusedBatchNormV3 gradient departs from the batch norm MODELS.md specifies
// (after one ResNet-50 step the stem kernel differed by 4e-3 from TensorFlow's Eigen kernels and
// from batch norm composed of primitive ops, which agree to 2e-6), so oneDNN is off unless the
// caller sets TF_ENABLE_ONEDNN_OPTS.
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  setenv("TF_ENABLE_ONEDNN_OPTS", "0", 0);
  setenv("TF_CPP_MIN_LOG_LEVEL", "2", 0);  // keep TensorFlow's start-up notes off stderr
  char self[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  std::string dir = ".";
  if (n > 0) {
    self[n] = '\0';
    dir = std::string(self);
    dir.resize(dir.rfind('/'));
  }
  const std::string module = dir + "/libgreenbench-tf-worker.so";
  void* handle = dlopen(module.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    std::fprintf(stderr, "greenbench-tf: cannot load %s: %s\n", module.c_str(), dlerror());
    return 1;
  }
  using Entry = int (*)(int, char**);
  auto entry = reinterpret_cast<Entry>(dlsym(handle, "greenbench_tf_worker_main"));
  if (entry == nullptr) {
    std::fprintf(stderr, "greenbench-tf: %s has no greenbench_tf_worker_main\n", module.c_str());
    return 1;
  }
  return entry(argc, argv);
}
