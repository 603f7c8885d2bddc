// The payload between tokenisation and training: a clip (frames already augmented) with its MIL-NCE text
// candidates as vocabulary ids. What `tokenise` emits and `train_vatt`/`embed` read (in batches).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "nodes/media/clip.h"

namespace vatt::nodes {

struct TokenisedClip {
  std::shared_ptr<const Clip> clip;      ///< frames [T, crop, crop, 3] uint8 after augment; audio as decoded
  static constexpr int kCandidates = 5;  ///< own text + 4 nearest segments
  static constexpr int kWords = 16;
  std::vector<int32_t> text_ids;  ///< [5, 16] row-major; 0 = <pad>; all zero when the clip has no text
  bool has_text = false;          ///< the model's text mask
};

}  // namespace vatt::nodes
