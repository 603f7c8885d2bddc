// Explicit registration of every node type the product ships (no static initialisers a linker could drop).
#pragma once

#include "pipeline/registry.h"

namespace vatt::nodes {

/// Adds every node type to `registry`. Call once per registry.
void register_all_nodes(pipeline::Registry& registry);

// One function per node type, each defined beside its node.
void register_counter(pipeline::Registry& registry);
void register_passthrough(pipeline::Registry& registry);
void register_batch(pipeline::Registry& registry);
void register_log(pipeline::Registry& registry);
void register_discard(pipeline::Registry& registry);
void register_video_source(pipeline::Registry& registry);
void register_clip_store(pipeline::Registry& registry);
void register_augment(pipeline::Registry& registry);
void register_tokenise(pipeline::Registry& registry);
void register_train_vatt(pipeline::Registry& registry);
void register_embed(pipeline::Registry& registry);
void register_embedding_store(pipeline::Registry& registry);
void register_mine_pairs(pipeline::Registry& registry);
void register_retrieval_eval(pipeline::Registry& registry);

}  // namespace vatt::nodes
