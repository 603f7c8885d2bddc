// The generic layer's node types (their payloads are the pipeline's own message types).
#include "nodes/register_all.h"

namespace vatt::nodes {

void register_generic_nodes(pipeline::Registry& registry) {
  register_counter(registry);
  register_passthrough(registry);
  register_batch(registry);
  register_log(registry);
  register_discard(registry);
}

}  // namespace vatt::nodes
