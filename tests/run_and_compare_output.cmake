# Runs a program and requires its standard output to equal a file byte for byte, its exit status to be 0 and
# its standard error to be empty (ctest: example_api).
#
#   cmake -DPROGRAM=path/to/program -DEXPECTED=path/to/expected.txt -P run_and_compare_output.cmake
#
# On a mismatch it prints both texts and writes what the program printed next to the build's copy
# (PROGRAM.actual), so that an intended change is one `cp` away: update the expected file deliberately.
cmake_minimum_required(VERSION 3.25)

foreach(var PROGRAM EXPECTED)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_and_compare_output.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT EXISTS "${EXPECTED}")
  message(FATAL_ERROR "no expected output at ${EXPECTED}")
endif()

execute_process(COMMAND "${PROGRAM}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
file(READ "${EXPECTED}" want)
set(problems "")
if(NOT rc STREQUAL "0")
  string(APPEND problems "exit status ${rc}, expected 0\n")
endif()
if(NOT err STREQUAL "")
  string(APPEND problems "unexpected standard error:\n${err}\n")
endif()
if(NOT out STREQUAL want)
  file(WRITE "${PROGRAM}.actual" "${out}")
  string(APPEND problems "standard output differs from ${EXPECTED}\n--- expected\n${want}--- got (also in "
                         "${PROGRAM}.actual)\n${out}---\n")
endif()
if(problems)
  message(FATAL_ERROR "${PROGRAM}:\n${problems}")
endif()
message(STATUS "${PROGRAM}: output matches ${EXPECTED}")
