# gatewayd_embed_text(TARGET INPUT HEADER SYMBOL)
# Compiles a text file into TARGET as `inline constexpr char gatewayd::generated::SYMBOL[]`,
# declared in the generated HEADER (an include path relative to the build's generated/ folder).
# The header is regenerated when INPUT changes (CMake re-runs) and rewritten only when different.
function(gatewayd_embed_text target input header symbol)
  set(out ${CMAKE_BINARY_DIR}/generated/${header})
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${input})
  file(READ ${input} text)
  string(FIND "${text}" ")gw_embed\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${input} contains the raw-string delimiter )gw_embed\"")
  endif()
  file(WRITE ${out}.tmp "#pragma once\n// Generated from ${input}; edit that file instead.\n"
    "namespace gatewayd::generated {\n"
    "inline constexpr char ${symbol}[] = R\"gw_embed(${text})gw_embed\";\n"
    "}  // namespace gatewayd::generated\n")
  file(COPY_FILE ${out}.tmp ${out} ONLY_IF_DIFFERENT)
  file(REMOVE ${out}.tmp)
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "INTERFACE_LIBRARY")
    target_include_directories(${target} INTERFACE ${CMAKE_BINARY_DIR}/generated)
  else()
    target_include_directories(${target} PRIVATE ${CMAKE_BINARY_DIR}/generated)
  endif()
endfunction()
