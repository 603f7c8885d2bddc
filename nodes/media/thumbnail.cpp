#include "nodes/media/thumbnail.h"

#include <gst/gst.h>
#include <gst/video/video.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "nodes/media/decoder.h"

namespace vatt::nodes {

std::string encode_jpeg(const uint8_t* rgb, int width, int height, int max_side) {
  ensure_gstreamer();
  GstVideoInfo info;
  gst_video_info_set_format(&info, GST_VIDEO_FORMAT_RGB, static_cast<guint>(width),
                            static_cast<guint>(height));
  GstBuffer* buf = gst_buffer_new_allocate(nullptr, info.size, nullptr);
  GstMapInfo map;
  gst_buffer_map(buf, &map, GST_MAP_WRITE);
  const size_t row = static_cast<size_t>(width) * 3;
  for (int y = 0; y < height; ++y)  // GStreamer's RGB rows are padded to 4 bytes
    std::memcpy(map.data + static_cast<size_t>(y) * GST_VIDEO_INFO_PLANE_STRIDE(&info, 0),
                rgb + static_cast<size_t>(y) * row, row);
  gst_buffer_unmap(buf, &map);
  GstCaps* in_caps = gst_video_info_to_caps(&info);
  GstSample* in = gst_sample_new(buf, in_caps, nullptr, nullptr);
  gst_buffer_unref(buf);
  gst_caps_unref(in_caps);
  const double scale = std::min(1.0, static_cast<double>(max_side) / std::max(width, height));
  const int ow = std::max(2, static_cast<int>(width * scale) / 2 * 2),
            oh = std::max(2, static_cast<int>(height * scale) / 2 * 2);
  GstCaps* out_caps = gst_caps_new_simple("image/jpeg", "width", G_TYPE_INT, ow, "height", G_TYPE_INT, oh,
                                          "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1, nullptr);
  GError* err = nullptr;
  GstSample* out = gst_video_convert_sample(in, out_caps, 5 * GST_SECOND, &err);
  gst_caps_unref(out_caps);
  gst_sample_unref(in);
  if (!out) {
    std::string why = err ? err->message : "unknown reason";
    if (err) g_error_free(err);
    throw std::runtime_error("JPEG encoding failed: " + why);
  }
  GstBuffer* ob = gst_sample_get_buffer(out);
  std::string jpeg;
  if (gst_buffer_map(ob, &map, GST_MAP_READ)) {
    jpeg.assign(reinterpret_cast<const char*>(map.data), map.size);
    gst_buffer_unmap(ob, &map);
  }
  gst_sample_unref(out);
  return jpeg;
}

std::string clip_thumbnail(const Clip& c, int max_side) {
  if (!c.has_video || !c.frames || c.frames_t < 1) return "";
  const size_t frame = static_cast<size_t>(c.width) * c.height * 3;
  return encode_jpeg(c.frames->data() + frame * static_cast<size_t>(c.frames_t / 2), c.width, c.height,
                     max_side);
}

}  // namespace vatt::nodes
