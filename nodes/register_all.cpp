// The list of shipped node types.
#include "nodes/register_all.h"

namespace vatt::nodes {

void register_all_nodes(pipeline::Registry& registry) {
  register_counter(registry);
  register_passthrough(registry);
  register_batch(registry);
  register_log(registry);
  register_discard(registry);
  register_video_source(registry);
  register_clip_store(registry);
  register_augment(registry);
  register_tokenise(registry);
  register_train_vatt(registry);
  register_embed(registry);
  register_embedding_store(registry);
  register_mine_pairs(registry);
  register_retrieval_eval(registry);
}

}  // namespace vatt::nodes
