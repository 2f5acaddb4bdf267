# Finds a Python 3 interpreter that can run codegen/ (it needs Jinja2 and PyYAML).
#
# `python3` on PATH may be an interpreter without those packages (a pyenv build, say), so each candidate is
# asked to import them, and the first that can is used. Set FIB_QUANT_KV_PYTHON to choose one yourself.
# Debian: apt-get install python3-jinja2 python3-yaml (then /usr/bin/python3 has both).
set(FIB_QUANT_KV_PYTHON "" CACHE FILEPATH "Python 3 with jinja2 and yaml, for codegen/ (found when empty)")

if(NOT FIB_QUANT_KV_PYTHON)
  set(_fqk_candidates)
  find_program(_fqk_path_python NAMES python3 NO_CACHE)
  foreach(_c /usr/bin/python3 ${_fqk_path_python} /usr/local/bin/python3)
    if(EXISTS "${_c}")
      list(APPEND _fqk_candidates "${_c}")
    endif()
  endforeach()
  list(REMOVE_DUPLICATES _fqk_candidates)
  foreach(_c IN LISTS _fqk_candidates)
    execute_process(COMMAND "${_c}" -c "import jinja2, yaml"
      RESULT_VARIABLE _fqk_rc OUTPUT_QUIET ERROR_QUIET)
    if(_fqk_rc EQUAL 0)
      set(FIB_QUANT_KV_PYTHON "${_c}" CACHE FILEPATH "Python 3 with jinja2 and yaml, for codegen/" FORCE)
      break()
    endif()
  endforeach()
endif()

if(FIB_QUANT_KV_PYTHON)
  message(STATUS "fib_quant_kv: codegen interpreter ${FIB_QUANT_KV_PYTHON}")
else()
  message(STATUS "fib_quant_kv: no Python 3 with jinja2 and yaml found; codegen tests and the regenerate "
                 "target are off (Debian: apt-get install python3-jinja2 python3-yaml)")
endif()
