# Finds the TensorFlow C API inside the PyPI wheel installed by scripts/setup.sh: `tensorflow-cpu`
# in .deps/tensorflow, or with GREENBENCH_TF_GPU the CUDA build `tensorflow` in
# .deps/tensorflow-gpu (scripts/setup.sh --gpu), whose CUDA wheels lie beside it and are found
# through its libraries' own RUNPATH. Defines the imported target greenbench::tensorflow.
option(GREENBENCH_TF_GPU "Link greenbench-tf against the CUDA build of TensorFlow (.deps/tensorflow-gpu)" OFF)
if(GREENBENCH_TF_GPU)
  set(_dir ${GREENBENCH_DEPS_DIR}/tensorflow-gpu)
  set(_dist tensorflow)
else()
  set(_dir ${GREENBENCH_DEPS_DIR}/tensorflow)
  set(_dist tensorflow_cpu)
endif()
set(_root ${_dir}/tensorflow)
# The cached results belong to one build of TensorFlow: switching GREENBENCH_TF_GPU looks again.
if(NOT "${_root}" STREQUAL "${_TensorFlowWheel_ROOT}")
  unset(TensorFlowWheel_INCLUDE_DIR CACHE)
  unset(TensorFlowWheel_CC CACHE)
  unset(TensorFlowWheel_FRAMEWORK CACHE)
  set(_TensorFlowWheel_ROOT "${_root}" CACHE INTERNAL "")
endif()
find_path(TensorFlowWheel_INCLUDE_DIR tensorflow/c/c_api.h PATHS ${_root}/include NO_DEFAULT_PATH)
find_file(TensorFlowWheel_CC libtensorflow_cc.so.2 PATHS ${_root} NO_DEFAULT_PATH)
find_file(TensorFlowWheel_FRAMEWORK libtensorflow_framework.so.2 PATHS ${_root} NO_DEFAULT_PATH)
file(GLOB _info ${_dir}/${_dist}-*.dist-info)
if(_info)
  string(REGEX REPLACE ".*${_dist}-([^/]*)\\.dist-info" "\\1" TensorFlowWheel_VERSION "${_info}")
endif()
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(TensorFlowWheel
  REQUIRED_VARS TensorFlowWheel_INCLUDE_DIR TensorFlowWheel_CC TensorFlowWheel_FRAMEWORK
  VERSION_VAR TensorFlowWheel_VERSION)
if(TensorFlowWheel_FOUND AND NOT TARGET greenbench::tensorflow)
  add_library(greenbench::tensorflow INTERFACE IMPORTED)
  target_include_directories(greenbench::tensorflow SYSTEM INTERFACE ${TensorFlowWheel_INCLUDE_DIR})
  target_link_libraries(greenbench::tensorflow INTERFACE ${TensorFlowWheel_CC} ${TensorFlowWheel_FRAMEWORK})
  target_link_options(greenbench::tensorflow INTERFACE "LINKER:-rpath,${_root}" "LINKER:--disable-new-dtags")
endif()
