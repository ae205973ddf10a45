# Finds LibTorch inside the PyPI `torch` wheel installed by scripts/setup.sh into .deps/torch, or,
# with GREENBENCH_TORCH_DIR, inside a PyTorch installed elsewhere (the `torch` folder of a
# site-packages: headers in include/, libraries in lib/). Defines the imported target
# greenbench::torch (libtorch_cpu + c10, CPU only) and TorchWheel_LIBRARY_DIR (where
# libtorch_cuda.so lives, for loading at run time).
set(GREENBENCH_TORCH_DIR "" CACHE PATH
  "An installed PyTorch to build the LibTorch worker against (site-packages/torch); empty = .deps/torch")
if(GREENBENCH_TORCH_DIR)
  get_filename_component(_root "${GREENBENCH_TORCH_DIR}" ABSOLUTE)
  if(NOT EXISTS ${_root}/lib OR NOT EXISTS ${_root}/include)
    message(FATAL_ERROR "GREENBENCH_TORCH_DIR=${GREENBENCH_TORCH_DIR} is not a PyTorch folder "
      "(it needs include/ and lib/; give the `torch` folder inside site-packages, as "
      "python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))' prints it)")
  endif()
else()
  set(_root ${GREENBENCH_DEPS_DIR}/torch/torch)
endif()
# The cached results belong to one root: a changed GREENBENCH_TORCH_DIR looks again.
if(NOT "${_root}" STREQUAL "${_TorchWheel_ROOT}")
  unset(TorchWheel_INCLUDE_DIR CACHE)
  unset(TorchWheel_TORCH_CPU CACHE)
  unset(TorchWheel_C10 CACHE)
  set(_TorchWheel_ROOT "${_root}" CACHE INTERNAL "")
endif()
find_path(TorchWheel_INCLUDE_DIR torch/torch.h PATHS ${_root}/include/torch/csrc/api/include NO_DEFAULT_PATH)
find_library(TorchWheel_TORCH_CPU torch_cpu PATHS ${_root}/lib NO_DEFAULT_PATH)
find_library(TorchWheel_C10 c10 PATHS ${_root}/lib NO_DEFAULT_PATH)
set(TorchWheel_LIBRARY_DIR ${_root}/lib)
# The version: the wheel's dist-info beside the package, else torch/version.py.
get_filename_component(_site ${_root} DIRECTORY)
file(GLOB _info ${_site}/torch-*.dist-info)
if(_info)
  list(GET _info 0 _info)
  string(REGEX REPLACE ".*torch-([^/]*)\\.dist-info" "\\1" TorchWheel_VERSION "${_info}")
elseif(EXISTS ${_root}/version.py)
  file(STRINGS ${_root}/version.py _line REGEX "^__version__")
  string(REGEX REPLACE ".*['\"]([^'\"]+)['\"].*" "\\1" TorchWheel_VERSION "${_line}")
endif()
# Run-time library folders, each added to the worker's RPATH only where it exists:
# - libtorch_cpu needs CUPTI and the CUDA runtime; in .deps they come from small wheels
#   (an installed PyTorch finds its own through its RPATH, site-packages/nvidia);
# - libtorch_cuda.so (loaded by --device cuda) needs cuBLAS, cuDNN, NCCL, cuFile, cuSPARSELt,
#   NVSHMEM, ...: scripts/setup.sh --gpu puts them into .deps/torch-cuda/nvidia/*/lib.
set(TorchWheel_EXTRA_RPATH)
foreach(_dir ${GREENBENCH_DEPS_DIR}/cupti/nvidia/cu13/lib ${GREENBENCH_DEPS_DIR}/cudart/nvidia/cu13/lib)
  if(IS_DIRECTORY ${_dir})
    list(APPEND TorchWheel_EXTRA_RPATH ${_dir})
  endif()
endforeach()
file(GLOB _cuda_dirs LIST_DIRECTORIES true ${GREENBENCH_DEPS_DIR}/torch-cuda/nvidia/*/lib)
list(SORT _cuda_dirs)
list(APPEND TorchWheel_EXTRA_RPATH ${_cuda_dirs})
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(TorchWheel
  REQUIRED_VARS TorchWheel_INCLUDE_DIR TorchWheel_TORCH_CPU TorchWheel_C10
  VERSION_VAR TorchWheel_VERSION)
if(TorchWheel_FOUND AND NOT TARGET greenbench::torch)
  if(_cuda_dirs)
    message(STATUS "greenbench: the LibTorch worker finds CUDA libraries in ${GREENBENCH_DEPS_DIR}/torch-cuda")
  endif()
  add_library(greenbench::torch INTERFACE IMPORTED)
  target_include_directories(greenbench::torch SYSTEM INTERFACE ${_root}/include ${TorchWheel_INCLUDE_DIR})
  target_link_libraries(greenbench::torch INTERFACE ${TorchWheel_TORCH_CPU} ${TorchWheel_C10})
  set(_options "LINKER:-rpath,${TorchWheel_LIBRARY_DIR}" "LINKER:-rpath-link,${TorchWheel_LIBRARY_DIR}")
  foreach(_dir IN LISTS TorchWheel_EXTRA_RPATH)
    list(APPEND _options "LINKER:-rpath,${_dir}" "LINKER:-rpath-link,${_dir}")
  endforeach()
  # RPATH, not RUNPATH: an executable's RPATH also serves the libraries it loads later
  # (libtorch_cuda.so and its CUDA libraries, opened with dlopen).
  target_link_options(greenbench::torch INTERFACE ${_options} "LINKER:--disable-new-dtags")
endif()
