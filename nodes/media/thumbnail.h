// A JPEG of one frame, through GStreamer's own conversion (videoconvert, videoscale, jpegenc): what live
// ingestion keeps per clip so that search results can show it without the source at hand.
#pragma once

#include <cstdint>
#include <string>

#include "nodes/media/clip.h"

namespace vatt::nodes {

/// JPEG bytes of packed RGB `rgb` [height, width, 3], scaled so its long side is at most `max_side` (aspect
/// kept). Throws std::runtime_error when GStreamer cannot encode it (jpegenc missing).
std::string encode_jpeg(const uint8_t* rgb, int width, int height, int max_side = 320);

/// The middle frame of `clip` as a JPEG; "" for a clip without video.
std::string clip_thumbnail(const Clip& clip, int max_side = 320);

}  // namespace vatt::nodes
