// GStreamer decode of one source into synced clips: dynamic branches per stream, the pull loop that feeds a
// ClipAssembler (clip_assembler.h) the frames and samples of a ClipPlan (clip_plan.h), bus errors and a stall
// timeout turned into DecodeError.
#include "nodes/media/decoder.h"

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/pbutils/missing-plugins.h>
#include <gst/video/video.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "nodes/media/clip_assembler.h"
#include "nodes/media/clip_plan.h"
#include "nodes/media/gst_pipeline.h"
#include "nodes/media/gst_vattalign.h"
#include "nodes/media/ids.h"

namespace vatt::nodes {

namespace {

using Clock = std::chrono::steady_clock;

/// What the pad-added callback (a streaming thread) shares with the pulling thread.
struct Branches {
  std::mutex mu;
  GstElement* pipeline = nullptr;
  DecodeOptions opt;
  GstElement* vsink = nullptr;
  GstElement* asink = nullptr;
  bool no_more_pads = false;
  std::string fatal_kind, fatal_reason;  // set by the callback, thrown by the puller
  int out_w = 0, out_h = 0;
};

GstElement* make_appsink(GstCaps* caps, int max_buffers, bool drop) {
  GstElement* s = make_element("appsink");
  g_object_set(s, "sync", FALSE, "max-buffers", static_cast<guint>(max_buffers), "drop", drop ? TRUE : FALSE,
               "emit-signals", FALSE, "caps", caps, nullptr);
  gst_caps_unref(caps);
  return s;
}

int even(double v) {
  return std::max(2, static_cast<int>(std::lround(v / 2)) * 2);
}

void on_pad_added(GstElement*, GstPad* pad, gpointer user) {
  auto* b = static_cast<Branches*>(user);
  GstCaps* caps = gst_pad_get_current_caps(pad);
  if (!caps) caps = gst_pad_query_caps(pad, nullptr);
  const GstStructure* st = gst_caps_get_structure(caps, 0);
  const std::string name = gst_structure_get_name(st);
  std::lock_guard<std::mutex> lk(b->mu);
  const DecodeOptions& o = b->opt;
  try {
    if (name == "video/x-raw" && !b->vsink) {
      int w = 0, h = 0, pn = 1, pd = 1;
      gst_structure_get_int(st, "width", &w);
      gst_structure_get_int(st, "height", &h);
      gst_structure_get_fraction(st, "pixel-aspect-ratio", &pn, &pd);
      if (static_cast<int64_t>(w) * h > o.max_pixels) {
        b->fatal_kind = "huge_resolution";
        b->fatal_reason = "video is " + std::to_string(w) + "x" + std::to_string(h) +
                          ", more than max_pixels " + std::to_string(o.max_pixels);
        attach_chain(b->pipeline, pad, {make_fakesink()});
      } else {
        const double dw = static_cast<double>(w) * pn / std::max(pd, 1), dh = h;
        int ow = even(dw), oh = even(dh);
        if (o.short_side > 0) {
          if (dw <= dh) {
            ow = even(o.short_side);
            oh = even(dh * o.short_side / dw);
          } else {
            oh = even(o.short_side);
            ow = even(dw * o.short_side / dh);
          }
        }
        int fn = 0, fd = 1;
        gst_util_double_to_fraction(o.fps, &fn, &fd);
        GstCaps* out = gst_caps_new_simple(
            "video/x-raw", "format", G_TYPE_STRING, "RGB", "width", G_TYPE_INT, ow, "height", G_TYPE_INT, oh,
            "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1, "framerate", GST_TYPE_FRACTION, fn, fd, nullptr);
        // videorate first so that dropped frames are never scaled or converted.
        b->vsink = make_appsink(out, o.video_buffers, o.live);
        attach_chain(
            b->pipeline, pad,
            {make_element("videorate"), make_element("videoscale"), make_element("videoconvert"), b->vsink});
        b->out_w = ow;
        b->out_h = oh;
      }
    } else if (name == "audio/x-raw" && !b->asink) {
      GstCaps* out = gst_caps_new_simple("audio/x-raw", "format", G_TYPE_STRING, "F32LE", "rate", G_TYPE_INT,
                                         o.sample_rate, "channels", G_TYPE_INT, 1, "layout", G_TYPE_STRING,
                                         "interleaved", nullptr);
      b->asink = make_appsink(out, 256, o.live);
      attach_chain(b->pipeline, pad, {make_element("audioconvert"), make_element("audioresample"), b->asink});
    } else {
      attach_chain(b->pipeline, pad, {make_fakesink()});  // subtitles, a second video/audio stream
    }
  } catch (const std::exception& e) {
    b->fatal_kind = "decode_error";
    b->fatal_reason = e.what();
  }
  gst_caps_unref(caps);
}

/// Live sources: rtspsrc drops packets that come too late instead of queueing them without bound.
void on_source_setup(GstElement*, GstElement* source, gpointer) {
  GObjectClass* k = G_OBJECT_GET_CLASS(source);
  if (g_object_class_find_property(k, "drop-on-latency"))
    g_object_set(source, "drop-on-latency", TRUE, "latency", static_cast<guint>(200), nullptr);
}

void on_no_more_pads(GstElement*, gpointer user) {
  auto* b = static_cast<Branches*>(user);
  std::lock_guard<std::mutex> lk(b->mu);
  b->no_more_pads = true;
}

std::string seconds_text(double s) {
  std::ostringstream o;
  o << s << " s";
  return o.str();
}

}  // namespace

void ensure_gstreamer() {
  static std::once_flag once;
  static std::string failure;
  std::call_once(once, [] {
    GError* err = nullptr;
    if (!gst_init_check(nullptr, nullptr, &err)) {
      failure = std::string("GStreamer failed to initialise: ") + (err ? err->message : "unknown reason");
      if (err) g_error_free(err);
      return;
    }
    register_vattalign();
  });
  if (!failure.empty()) throw std::runtime_error(failure);
}

void DecodeOptions::validate() const {
  auto bad = [](const std::string& what) { throw std::invalid_argument(what); };
  if (!(fps > 0 && fps <= 240)) bad("fps must be in (0, 240]");
  if (short_side < 0 || short_side > 4096) bad("short_side must be in [0, 4096] (0 = source size)");
  if (sample_rate < 8000 || sample_rate > 192000) bad("sample_rate must be in [8000, 192000]");
  if (!(clip_seconds > 0) || std::lround(clip_seconds * fps) < 1)
    bad("clip_seconds must give at least one frame");
  if (stride_seconds < 0) bad("stride_seconds must be >= 0 (0 = clip_seconds)");
  if (stride_seconds > 0 && std::lround(stride_seconds * fps) < 1) bad("stride_seconds must be >= one frame");
  if (max_clips < 0) bad("max_clips must be >= 0 (0 = all)");
  if (sampling != "all" && sampling != "uniform" && sampling != "random")
    bad("sampling '" + sampling + "': expected all, uniform or random");
  if (sampling != "all" && clips_per_source < 1) bad("clips_per_source must be >= 1");
  if (!(timeout_seconds > 0)) bad("timeout_seconds must be > 0");
  if (max_pixels < 1) bad("max_pixels must be >= 1");
  if (video_buffers < 1) bad("video_buffers must be >= 1");
  if (range_start_us < 0 || (range_end_us != 0 && range_end_us <= range_start_us))
    bad("a source's time range must have 0 <= start < end");
}

std::string DecodeOptions::digest() const {
  std::ostringstream s;
  s << "fps=" << fps << ";short=" << short_side << ";rate=" << sample_rate << ";clip=" << clip_seconds
    << ";stride=" << stride_seconds << ";max=" << max_clips << ";sampling=" << sampling
    << ";k=" << clips_per_source << ";seed=" << seed;
  if (pad_short) s << ";pad";
  if (range_start_us || range_end_us)
    s << ";range=" << range_start_us << "-"
      << range_end_us;  // only when on: digests of stores written before the option stay valid
  return hex64(fnv1a64(s.str()));
}

namespace {

/// One source's GStreamer pipeline: started, its bus watched (errors thrown as DecodeError), its streams
/// found, its length asked for.
class SourcePipeline {
 public:
  SourcePipeline(const std::string& uri, const DecodeOptions& opt) : opt_(opt) {
    auto branches = std::make_shared<Branches>();
    ph_.keep = branches;
    br_ = branches.get();
    br_->opt = opt;
    ph_.p = gst_pipeline_new(nullptr);
    br_->pipeline = ph_.p;
    GstElement* dec = make_element("uridecodebin");
    g_object_set(dec, "uri", uri.c_str(), nullptr);
    gst_bin_add(GST_BIN(ph_.p), dec);
    g_signal_connect(dec, "pad-added", G_CALLBACK(on_pad_added), br_);
    g_signal_connect(dec, "no-more-pads", G_CALLBACK(on_no_more_pads), br_);
    if (opt.live) {
      g_signal_connect(dec, "source-setup", G_CALLBACK(on_source_setup), nullptr);
      ph_.hung = true;  // tear down off this thread, whatever happens
    }
    ph_.bus = gst_element_get_bus(ph_.p);
    if (gst_element_set_state(ph_.p, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
      poll_bus();
      throw DecodeError("decode_error", "the pipeline would not start");
    }
  }

  /// Throws the first error on the bus (or from pad-added); remembers missing-plugin messages.
  void poll_bus() {
    while (GstMessage* m = gst_bus_pop_filtered(
               ph_.bus, static_cast<GstMessageType>(GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT))) {
      if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
        GError* err = nullptr;
        gchar* dbg = nullptr;
        gst_message_parse_error(m, &err, &dbg);
        const std::string kind = error_kind(err);
        std::string reason = err->message;
        if (!missing_.empty()) reason += " (no decoder for " + missing_.front() + ")";
        g_error_free(err);
        g_free(dbg);
        gst_message_unref(m);
        throw DecodeError(missing_.empty() ? kind : "unsupported_codec", reason);
      }
      if (gst_is_missing_plugin_message(m)) {
        gchar* d = gst_missing_plugin_message_get_description(m);
        missing_.emplace_back(d ? d : "an unknown format");
        g_free(d);
      }
      gst_message_unref(m);
    }
    std::lock_guard<std::mutex> lk(br_->mu);
    if (!br_->fatal_kind.empty()) throw DecodeError(br_->fatal_kind, br_->fatal_reason);
  }

  /// Waits for no-more-pads (until then a missing audio branch may still come) and checks what was found.
  /// False when `stop` was raised.
  bool find_streams(const std::atomic<bool>* stop) {
    const auto t0 = Clock::now();
    for (;;) {
      if (stop && stop->load()) return false;
      poll_bus();
      {
        std::lock_guard<std::mutex> lk(br_->mu);
        if (br_->no_more_pads) {
          vsink_ = br_->vsink;
          asink_ = br_->asink;
          break;
        }
      }
      if (Clock::now() - t0 > timeout()) {
        ph_.hung = true;
        throw DecodeError("timeout", "no streams found within " + seconds_text(opt_.timeout_seconds));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (!vsink_ && (!asink_ || opt_.require_video)) {
      if (!missing_.empty()) throw DecodeError("unsupported_codec", "no decoder for " + missing_.front());
      if (!asink_) throw DecodeError("no_stream", "no audio or video stream");
      throw DecodeError("no_video", "no video stream (audio-only input needs an audio file extension)");
    }
    return true;
  }

  /// The source's length in nanoseconds (asked for up to a second).
  int64_t duration_ns(const std::string& why) {
    gint64 dur = -1;
    for (int i = 0; i < 200 && !gst_element_query_duration(ph_.p, GST_FORMAT_TIME, &dur); ++i) {
      poll_bus();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (dur <= 0) throw DecodeError("decode_error", "duration unknown: " + why);
    return dur;
  }

  GstAppSink* video() const { return vsink_ ? GST_APP_SINK(vsink_) : nullptr; }
  GstAppSink* audio() const { return asink_ ? GST_APP_SINK(asink_) : nullptr; }
  std::chrono::duration<double> timeout() const {
    return std::chrono::duration<double>(opt_.timeout_seconds);
  }
  /// The decoder stopped giving data: the teardown must not wait for it.
  [[noreturn]] void stalled() {
    ph_.hung = true;
    throw DecodeError("timeout", "decoder stalled: no data for " + seconds_text(opt_.timeout_seconds));
  }

 private:
  const DecodeOptions& opt_;
  PipelineHolder ph_;
  Branches* br_ = nullptr;
  std::vector<std::string> missing_;
  GstElement *vsink_ = nullptr, *asink_ = nullptr;
};

/// Copies a mapped RGB frame (rows padded to 4 bytes) into packed RGB.
void pack_rgb(GstVideoFrame& vf, int w, int h, std::vector<uint8_t>& packed) {
  const int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&vf, 0);
  const auto* src = static_cast<const uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&vf, 0));
  packed.resize(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    std::memcpy(packed.data() + static_cast<size_t>(y) * w * 3, src + static_cast<size_t>(y) * stride,
                static_cast<size_t>(w) * 3);
}

}  // namespace

DecodeStats decode_clips(const std::string& uri, const DecodeOptions& opt,
                         const std::function<bool(Clip&&)>& sink, const std::atomic<bool>* stop,
                         DecodeProgress* progress) {
  ensure_gstreamer();
  opt.validate();
  SourcePipeline src(uri, opt);
  DecodeStats stats;
  if (!src.find_streams(stop)) return stats;
  GstAppSink* vsink = src.video();
  GstAppSink* asink = src.audio();

  ClipPlan plan(opt, uri);
  if (plan.needs_duration())
    plan.set_duration_ns(src.duration_ns("sampling '" + opt.sampling + "' needs it"));
  ClipAssembler clips(plan, vsink != nullptr, asink != nullptr, opt.first_clip);
  if (clips.plan_done()) return stats;  // resumed past the source's last clip: nothing left to deliver

  // The pull loop: take from the stream that is behind (so that both advance together), place what arrives.
  const double fps = opt.fps;
  const auto rate = static_cast<guint64>(opt.sample_rate);
  GstVideoInfo vinfo;
  gst_video_info_init(&vinfo);
  std::unique_ptr<GstCaps, void (*)(GstCaps*)> vcaps(nullptr, [](GstCaps* c) { gst_caps_unref(c); });
  int fw = 0, fh = 0;
  std::vector<uint8_t> packed;
  bool veos = !vsink, aeos = !asink;
  // Live sources: timestamps count from the first buffer of either stream (a live pipeline's start at its
  // running time, not at 0).
  GstClockTime base = opt.live ? GST_CLOCK_TIME_NONE : 0;
  auto rebase = [&](GstClockTime pts) -> GstClockTime {
    if (!GST_CLOCK_TIME_IS_VALID(pts)) return pts;
    if (!GST_CLOCK_TIME_IS_VALID(base)) base = pts;
    return pts > base ? pts - base : 0;
  };
  auto last_data = Clock::now();
  bool more = true;
  while (more && (!veos || !aeos)) {
    if (stop && stop->load()) break;
    src.poll_bus();
    GstAppSink* first = !veos && (aeos || clips.video_seconds() <= clips.audio_seconds()) ? vsink : asink;
    GstAppSink* second = first == vsink ? (aeos ? nullptr : asink) : (veos ? nullptr : vsink);
    GstAppSink* from = first;
    GstSample* smp = gst_app_sink_try_pull_sample(first, 20 * GST_MSECOND);
    if (!smp && second) {
      // The stream ahead may hold the demuxer back when its sink is full: take from it too.
      smp = gst_app_sink_try_pull_sample(second, 0);
      from = second;
    }
    if (!smp) {
      if (gst_app_sink_is_eos(first)) (first == vsink ? veos : aeos) = true;
      if (second && gst_app_sink_is_eos(second)) (second == vsink ? veos : aeos) = true;
      if (veos && vsink) clips.end_video();
      if (aeos && asink) clips.end_audio();
      if (Clock::now() - last_data > src.timeout()) src.stalled();
      if (veos || aeos) more = clips.emit_ready(sink);
      continue;
    }
    last_data = Clock::now();
    std::unique_ptr<GstSample, void (*)(GstSample*)> held(smp, [](GstSample* s) { gst_sample_unref(s); });
    GstBuffer* buf = gst_sample_get_buffer(smp);
    if (from == vsink) {
      GstCaps* caps = gst_sample_get_caps(smp);
      if (caps && !(vcaps && gst_caps_is_equal(caps, vcaps.get()))) {
        if (!gst_video_info_from_caps(&vinfo, caps)) throw DecodeError("decode_error", "unusable video caps");
        if (fw && (fw != GST_VIDEO_INFO_WIDTH(&vinfo) || fh != GST_VIDEO_INFO_HEIGHT(&vinfo)))
          throw DecodeError("decode_error", "frame size changed mid-stream");
        fw = GST_VIDEO_INFO_WIDTH(&vinfo);
        fh = GST_VIDEO_INFO_HEIGHT(&vinfo);
        clips.set_frame_size(fw, fh);
        vcaps.reset(gst_caps_ref(caps));
      }
      GstVideoFrame vf;
      if (gst_video_frame_map(&vf, &vinfo, buf, GST_MAP_READ)) {
        pack_rgb(vf, fw, fh, packed);
        gst_video_frame_unmap(&vf);
        const GstClockTime pts = rebase(GST_BUFFER_PTS(buf));
        const int64_t idx = GST_CLOCK_TIME_IS_VALID(pts)
                                ? static_cast<int64_t>(std::llround(static_cast<double>(pts) * fps / 1e9))
                                : clips.next_frame();
        ++stats.frames;
        if (progress) progress->frames.fetch_add(1, std::memory_order_relaxed);
        clips.add_frame(idx, packed.data());
      }
    } else {
      GstMapInfo mi;
      if (gst_buffer_map(buf, &mi, GST_MAP_READ)) {
        const auto n = static_cast<int64_t>(mi.size / sizeof(float));
        stats.samples += static_cast<uint64_t>(n);
        if (progress) progress->samples.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
        const GstClockTime pts = rebase(GST_BUFFER_PTS(buf));
        const int64_t pos = GST_CLOCK_TIME_IS_VALID(pts)
                                ? static_cast<int64_t>(gst_util_uint64_scale_round(pts, rate, GST_SECOND))
                                : -1;
        clips.add_audio(pos, reinterpret_cast<const float*>(mi.data), n);
        gst_buffer_unmap(buf, &mi);
      }
    }
    held.reset();
    more = clips.emit_ready(sink);
  }
  if (more && !(stop && stop->load())) clips.emit_ready(sink);
  stats.clips = clips.clips();
  if (stats.clips == 0 && opt.first_clip == 0 && !(stop && stop->load())) {
    const bool video = vsink != nullptr;
    std::ostringstream r;
    r.precision(2);
    r << std::fixed << "shorter than one clip: " << (video ? clips.video_seconds() : clips.audio_seconds())
      << " s of " << (video ? "video" : "audio") << ", a clip is " << opt.clip_seconds << " s";
    throw DecodeError("too_short", r.str());
  }
  return stats;
}

}  // namespace vatt::nodes
