// What decoder.cpp and asr.cpp share about building and owning a GStreamer pipeline: element creation with a
// clear error, linking a branch in pad-added, the short kind of a bus error, and ownership (set to NULL and released on scope exit, or, when
// the pipeline is hung, on a detached thread so that the caller goes on).
#pragma once

#include <gst/gst.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace vatt::nodes {

/// Creates an element; throws std::runtime_error naming it when the plugin is not installed.
inline GstElement* make_element(const char* factory) {
  GstElement* e = gst_element_factory_make(factory, nullptr);
  if (!e) throw std::runtime_error(std::string("GStreamer element '") + factory + "' is not installed");
  return e;
}

/// A sink that swallows a stream we do not use, without clock sync or preroll (so it never blocks PAUSED).
inline GstElement* make_fakesink() {
  GstElement* s = make_element("fakesink");
  g_object_set(s, "sync", FALSE, "async", FALSE, nullptr);
  return s;
}

/// Adds `chain` (upstream first) to the pipeline, links it, brings it to the pipeline's state and links
/// `pad` to its head.
inline void attach_chain(GstElement* pipeline, GstPad* pad, const std::vector<GstElement*>& chain) {
  for (GstElement* e : chain) gst_bin_add(GST_BIN(pipeline), e);
  for (size_t i = 0; i + 1 < chain.size(); ++i) gst_element_link(chain[i], chain[i + 1]);
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) gst_element_sync_state_with_parent(*it);
  GstPad* sinkpad = gst_element_get_static_pad(chain.front(), "sink");
  gst_pad_link(pad, sinkpad);
  gst_object_unref(sinkpad);
}

/// The short, counted kind of a GStreamer bus error: "not_found" (no such file, unreadable), "unknown_format"
/// (no demuxer knows it), "unsupported_codec" (no decoder installed), else "decode_error" (corrupt data,
/// GST_STREAM_ERROR_DECODE among it).
inline std::string error_kind(const GError* err) {
  if (err->domain == GST_RESOURCE_ERROR &&
      (err->code == GST_RESOURCE_ERROR_NOT_FOUND || err->code == GST_RESOURCE_ERROR_OPEN_READ))
    return "not_found";
  if (err->domain == GST_STREAM_ERROR && err->code == GST_STREAM_ERROR_TYPE_NOT_FOUND)
    return "unknown_format";
  if (err->domain == GST_STREAM_ERROR && err->code == GST_STREAM_ERROR_CODEC_NOT_FOUND)
    return "unsupported_codec";
  return "decode_error";
}

/// Sets the pipeline to NULL and releases it, after which what its callbacks use (`keep`) may go. After a
/// timeout the decoder may be stuck in a call that never returns, and so would the state change: then the
/// teardown runs on a detached thread (which may leak that one pipeline) so that the run goes on.
struct PipelineHolder {
  GstElement* p = nullptr;
  GstBus* bus = nullptr;
  std::shared_ptr<void> keep;  ///< state the pipeline's callbacks point to; freed after the teardown
  bool hung = false;

  PipelineHolder() = default;
  PipelineHolder(const PipelineHolder&) = delete;
  PipelineHolder& operator=(const PipelineHolder&) = delete;

  static void teardown(GstElement* p, GstBus* bus) {
    if (bus) gst_object_unref(bus);
    if (p) {
      gst_element_set_state(p, GST_STATE_NULL);
      gst_object_unref(p);
    }
  }
  ~PipelineHolder() {
    if (hung)
      std::thread([p = p, bus = bus, keep = keep] { teardown(p, bus); }).detach();
    else
      teardown(p, bus);
  }
};

}  // namespace vatt::nodes
