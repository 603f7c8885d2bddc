// The list of shipped node types: the three layers, generic first (the media and training types build on
// nothing but the pipeline's).
#include "nodes/register_all.h"

namespace vatt::nodes {

void register_all_nodes(pipeline::Registry& registry) {
  register_generic_nodes(registry);
  register_media_nodes(registry);
  register_train_nodes(registry);
}

}  // namespace vatt::nodes
