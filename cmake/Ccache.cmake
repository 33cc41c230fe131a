# Use ccache when it is installed: rebuilds after a one-file change then cost seconds.
find_program(GATEWAYD_CCACHE ccache)
if(GATEWAYD_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${GATEWAYD_CCACHE})
  # Precompiled headers are only cacheable when ccache ignores their timestamps.
  set(ENV{CCACHE_SLOPPINESS} "pch_defines,time_macros,include_file_mtime,include_file_ctime")
endif()
