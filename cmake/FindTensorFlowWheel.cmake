# Finds the TensorFlow C API inside the PyPI `tensorflow-cpu` wheel installed by scripts/setup.sh
# into .deps/tensorflow. Defines the imported target greenbench::tensorflow.
set(_root ${GREENBENCH_DEPS_DIR}/tensorflow/tensorflow)
find_path(TensorFlowWheel_INCLUDE_DIR tensorflow/c/c_api.h PATHS ${_root}/include NO_DEFAULT_PATH)
find_file(TensorFlowWheel_CC libtensorflow_cc.so.2 PATHS ${_root} NO_DEFAULT_PATH)
find_file(TensorFlowWheel_FRAMEWORK libtensorflow_framework.so.2 PATHS ${_root} NO_DEFAULT_PATH)
file(GLOB _info ${GREENBENCH_DEPS_DIR}/tensorflow/tensorflow_cpu-*.dist-info)
if(_info)
  string(REGEX REPLACE ".*tensorflow_cpu-([^/]*)\\.dist-info" "\\1" TensorFlowWheel_VERSION "${_info}")
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
