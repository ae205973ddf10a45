// greenbench-tf: the TensorFlow worker (TensorFlow C API: graph, session, TF_AddGradients).
//
// TensorFlow reads TF_ENABLE_ONEDNN_OPTS while its libraries load, so this launcher sets the
// environment first and only then loads the worker module (beside this executable), which links
// TensorFlow.
//   --numerics default (the default): TensorFlow as it ships, so TF_ENABLE_ONEDNN_OPTS is left as
//     the caller has it (unset: TensorFlow's own default, oneDNN on for x86 Linux).
//   --numerics strict: oneDNN off. Its FusedBatchNormV3 gradient departs from the batch norm
//     MODELS.md specifies (after one ResNet-50 step the stem kernel differed by 4e-3 from
//     TensorFlow's Eigen kernels and from batch norm composed of primitive ops, which agree to
//     2e-6), which the cross-framework equality tests cannot tell from a wrong gradient.
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace {

// The value of --numerics (either form), "default" when absent. An invalid value is left to the
// worker's argument check, which reports it.
std::string numerics(int argc, char** argv) {
  std::string value = "default";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--numerics" && i + 1 < argc) value = argv[++i];
    if (arg.rfind("--numerics=", 0) == 0) value = arg.substr(11);
  }
  return value;
}

}  // namespace

int main(int argc, char** argv) {
  if (numerics(argc, argv) == "strict") setenv("TF_ENABLE_ONEDNN_OPTS", "0", 1);
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
  // TensorFlow prints notes while it loads (with oneDNN on: "oneDNN custom operations are on"),
  // before its log level applies; they would be a worker's stderr, where one line means one
  // error. Loading fails through dlerror(), not stderr, so stderr is muted only for the load.
  std::fflush(stderr);
  const int saved_stderr = dup(STDERR_FILENO);
  const int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (saved_stderr >= 0 && null_fd >= 0) dup2(null_fd, STDERR_FILENO);
  void* handle = dlopen(module.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (saved_stderr >= 0 && null_fd >= 0) dup2(saved_stderr, STDERR_FILENO);
  if (null_fd >= 0) close(null_fd);
  if (saved_stderr >= 0) close(saved_stderr);
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
