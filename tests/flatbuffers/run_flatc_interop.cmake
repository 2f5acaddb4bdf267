# Interop with the real flatc (run by ctest as test_flatbuffers_flatc_interop):
#
#   cmake -DFLATC=... -DTOOL=fb_interop_tool -DSCHEMA=generated/fbs/kv_tensor_shape_v1.fbs
#         -DDATA_DIR=tests/flatbuffers/data -DWORK_DIR=... [-DKVSHAPE=kvshape] -P run_flatc_interop.cmake
#
# (a) flatc -b turns each DATA_DIR/*.json into a .fqkv with its own JSON parser; our verified view must accept
#     it as the very shape our JSON parser reads from the same file, with the same digest. Files named
#     invalid_*.json must be refused with the same error as validate() gives for the JSON. With KVSHAPE,
#     `kvshape validate` and `kvshape digest` must agree on flatc's buffers (exit status, digest, rule id).
# (b) our buffers (to_flatbuffer, from the same JSON files and from built-in samples covering every enum value)
#     rendered by flatc --json --strict-json --raw-binary --defaults-json must read back through
#     parse_kv_tensor_shape_v1_json as the same shape.
cmake_minimum_required(VERSION 3.25)

foreach(var FLATC TOOL SCHEMA DATA_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_flatc_interop.cmake: -D${var}=... is required")
  endif()
endforeach()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}/a" "${WORK_DIR}/b/json" "${WORK_DIR}/c/json")

# Runs a command; fails the test unless it exits with `expected_rc`. Its stdout lands in `out_var`.
function(run expected_rc out_var)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc STREQUAL expected_rc)
    list(JOIN ARGN " " cmd)
    message(FATAL_ERROR "FAILED (exit ${rc}, expected ${expected_rc}): ${cmd}\nstdout: ${out}\nstderr: ${err}")
  endif()
  string(STRIP "${out}" out)
  set(${out_var} "${out}" PARENT_SCOPE)
endfunction()

file(GLOB inputs "${DATA_DIR}/*.json")
list(LENGTH inputs n_inputs)
if(n_inputs LESS 5)
  message(FATAL_ERROR "expected the JSON fixtures in ${DATA_DIR}, found ${n_inputs}")
endif()

# ---------------------------------------------------------------------------------------------- (a)
set(n_valid 0)
set(n_invalid 0)
foreach(json IN LISTS inputs)
  get_filename_component(stem "${json}" NAME_WE)
  run(0 ignored "${FLATC}" -b -o "${WORK_DIR}/a" "${SCHEMA}" "${json}")
  set(fqkv "${WORK_DIR}/a/${stem}.fqkv")  # file_extension "fqkv" from the schema
  if(NOT EXISTS "${fqkv}")
    message(FATAL_ERROR "flatc -b did not write ${fqkv}")
  endif()
  run(0 verdict "${TOOL}" check "${fqkv}" "${json}")
  message(STATUS "(a) ${stem}: ${verdict}")
  if(stem MATCHES "^invalid_")
    if(NOT verdict MATCHES "^invalid (.+)$")
      message(FATAL_ERROR "${stem}: expected an invalid verdict, got '${verdict}'")
    endif()
    set(rule "${CMAKE_MATCH_1}")
    if(DEFINED KVSHAPE)
      # The CLI refuses flatc's buffer (exit 1) naming the same rule.
      run(1 cli_verdict "${KVSHAPE}" validate "${fqkv}")
      string(FIND "${cli_verdict}" "[${rule}]" at)
      if(at EQUAL -1)
        message(FATAL_ERROR "${stem}: kvshape validate says '${cli_verdict}', expected rule ${rule}")
      endif()
    endif()
    math(EXPR n_invalid "${n_invalid} + 1")
  else()
    if(NOT verdict MATCHES "^ok ([0-9a-f]+)$")
      message(FATAL_ERROR "${stem}: expected 'ok <digest>', got '${verdict}'")
    endif()
    set(digest "${CMAKE_MATCH_1}")
    if(DEFINED KVSHAPE)
      # The CLI (a separate program) agrees: it validates flatc's buffer, and its digest of the buffer equals
      # its digest of the JSON file and the one above.
      run(0 ignored "${KVSHAPE}" validate "${fqkv}")
      run(0 cli_fb_digest "${KVSHAPE}" digest "${fqkv}")
      run(0 cli_json_digest "${KVSHAPE}" digest "${json}")
      if(NOT cli_fb_digest STREQUAL digest OR NOT cli_json_digest STREQUAL digest)
        message(FATAL_ERROR "${stem}: kvshape digest gives ${cli_fb_digest} for the buffer and ${cli_json_digest} "
                            "for the JSON; the test tool gives ${digest}")
      endif()
    endif()
    math(EXPR n_valid "${n_valid} + 1")
  endif()
endforeach()
if(n_valid LESS 3 OR n_invalid LESS 1)
  message(FATAL_ERROR "(a) checked ${n_valid} valid and ${n_invalid} invalid fixtures; expected more")
endif()

# ---------------------------------------------------------------------------------------------- (b)
# Renders one of our buffers with flatc and checks it reads back as the shape in `expected_json`.
function(render_and_compare fqkv expected_json out_dir)
  get_filename_component(stem "${fqkv}" NAME_WE)
  run(0 ignored "${FLATC}" --json --strict-json --raw-binary --defaults-json -o "${out_dir}" "${SCHEMA}" -- "${fqkv}")
  set(rendered "${out_dir}/${stem}.json")
  if(NOT EXISTS "${rendered}")
    message(FATAL_ERROR "flatc --json did not write ${rendered}")
  endif()
  run(0 ignored "${TOOL}" same "${rendered}" "${expected_json}")
endfunction()

foreach(json IN LISTS inputs)
  get_filename_component(stem "${json}" NAME_WE)
  set(fqkv "${WORK_DIR}/b/${stem}.fqkv")
  run(0 ignored "${TOOL}" write "${json}" "${fqkv}")
  render_and_compare("${fqkv}" "${json}" "${WORK_DIR}/b/json")
endforeach()

run(0 n_samples "${TOOL}" write-samples "${WORK_DIR}/c")
file(GLOB samples "${WORK_DIR}/c/*.fqkv")
list(LENGTH samples n_found)
if(NOT n_found EQUAL n_samples OR n_found LESS 54)
  message(FATAL_ERROR "write-samples said ${n_samples}, found ${n_found} buffers")
endif()
foreach(fqkv IN LISTS samples)
  get_filename_component(stem "${fqkv}" NAME_WE)
  render_and_compare("${fqkv}" "${WORK_DIR}/c/${stem}.expected.json" "${WORK_DIR}/c/json")
endforeach()

message(STATUS "flatc interop: (a) ${n_valid} valid + ${n_invalid} invalid flatc-written buffers; "
               "(b) ${n_inputs} + ${n_found} of our buffers rendered by flatc and read back")
