# ctest script: runs the torch-free check program and refuses it if it loads libtorch or libc10.
# Usage: cmake -DBINARY=<path> -P torch_free_check.cmake
execute_process(COMMAND ldd ${BINARY} OUTPUT_VARIABLE libs RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "ldd ${BINARY} failed")
endif()
if(libs MATCHES "libtorch|libc10")
  message(FATAL_ERROR "the coordinator-side check program loads libtorch:\n${libs}")
endif()
message(STATUS "no libtorch/libc10 among the coordinator side's libraries")
execute_process(COMMAND ${BINARY} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${BINARY} exited ${rc}")
endif()
