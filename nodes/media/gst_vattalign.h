// `vattalign`: our GStreamer element that turns timed text (subparse output, ASR segments) into per-clip
// text, the 5 MIL-NCE candidates for each clip window. Registered in-process by
// register_vattalign(); the same element is built as a plugin (libgstvattalign.so) for gst-launch-1.0 with
// GST_PLUGIN_PATH.
//
//   sink: text/x-raw (utf8 or pango-markup), timed buffers  ->  vattalign  ->  src: text/x-raw, format=utf8
//
// It gathers every segment until EOS (the nearest segments of a clip may come later in the stream), then
// pushes one buffer per clip window: PTS = clip start, DURATION = clip length, content one JSON object
//   {"clip": K, "start_us": S, "end_us": E, "candidates": [{"start_us", "end_us", "text"}, ...]}
// with candidates as align_text() gives them (empty when no word falls in the window).
//
// Properties: clip-duration (ns, 3.2 s), stride (ns, 0 = clip-duration), candidates (5), media-duration (ns;
// 0 = up to the window holding the end of the last segment).
//
// Example:
//   GST_PLUGIN_PATH=build/nodes gst-launch-1.0 -q filesrc location=talk.srt ! subparse ! vattalign ! fdsink
#pragma once

namespace vatt::nodes {

/// Registers `vattalign` with GStreamer in this process (no plugin file needed). Idempotent; GStreamer must
/// be initialised.
void register_vattalign();

}  // namespace vatt::nodes
