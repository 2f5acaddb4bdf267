# The installed-package test (ctest: install_find_package). Run in script mode:
#
#   cmake -DSOURCE_DIR=<source tree> -DBUILD_DIR=<built build tree> -DWORK_DIR=<scratch folder>
#         -DGENERATOR=<generator> -DCONSUMER_DIR=<this folder> [-DCONFIG=<configuration>] -P run.cmake
#
# Installs BUILD_DIR into WORK_DIR/prefix, checks the installed tree, then configures, builds and runs the
# consumer project in CONSUMER_DIR against that prefix (in WORK_DIR/build). WORK_DIR is wiped first, so
# reruns start clean. Any failing step stops the script with the step's output.
cmake_minimum_required(VERSION 3.25)

foreach(var IN ITEMS SOURCE_DIR BUILD_DIR WORK_DIR GENERATOR CONSUMER_DIR)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run.cmake: -D${var}=... is required")
  endif()
endforeach()
foreach(dir IN ITEMS SOURCE_DIR BUILD_DIR CONSUMER_DIR)
  if(NOT IS_DIRECTORY "${${dir}}")
    message(FATAL_ERROR "run.cmake: ${dir} '${${dir}}' is not a directory")
  endif()
endforeach()
if(NOT EXISTS "${BUILD_DIR}/cmake_install.cmake")
  message(FATAL_ERROR "run.cmake: ${BUILD_DIR} is not a configured build tree with install rules")
endif()

set(prefix "${WORK_DIR}/prefix")
set(consumer_build "${WORK_DIR}/build")

# Build settings of the tested build tree, reused for the consumer so both use the same toolchain.
load_cache("${BUILD_DIR}" READ_WITH_PREFIX fqk_
  CMAKE_CXX_COMPILER CMAKE_MAKE_PROGRAM CMAKE_BUILD_TYPE CMAKE_CONFIGURATION_TYPES)
if(NOT DEFINED CONFIG OR "${CONFIG}" STREQUAL "")
  set(CONFIG "${fqk_CMAKE_BUILD_TYPE}")
  if("${CONFIG}" STREQUAL "" AND NOT "${fqk_CMAKE_CONFIGURATION_TYPES}" STREQUAL "")
    list(GET fqk_CMAKE_CONFIGURATION_TYPES 0 CONFIG)  # multi-config: the first (default) configuration
  endif()
endif()
set(config_args)
if(NOT "${CONFIG}" STREQUAL "")
  set(config_args --config "${CONFIG}")
endif()

# Runs one step; stops with its command line and output if it fails.
function(run_step name)
  execute_process(COMMAND ${ARGN}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "install_find_package: step '${name}' failed (${rc})\n"
      "command: ${cmd}\n--- stdout ---\n${out}\n--- stderr ---\n${err}")
  endif()
  message(STATUS "install_find_package: ${name}: ok")
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

# ---------------------------------------------------------------------------------------------- clean slate
file(REMOVE_RECURSE "${WORK_DIR}")
if(EXISTS "${WORK_DIR}")
  message(FATAL_ERROR "install_find_package: cannot remove ${WORK_DIR}")
endif()
file(MAKE_DIRECTORY "${WORK_DIR}")

# ---------------------------------------------------------------------------------------------- install
run_step(install "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${prefix}" ${config_args})

# ---------------------------------------------------------------------------------------------- installed tree
set(missing)
foreach(header IN ITEMS fib_quant_kv/fib_quant_kv.hpp fib_quant_kv/kv_tensor_shape_v1.hpp)
  if(NOT EXISTS "${prefix}/include/${header}")
    list(APPEND missing "include/${header}")
  endif()
endforeach()
# Every header the public headers include must be installed too.
file(GLOB installed_headers "${prefix}/include/fib_quant_kv/*.hpp")
foreach(header IN LISTS installed_headers)
  file(STRINGS "${header}" includes REGEX "^#include \"fib_quant_kv/[^\"]+\"")
  foreach(line IN LISTS includes)
    string(REGEX REPLACE "^#include \"([^\"]+)\".*" "\\1" included "${line}")
    if(NOT EXISTS "${prefix}/include/${included}")
      list(APPEND missing "include/${included} (included by ${header})")
    endif()
  endforeach()
  file(STRINGS "${header}" private_includes REGEX "^#include \"(internal/|rapidjson/|xxhash)")
  if(private_includes)
    message(FATAL_ERROR "install_find_package: installed header ${header} includes a private header: ${private_includes}")
  endif()
endforeach()
if(EXISTS "${prefix}/include/internal")
  message(FATAL_ERROR "install_find_package: private headers installed in ${prefix}/include/internal")
endif()

# The package files live in <libdir>/cmake/fib_quant_kv; libdir depends on the platform (lib, lib64, ...).
file(GLOB_RECURSE config_files LIST_DIRECTORIES false "${prefix}/*/fib_quant_kv-config.cmake")
list(LENGTH config_files config_count)
if(NOT config_count EQUAL 1)
  list(APPEND missing "exactly one fib_quant_kv-config.cmake (found ${config_count}: ${config_files})")
else()
  get_filename_component(package_dir "${config_files}" DIRECTORY)
  if(NOT package_dir MATCHES "/cmake/fib_quant_kv$")
    list(APPEND missing "fib_quant_kv-config.cmake under <libdir>/cmake/fib_quant_kv (is in ${package_dir})")
  endif()
  foreach(file IN ITEMS fib_quant_kv-config-version.cmake fib_quant_kv-targets.cmake)
    if(NOT EXISTS "${package_dir}/${file}")
      list(APPEND missing "${package_dir}/${file}")
    endif()
  endforeach()
  file(GLOB target_config_files "${package_dir}/fib_quant_kv-targets-*.cmake")
  if(NOT target_config_files)
    list(APPEND missing "${package_dir}/fib_quant_kv-targets-<config>.cmake")
  endif()
endif()
if(missing)
  file(GLOB_RECURSE installed RELATIVE "${prefix}" "${prefix}/*")
  string(REPLACE ";" "\n  " missing "${missing}")
  string(REPLACE ";" "\n  " installed "${installed}")
  message(FATAL_ERROR "install_find_package: the installed tree lacks:\n  ${missing}\ninstalled files:\n  ${installed}")
endif()
message(STATUS "install_find_package: installed tree: ok (package files in ${package_dir})")

# ---------------------------------------------------------------------------------------------- Python
# With the Python module built: it is installed under the prefix too, and imports from there with no build tree.
if(DEFINED PYTHON AND NOT "${PYTHON}" STREQUAL "")
  set(pydir "${prefix}/${PYTHON_INSTALL_DIR}")
  if(IS_ABSOLUTE "${PYTHON_INSTALL_DIR}")
    message(FATAL_ERROR "install_find_package: the Python install folder ${PYTHON_INSTALL_DIR} ignores --prefix")
  endif()
  file(GLOB native "${pydir}/fib_quant_kv/_native*.so")
  foreach(file IN ITEMS __init__.py __init__.pyi __main__.py py.typed)
    if(NOT EXISTS "${pydir}/fib_quant_kv/${file}")
      message(FATAL_ERROR "install_find_package: ${pydir}/fib_quant_kv/${file} was not installed")
    endif()
  endforeach()
  if(NOT native)
    message(FATAL_ERROR "install_find_package: no extension module in ${pydir}/fib_quant_kv")
  endif()
  run_step(python_import "${CMAKE_COMMAND}" -E env "PYTHONPATH=${pydir}" PYTHONDONTWRITEBYTECODE=1
    "${PYTHON}" "${CONSUMER_DIR}/check_python.py" "${pydir}")
  if(NOT step_output STREQUAL "8192\n")
    message(FATAL_ERROR "install_find_package: the installed Python module printed '${step_output}', not 8192")
  endif()
endif()

# ---------------------------------------------------------------------------------------------- consumer
set(configure_args -S "${CONSUMER_DIR}" -B "${consumer_build}" -G "${GENERATOR}"
  "-DCMAKE_PREFIX_PATH=${prefix}"
  "-DFQK_EXPECTED_PREFIX=${prefix}")
if(fqk_CMAKE_CXX_COMPILER)
  list(APPEND configure_args "-DCMAKE_CXX_COMPILER=${fqk_CMAKE_CXX_COMPILER}")
endif()
if(fqk_CMAKE_MAKE_PROGRAM)
  list(APPEND configure_args "-DCMAKE_MAKE_PROGRAM=${fqk_CMAKE_MAKE_PROGRAM}")
endif()
if(NOT "${CONFIG}" STREQUAL "")
  list(APPEND configure_args "-DCMAKE_BUILD_TYPE=${CONFIG}")
endif()
run_step(configure "${CMAKE_COMMAND}" ${configure_args})
run_step(build "${CMAKE_COMMAND}" --build "${consumer_build}" ${config_args})

set(exe "${consumer_build}/bin/consumer")
if(NOT EXISTS "${exe}" AND EXISTS "${exe}.exe")
  set(exe "${exe}.exe")
endif()
if(NOT EXISTS "${exe}")
  message(FATAL_ERROR "install_find_package: the consumer built, but ${exe} does not exist")
endif()
run_step(run "${exe}")
message(STATUS "install_find_package: consumer output:\n${step_output}")
