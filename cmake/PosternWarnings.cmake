# Warning flags for Postern's own code. Third-party headers come in through
# -isystem (see PosternDependencies.cmake) so these stay clean.
add_library(postern_warnings INTERFACE)
target_compile_options(postern_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
  -Wcast-align -Wunused -Woverloaded-virtual -Wconversion -Wsign-conversion
  -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(postern_warnings INTERFACE
    -Wduplicated-cond -Wduplicated-branches -Wlogical-op -Wuseless-cast)
  # GCC 12 reports Asio's coroutine frames (allocated and freed by the
  # frame's own operator new/delete, with its recycling allocator) as
  # mismatched once it inlines them into a larger coroutine: a known false
  # positive that the warning cannot tell apart.
  target_compile_options(postern_warnings INTERFACE -Wno-mismatched-new-delete)
endif()
# Off for a plain `cmake` build (another compiler or -O3 may warn where ours
# does not); tools/scripts/build, and so CI, turn it on.
option(POSTERN_WERROR "Treat warnings in Postern's own code as errors" OFF)
if(POSTERN_WERROR)
  target_compile_options(postern_warnings INTERFACE -Werror)
endif()
