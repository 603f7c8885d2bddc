// GStreamer decode of one source into synced clips: dynamic branches per stream, timestamp-placed audio, clip
// planning (every stride, uniform K, random K), bus errors and a stall timeout turned into DecodeError.
#include "nodes/media/decoder.h"

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/pbutils/missing-plugins.h>
#include <gst/video/video.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "nodes/media/gst_pipeline.h"
#include "nodes/media/gst_vattalign.h"

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

GstElement* make_appsink(GstCaps* caps, int max_buffers) {
  GstElement* s = make_element("appsink");
  g_object_set(s, "sync", FALSE, "max-buffers", static_cast<guint>(max_buffers), "drop", FALSE,
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
        b->vsink = make_appsink(out, o.video_buffers);
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
      b->asink = make_appsink(out, 256);
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

std::string error_kind(GError* err) {
  if (err->domain == GST_RESOURCE_ERROR &&
      (err->code == GST_RESOURCE_ERROR_NOT_FOUND || err->code == GST_RESOURCE_ERROR_OPEN_READ))
    return "not_found";
  if (err->domain == GST_STREAM_ERROR && err->code == GST_STREAM_ERROR_TYPE_NOT_FOUND)
    return "unknown_format";
  if (err->domain == GST_STREAM_ERROR &&
      (err->code == GST_STREAM_ERROR_CODEC_NOT_FOUND || err->code == GST_STREAM_ERROR_DECODE))
    return err->code == GST_STREAM_ERROR_DECODE ? "decode_error" : "unsupported_codec";
  return "decode_error";
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

uint64_t fnv1a64(std::string_view s, uint64_t h) {
  for (char c : s) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string to_uri(const std::string& path_or_uri) {
  if (path_or_uri.find("://") != std::string::npos) return path_or_uri;
  // Lexically normal, symlinks kept: datasets are often folders of links, and the link's name is the id.
  const std::string p = std::filesystem::absolute(path_or_uri).lexically_normal().string();
  gchar* uri = gst_filename_to_uri(p.c_str(), nullptr);
  std::string out = uri ? uri : "file://" + p;
  g_free(uri);
  return out;
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
}

std::string DecodeOptions::digest() const {
  std::ostringstream s;
  s << "fps=" << fps << ";short=" << short_side << ";rate=" << sample_rate << ";clip=" << clip_seconds
    << ";stride=" << stride_seconds << ";max=" << max_clips << ";sampling=" << sampling
    << ";k=" << clips_per_source << ";seed=" << seed;
  return hex64(fnv1a64(s.str()));
}

DecodeStats decode_clips(const std::string& uri, const DecodeOptions& opt,
                         const std::function<bool(Clip&&)>& sink, const std::atomic<bool>* stop) {
  ensure_gstreamer();
  opt.validate();
  const double fps = opt.fps;
  const int64_t rate = opt.sample_rate;
  const int64_t T = std::lround(opt.clip_seconds * fps);
  const int64_t S = std::lround(opt.clip_seconds * static_cast<double>(rate));
  const int64_t stride = opt.stride_seconds > 0 ? std::lround(opt.stride_seconds * fps) : T;
  auto sample_of = [&](int64_t frame) {
    return static_cast<int64_t>(std::llround(static_cast<double>(frame) * static_cast<double>(rate) / fps));
  };

  PipelineHolder ph;
  auto branches = std::make_shared<Branches>();
  ph.keep = branches;
  Branches& br = *branches;
  br.opt = opt;
  ph.p = gst_pipeline_new(nullptr);
  br.pipeline = ph.p;
  GstElement* dec = make_element("uridecodebin");
  g_object_set(dec, "uri", uri.c_str(), nullptr);
  gst_bin_add(GST_BIN(ph.p), dec);
  g_signal_connect(dec, "pad-added", G_CALLBACK(on_pad_added), &br);
  g_signal_connect(dec, "no-more-pads", G_CALLBACK(on_no_more_pads), &br);
  ph.bus = gst_element_get_bus(ph.p);

  std::vector<std::string> missing;
  auto poll_bus = [&] {
    while (GstMessage* m = gst_bus_pop_filtered(
               ph.bus, static_cast<GstMessageType>(GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT))) {
      if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
        GError* err = nullptr;
        gchar* dbg = nullptr;
        gst_message_parse_error(m, &err, &dbg);
        const std::string kind = error_kind(err);
        std::string reason = err->message;
        if (!missing.empty()) reason += " (no decoder for " + missing.front() + ")";
        g_error_free(err);
        g_free(dbg);
        gst_message_unref(m);
        throw DecodeError(missing.empty() ? kind : "unsupported_codec", reason);
      }
      if (gst_is_missing_plugin_message(m)) {
        gchar* d = gst_missing_plugin_message_get_description(m);
        missing.emplace_back(d ? d : "an unknown format");
        g_free(d);
      }
      gst_message_unref(m);
    }
    std::lock_guard<std::mutex> lk(br.mu);
    if (!br.fatal_kind.empty()) throw DecodeError(br.fatal_kind, br.fatal_reason);
  };

  const auto timeout = std::chrono::duration<double>(opt.timeout_seconds);
  if (gst_element_set_state(ph.p, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    poll_bus();
    throw DecodeError("decode_error", "the pipeline would not start");
  }

  // The set of streams is known at no-more-pads; until then a missing audio branch may still come.
  auto t0 = Clock::now();
  GstElement *vsink = nullptr, *asink = nullptr;
  for (;;) {
    if (stop && stop->load()) return {};
    poll_bus();
    {
      std::lock_guard<std::mutex> lk(br.mu);
      if (br.no_more_pads) {
        vsink = br.vsink;
        asink = br.asink;
        break;
      }
    }
    if (Clock::now() - t0 > timeout) {
      ph.hung = true;
      throw DecodeError("timeout", "no streams found within " + seconds_text(opt.timeout_seconds));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (!vsink && !asink) {
    if (!missing.empty()) throw DecodeError("unsupported_codec", "no decoder for " + missing.front());
    throw DecodeError("no_stream", "no audio or video stream");
  }
  if (!vsink && opt.require_video) {
    if (!missing.empty()) throw DecodeError("unsupported_codec", "no decoder for " + missing.front());
    throw DecodeError("no_video", "no video stream (audio-only input needs an audio file extension)");
  }

  // Clip plan: start frames, ascending. "all" is open-ended; uniform/random need the duration.
  std::vector<int64_t> plan;
  const bool planned = opt.sampling != "all";
  if (planned) {
    gint64 dur = -1;
    for (int i = 0; i < 200 && !gst_element_query_duration(ph.p, GST_FORMAT_TIME, &dur); ++i) {
      poll_bus();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (dur <= 0)
      throw DecodeError("decode_error", "duration unknown: sampling '" + opt.sampling + "' needs it");
    const int64_t F = static_cast<int64_t>(std::floor(static_cast<double>(dur) * fps / 1e9 + 1e-6));
    const int64_t K = opt.clips_per_source;
    if (F >= T) {
      if (opt.sampling == "uniform") {
        for (int64_t j = 0; j < K; ++j) plan.push_back(K == 1 ? (F - T) / 2 : (F - T) * j / (K - 1));
      } else {
        std::mt19937_64 rng(opt.seed ^ fnv1a64(uri));
        std::uniform_int_distribution<int64_t> d(0, F - T);
        for (int64_t j = 0; j < K; ++j) plan.push_back(d(rng));
      }
      std::sort(plan.begin(), plan.end());
      if (opt.max_clips && static_cast<int64_t>(plan.size()) > opt.max_clips)
        plan.resize(static_cast<size_t>(opt.max_clips));
    }
  }
  uint64_t next = opt.first_clip;
  auto start_of = [&](uint64_t k) -> int64_t {
    if (planned) return k < plan.size() ? plan[k] : -1;
    if (opt.max_clips && k >= static_cast<uint64_t>(opt.max_clips)) return -1;
    return static_cast<int64_t>(k) * stride;
  };

  DecodeStats stats;
  int64_t resume_frame = 0;
  if (opt.first_clip > 0) {
    resume_frame = start_of(next);
    if (resume_frame < 0) return stats;  // every clip of the source was delivered before
  }
  int fw = 0, fh = 0;
  GstVideoInfo vinfo;
  gst_video_info_init(&vinfo);
  GstCaps* vcaps = nullptr;
  std::unique_ptr<GstCaps, void (*)(GstCaps*)> vcaps_ref(nullptr, [](GstCaps* c) { gst_caps_unref(c); });
  std::deque<std::vector<uint8_t>> frames;
  int64_t fnext = resume_frame;
  std::vector<float> abuf;  // samples [abase, anext)
  int64_t abase = sample_of(resume_frame), anext = abase;
  bool veos = !vsink, aeos = !asink;

  // Invariant: `frames` holds the contiguous indices [fnext - frames.size(), fnext), none below the start of
  // the next pending clip (that start only grows, and emit_ready pops what falls below it).
  auto fbase = [&] { return fnext - static_cast<int64_t>(frames.size()); };
  auto add_frame = [&](int64_t idx, const uint8_t* px) {
    const int64_t need = start_of(next);
    const size_t bytes = static_cast<size_t>(fw) * fh * 3;
    for (; fnext <= idx; ++fnext) {
      if (need < 0 || fnext < need) continue;
      // A missing index repeats the latest frame (videorate leaves none; odd timestamps could).
      if (fnext == idx || frames.empty())
        frames.emplace_back(px, px + bytes);
      else
        frames.push_back(frames.back());
    }
  };

  auto add_audio = [&](GstClockTime pts, const float* s, int64_t n) {
    if (GST_CLOCK_TIME_IS_VALID(pts)) {
      const auto pos =
          static_cast<int64_t>(gst_util_uint64_scale_round(pts, static_cast<guint64>(rate), GST_SECOND));
      if (pos > anext + 1) {
        abuf.insert(abuf.end(), static_cast<size_t>(pos - anext), 0.0f);
        anext = pos;
      } else if (pos < anext - 1) {
        const int64_t skip = std::min(n, anext - pos);
        s += skip;
        n -= skip;
      }
    }
    abuf.insert(abuf.end(), s, s + n);
    anext += n;
    // Drop what no pending clip needs, in large steps (the erase moves the rest).
    const int64_t need = start_of(next);
    const int64_t keep_from = need < 0 ? anext : sample_of(need);
    if (keep_from - abase > rate / 2) {
      const int64_t drop = std::min<int64_t>(keep_from - abase, static_cast<int64_t>(abuf.size()));
      abuf.erase(abuf.begin(), abuf.begin() + drop);
      abase += drop;
    }
  };

  // Emits every clip whose window is complete; returns false when no clip can come any more.
  auto emit_ready = [&]() -> bool {
    for (;;) {
      const int64_t n0 = start_of(next);
      if (n0 < 0) return false;
      const int64_t s0 = sample_of(n0);
      if (vsink) {
        if (fnext < n0 + T) return !veos;
        if (asink && anext < s0 + S && !aeos) return true;
      } else if (anext < s0 + S) {
        return !aeos;
      }
      Clip c;
      c.clip_index = next;
      c.start_us = std::llround(static_cast<double>(n0) * 1e6 / fps);
      c.end_us = std::llround(static_cast<double>(n0 + T) * 1e6 / fps);
      c.fps = fps;
      c.sample_rate = static_cast<int>(rate);
      c.has_video = vsink != nullptr;
      c.has_audio = asink != nullptr;
      if (vsink) {
        auto buf = std::make_shared<std::vector<uint8_t>>();
        buf->reserve(static_cast<size_t>(T) * fw * fh * 3);
        for (int64_t i = n0; i < n0 + T; ++i) {
          const auto& f = frames.at(static_cast<size_t>(i - fbase()));
          buf->insert(buf->end(), f.begin(), f.end());
        }
        c.frames = std::move(buf);
        c.frames_t = static_cast<int>(T);
        c.height = fh;
        c.width = fw;
      }
      auto au = std::make_shared<std::vector<float>>(static_cast<size_t>(S), 0.0f);
      for (int64_t i = std::max(s0, abase); i < std::min(s0 + S, anext); ++i)
        (*au)[static_cast<size_t>(i - s0)] = abuf[static_cast<size_t>(i - abase)];
      c.audio = std::move(au);
      ++next;
      ++stats.clips;
      if (!sink(std::move(c))) return false;
      const int64_t need = start_of(next);
      while (!frames.empty() && (need < 0 || fbase() < need)) frames.pop_front();
    }
  };

  auto last_data = Clock::now();
  bool more = true;
  while (more && (!veos || !aeos)) {
    if (stop && stop->load()) return stats;
    poll_bus();
    const double vt = static_cast<double>(fnext) / fps,
                 at = static_cast<double>(anext) / static_cast<double>(rate);
    GstElement* first = !veos && (aeos || vt <= at) ? vsink : asink;
    GstElement* second = first == vsink ? (aeos ? nullptr : asink) : (veos ? nullptr : vsink);
    GstElement* from = first;
    GstSample* smp = gst_app_sink_try_pull_sample(GST_APP_SINK(first), 20 * GST_MSECOND);
    if (!smp && second) {
      // The stream ahead may hold the demuxer back when its sink is full: take from it too.
      smp = gst_app_sink_try_pull_sample(GST_APP_SINK(second), 0);
      from = second;
    }
    if (!smp) {
      if (gst_app_sink_is_eos(GST_APP_SINK(first))) (first == vsink ? veos : aeos) = true;
      if (second && gst_app_sink_is_eos(GST_APP_SINK(second))) (second == vsink ? veos : aeos) = true;
      if (Clock::now() - last_data > timeout) {
        ph.hung = true;
        throw DecodeError("timeout", "decoder stalled: no data for " + seconds_text(opt.timeout_seconds));
      }
      if (veos || aeos) more = emit_ready();
      continue;
    }
    last_data = Clock::now();
    GstBuffer* buf = gst_sample_get_buffer(smp);
    if (from == vsink) {
      GstCaps* caps = gst_sample_get_caps(smp);
      if (caps && !(vcaps && gst_caps_is_equal(caps, vcaps))) {
        if (!gst_video_info_from_caps(&vinfo, caps)) {
          gst_sample_unref(smp);
          throw DecodeError("decode_error", "unusable video caps");
        }
        if (fw && (fw != GST_VIDEO_INFO_WIDTH(&vinfo) || fh != GST_VIDEO_INFO_HEIGHT(&vinfo))) {
          gst_sample_unref(smp);
          throw DecodeError("decode_error", "frame size changed mid-stream");
        }
        fw = GST_VIDEO_INFO_WIDTH(&vinfo);
        fh = GST_VIDEO_INFO_HEIGHT(&vinfo);
        vcaps_ref.reset(gst_caps_ref(caps));
        vcaps = caps;
      }
      GstVideoFrame vf;
      if (gst_video_frame_map(&vf, &vinfo, buf, GST_MAP_READ)) {
        // Rows are padded to 4 bytes: copy row by row with the real stride into packed RGB.
        const int stride_b = GST_VIDEO_FRAME_PLANE_STRIDE(&vf, 0);
        const auto* src = static_cast<const uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&vf, 0));
        std::vector<uint8_t> packed(static_cast<size_t>(fw) * fh * 3);
        for (int y = 0; y < fh; ++y)
          std::memcpy(packed.data() + static_cast<size_t>(y) * fw * 3,
                      src + static_cast<size_t>(y) * stride_b, static_cast<size_t>(fw) * 3);
        gst_video_frame_unmap(&vf);
        const GstClockTime pts = GST_BUFFER_PTS(buf);
        const int64_t idx = GST_CLOCK_TIME_IS_VALID(pts)
                                ? static_cast<int64_t>(std::llround(static_cast<double>(pts) * fps / 1e9))
                                : fnext;
        ++stats.frames;
        if (idx >= fnext) add_frame(idx, packed.data());
      }
    } else {
      GstMapInfo mi;
      if (gst_buffer_map(buf, &mi, GST_MAP_READ)) {
        const auto n = static_cast<int64_t>(mi.size / sizeof(float));
        stats.samples += static_cast<uint64_t>(n);
        add_audio(GST_BUFFER_PTS(buf), reinterpret_cast<const float*>(mi.data), n);
        gst_buffer_unmap(buf, &mi);
      }
    }
    gst_sample_unref(smp);
    more = emit_ready();
  }
  if (more) emit_ready();
  if (stats.clips == 0 && opt.first_clip == 0 && !(stop && stop->load())) {
    const double have =
        vsink ? static_cast<double>(fnext) / fps : static_cast<double>(anext) / static_cast<double>(rate);
    std::ostringstream r;
    r.precision(2);
    r << std::fixed << "shorter than one clip: " << have << " s of " << (vsink ? "video" : "audio")
      << ", a clip is " << opt.clip_seconds << " s";
    throw DecodeError("too_short", r.str());
  }
  return stats;
}
}  // namespace vatt::nodes
