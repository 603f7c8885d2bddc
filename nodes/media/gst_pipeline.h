// Ownership of one decode pipeline (decoder.cpp, asr.cpp): set to NULL and released on scope exit, or, when
// the pipeline is hung, on a detached thread so that the caller goes on.
#pragma once

#include <gst/gst.h>

#include <memory>
#include <thread>

namespace vatt::nodes {

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
