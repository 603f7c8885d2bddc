// Message helpers that need no templates.
#include "pipeline/message.h"

#include <cxxabi.h>

#include <cstdlib>

namespace vatt::pipeline {

std::string type_name(const std::type_info& t) {
  int status = 0;
  char* d = abi::__cxa_demangle(t.name(), nullptr, nullptr, &status);
  std::string out = (status == 0 && d) ? d : t.name();
  std::free(d);
  return out;
}

}  // namespace vatt::pipeline
