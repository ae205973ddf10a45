# Finds LibTorch inside the PyPI `torch` wheel installed by scripts/setup.sh into .deps/torch.
# Defines the imported target greenbench::torch (libtorch_cpu + c10, CPU only) and
# TorchWheel_LIBRARY_DIR (where libtorch_cuda.so lives, for loading at run time).
set(_root ${GREENBENCH_DEPS_DIR}/torch/torch)
find_path(TorchWheel_INCLUDE_DIR torch/torch.h PATHS ${_root}/include/torch/csrc/api/include NO_DEFAULT_PATH)
find_library(TorchWheel_TORCH_CPU torch_cpu PATHS ${_root}/lib NO_DEFAULT_PATH)
find_library(TorchWheel_C10 c10 PATHS ${_root}/lib NO_DEFAULT_PATH)
set(TorchWheel_LIBRARY_DIR ${_root}/lib)
# libtorch_cpu needs CUPTI and the CUDA runtime; these come from small wheels when no toolkit has them.
set(TorchWheel_EXTRA_RPATH ${GREENBENCH_DEPS_DIR}/cupti/nvidia/cu13/lib ${GREENBENCH_DEPS_DIR}/cudart/nvidia/cu13/lib)
if(EXISTS ${GREENBENCH_DEPS_DIR}/torch)
  file(GLOB _info ${GREENBENCH_DEPS_DIR}/torch/torch-*.dist-info)
  if(_info)
    string(REGEX REPLACE ".*torch-([^/]*)\\.dist-info" "\\1" TorchWheel_VERSION "${_info}")
  endif()
endif()
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(TorchWheel
  REQUIRED_VARS TorchWheel_INCLUDE_DIR TorchWheel_TORCH_CPU TorchWheel_C10
  VERSION_VAR TorchWheel_VERSION)
if(TorchWheel_FOUND AND NOT TARGET greenbench::torch)
  add_library(greenbench::torch INTERFACE IMPORTED)
  target_include_directories(greenbench::torch SYSTEM INTERFACE ${_root}/include ${TorchWheel_INCLUDE_DIR})
  target_link_libraries(greenbench::torch INTERFACE ${TorchWheel_TORCH_CPU} ${TorchWheel_C10})
  target_link_options(greenbench::torch INTERFACE
    "LINKER:-rpath,${TorchWheel_LIBRARY_DIR}"
    "LINKER:-rpath-link,${TorchWheel_LIBRARY_DIR}"
    "LINKER:-rpath,${GREENBENCH_DEPS_DIR}/cupti/nvidia/cu13/lib"
    "LINKER:-rpath-link,${GREENBENCH_DEPS_DIR}/cupti/nvidia/cu13/lib"
    "LINKER:-rpath,${GREENBENCH_DEPS_DIR}/cudart/nvidia/cu13/lib"
    "LINKER:-rpath-link,${GREENBENCH_DEPS_DIR}/cudart/nvidia/cu13/lib"
    "LINKER:--disable-new-dtags")
endif()
