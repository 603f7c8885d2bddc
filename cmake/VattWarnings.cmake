# vatt_warnings(TARGET): the project's warning set; errors unless VATT_WERROR=OFF.
function(vatt_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-unused-parameter)
  if(VATT_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
