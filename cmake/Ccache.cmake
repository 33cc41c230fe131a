# Use ccache when it is installed: rebuilds after a one-file change then cost seconds.
# The settings travel on the launcher's command line because a configure-time environment does
# not reach the build: precompiled headers are only cacheable with this sloppiness, and
# NOHASHDIR lets several build trees of one checkout share cache entries.
find_program(GATEWAYD_CCACHE ccache)
if(GATEWAYD_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER
      ${CMAKE_COMMAND} -E env
      "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime"
      CCACHE_NOHASHDIR=true CCACHE_BASEDIR=${PROJECT_SOURCE_DIR}
      ${GATEWAYD_CCACHE})
endif()
