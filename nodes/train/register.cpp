// The training layer's message types (tokenised_clip, embeddings) and node types.
#include "nodes/media/clip.h"
#include "nodes/register_all.h"
#include "nodes/train/embedding.h"
#include "nodes/train/train_clip.h"

namespace vatt::nodes {

std::string clip_origin(const Clip& c);  // nodes/media/register.cpp

void register_train_nodes(pipeline::Registry& registry) {
  registry.add_type<TokenisedClip>("tokenised_clip", "a clip with its text as ids of the vocabulary",
                                   [](const TokenisedClip& t) { return clip_origin(*t.clip); });
  registry.add_type<EmbeddingBatch>("embeddings",
                                    "embedded clips: identity, own text, normalised embeddings");
  register_augment(registry);
  register_mine_pairs(registry);
  register_tokenise(registry);
  register_train_vatt(registry);
  register_embed(registry);
  register_embedding_store(registry);
  register_retrieval_eval(registry);
  register_linear_probe(registry);
  register_zeroshot_eval(registry);
  register_finetune(registry);
  register_classify(registry);
}

}  // namespace vatt::nodes
