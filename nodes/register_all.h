// Explicit registration of every node and message type the product ships (no static initialisers a linker
// could drop), one function per layer, each defined in its layer's library.
#pragma once

#include "pipeline/registry.h"

namespace vatt::nodes {

/// Adds every message and node type of all three layers to `registry`. Call once per registry.
void register_all_nodes(pipeline::Registry& registry);

/// generic/ (vatt_nodes_generic): counter, passthrough, batch, log, discard.
void register_generic_nodes(pipeline::Registry& registry);
/// media/ (vatt_nodes_media): the clip message type; video_source, stored_clips, live_source, clip_store.
void register_media_nodes(pipeline::Registry& registry);
/// train/ (vatt_nodes_train): tokenised_clip and embeddings; augment, mine_pairs, tokenise, train_vatt, embed,
/// embedding_store, retrieval_eval. Needs the media layer's types.
void register_train_nodes(pipeline::Registry& registry);

// One function per node type, each defined beside its node.
void register_counter(pipeline::Registry& registry);
void register_passthrough(pipeline::Registry& registry);
void register_batch(pipeline::Registry& registry);
void register_log(pipeline::Registry& registry);
void register_discard(pipeline::Registry& registry);
void register_video_source(pipeline::Registry& registry);
void register_stored_clips(pipeline::Registry& registry);
void register_live_source(pipeline::Registry& registry);
void register_clip_store(pipeline::Registry& registry);
void register_augment(pipeline::Registry& registry);
void register_tokenise(pipeline::Registry& registry);
void register_train_vatt(pipeline::Registry& registry);
void register_embed(pipeline::Registry& registry);
void register_embedding_store(pipeline::Registry& registry);
void register_mine_pairs(pipeline::Registry& registry);
void register_retrieval_eval(pipeline::Registry& registry);
void register_linear_probe(pipeline::Registry& registry);
void register_zeroshot_eval(pipeline::Registry& registry);
void register_finetune(pipeline::Registry& registry);
void register_classify(pipeline::Registry& registry);

}  // namespace vatt::nodes
