// greenbench-torch: the models of workloads/common/MODELS.md in LibTorch (torch_backend.hpp),
// driven by the shared worker driver.
#include "common/driver.hpp"
#include "torch/torch_backend.hpp"

int main(int argc, char** argv) {
  greenbench::workloads::TorchBackend backend;
  return greenbench::workloads::run_worker(argc, argv, backend);
}
