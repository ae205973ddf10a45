// The worker module's entry point, called by the greenbench-tf launcher (main.cpp).
#include "common/driver.hpp"
#include "tf_backend.hpp"

extern "C" __attribute__((visibility("default"))) int greenbench_tf_worker_main(int argc,
                                                                                char** argv) {
  greenbench::workloads::tf::TfBackend backend;
  return greenbench::workloads::run_worker(argc, argv, backend);
}
