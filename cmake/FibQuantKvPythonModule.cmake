# The Python module fib_quant_kv, built with pybind11 for the interpreter FibQuantKvPython.cmake found (the one
# that can also run codegen/, or FIB_QUANT_KV_PYTHON), from the generated bindings (build role `python` in
# generated/outputs.cmake), src/python/support.cpp and the package files (role `python_package`, plus
# src/python/fib_quant_kv/).
# Debian: apt-get install pybind11-dev python3-dev. -DFIB_QUANT_KV_BUILD_PYTHON=OFF builds without it.
# FIB_QUANT_KV_PYTHON_MODULE_INTERPRETER builds it for another interpreter (setup.py passes the one running pip,
# a venv's, say); the codegen interpreter is still FIB_QUANT_KV_PYTHON.
set(FIB_QUANT_KV_PYTHON_MODULE_INTERPRETER "" CACHE FILEPATH
  "Build the Python module for this interpreter (empty: FIB_QUANT_KV_PYTHON, the codegen interpreter)")
if(FIB_QUANT_KV_PYTHON_MODULE_INTERPRETER)
  set(Python_EXECUTABLE ${FIB_QUANT_KV_PYTHON_MODULE_INTERPRETER})
elseif(FIB_QUANT_KV_PYTHON)
  set(Python_EXECUTABLE ${FIB_QUANT_KV_PYTHON})
endif()
find_package(Python 3.8 COMPONENTS Interpreter Development.Module)
if(NOT Python_Development.Module_FOUND)
  message(FATAL_ERROR "fib_quant_kv: the Python module needs Python's headers for ${Python_EXECUTABLE} "
                      "(Debian: apt-get install python3-dev), or configure with -DFIB_QUANT_KV_BUILD_PYTHON=OFF")
endif()
find_package(pybind11 2.6 CONFIG)
if(NOT pybind11_FOUND)
  message(FATAL_ERROR "fib_quant_kv: the Python module needs pybind11 (Debian: apt-get install pybind11-dev), "
                      "or configure with -DFIB_QUANT_KV_BUILD_PYTHON=OFF")
endif()

set(FIB_QUANT_KV_PYTHON_DIR ${PROJECT_BINARY_DIR}/python CACHE INTERNAL "")
set(_fqk_package ${FIB_QUANT_KV_PYTHON_DIR}/fib_quant_kv)

# The handwritten sources: support.cpp and formats.cpp, and the Python half of each schema with handwritten C++
# (src/python/STEM.cpp, whose bind_STEM_handwritten() the schema's generated binding calls).
file(GLOB _fqk_sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/python/*.cpp)
foreach(rel IN LISTS FIB_QUANT_KV_GENERATED_PYTHON)
  list(APPEND _fqk_sources ${FIB_QUANT_KV_GENERATED_DIR}/${rel})
endforeach()
pybind11_add_module(fib_quant_kv_python MODULE ${_fqk_sources})
set_target_properties(fib_quant_kv_python PROPERTIES
  OUTPUT_NAME _native
  LIBRARY_OUTPUT_DIRECTORY ${_fqk_package})
target_include_directories(fib_quant_kv_python PRIVATE ${PROJECT_SOURCE_DIR}/src)
target_compile_definitions(fib_quant_kv_python PRIVATE FIB_QUANT_KV_VERSION="${PROJECT_VERSION}")
target_link_libraries(fib_quant_kv_python PRIVATE fib_quant_kv fib_quant_kv_check fib_quant_kv_warnings)

# The package's Python files, copied next to the extension (re-copied whenever they change).
set(_fqk_package_files)
foreach(rel IN LISTS FIB_QUANT_KV_GENERATED_PYTHON_PACKAGE)
  list(APPEND _fqk_package_files ${FIB_QUANT_KV_GENERATED_DIR}/${rel})
endforeach()
file(GLOB _fqk_handwritten CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/python/fib_quant_kv/*)
list(APPEND _fqk_package_files ${_fqk_handwritten})
foreach(file IN LISTS _fqk_package_files)
  get_filename_component(_name ${file} NAME)
  configure_file(${file} ${_fqk_package}/${_name} COPYONLY)
endforeach()

# Where `cmake --install` puts the package, relative to the prefix: the interpreter's own site folder when it lies
# under the install prefix (Debian's python3 and the default /usr/local: lib/python3.X/dist-packages, on its
# path), otherwise lib/python3.X/site-packages (then add that to PYTHONPATH).
if(NOT DEFINED FIB_QUANT_KV_PYTHON_INSTALL_DIR)
  execute_process(COMMAND ${Python_EXECUTABLE} -c "import sysconfig; print(sysconfig.get_path('platlib'))"
    OUTPUT_VARIABLE _fqk_platlib OUTPUT_STRIP_TRAILING_WHITESPACE)
  cmake_path(IS_PREFIX CMAKE_INSTALL_PREFIX "${_fqk_platlib}" NORMALIZE _fqk_under_prefix)
  if(_fqk_under_prefix)  # relative, so that `cmake --install --prefix P` keeps it under P
    cmake_path(RELATIVE_PATH _fqk_platlib BASE_DIRECTORY "${CMAKE_INSTALL_PREFIX}" OUTPUT_VARIABLE _fqk_install_dir)
  else()
    set(_fqk_install_dir ${CMAKE_INSTALL_LIBDIR}/python${Python_VERSION_MAJOR}.${Python_VERSION_MINOR}/site-packages)
  endif()
  set(FIB_QUANT_KV_PYTHON_INSTALL_DIR ${_fqk_install_dir} CACHE PATH
    "Where cmake --install puts the fib_quant_kv Python package (absolute, or relative to the prefix)")
endif()
if(FIB_QUANT_KV_INSTALL)
  install(TARGETS fib_quant_kv_python LIBRARY DESTINATION ${FIB_QUANT_KV_PYTHON_INSTALL_DIR}/fib_quant_kv)
  install(FILES ${_fqk_package_files} DESTINATION ${FIB_QUANT_KV_PYTHON_INSTALL_DIR}/fib_quant_kv)
endif()
message(STATUS "fib_quant_kv: Python module for ${Python_EXECUTABLE} (${Python_VERSION}) in ${_fqk_package}")
