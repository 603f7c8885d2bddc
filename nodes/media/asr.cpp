// Speech recognition pass over a source's audio with the `pocketsphinx` element; word times from its decoder.
#include "nodes/media/asr.h"

#include <gst/gst.h>
#include <pocketsphinx.h>
#include <sphinxbase/err.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>
#include <sstream>
#include <thread>

#include "nodes/media/decoder.h"
#include "nodes/media/gst_pipeline.h"

namespace vatt::nodes {

namespace {

using Clock = std::chrono::steady_clock;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

/// What the streaming-thread callbacks share with the caller.
struct AsrState {
  std::mutex mu;
  GstElement* pipeline = nullptr;
  GstElement* ps = nullptr;  // the pocketsphinx element, once an audio stream was linked
  bool has_audio = false, has_video = false, no_more_pads = false;
  std::string fatal;
  std::vector<AsrWord> words;
  // Streaming thread only (the probe and the sync handler run on the audio branch's thread):
  GstClockTime stream_base = GST_CLOCK_TIME_NONE;  // PTS of the first buffer the recogniser got
  GstClockTime utt_base = GST_CLOCK_TIME_NONE;     // PTS of the first buffer of the current utterance
  bool utt_pending = true;
  std::atomic<int64_t> samples{0};
  std::atomic<int64_t> last_progress_ns{0};
};

/// Records the time base of the stream and of each utterance, and that audio is flowing.
GstPadProbeReturn on_buffer(GstPad*, GstPadProbeInfo* info, gpointer user) {
  auto* st = static_cast<AsrState*>(user);
  GstBuffer* b = GST_PAD_PROBE_INFO_BUFFER(info);
  const GstClockTime pts = GST_BUFFER_PTS(b);
  const GstClockTime at =
      GST_CLOCK_TIME_IS_VALID(pts)
          ? pts
          : gst_util_uint64_scale(static_cast<guint64>(st->samples.load()), GST_SECOND, 16000);
  if (!GST_CLOCK_TIME_IS_VALID(st->stream_base)) st->stream_base = at;
  if (st->utt_pending) {
    st->utt_base = at;
    st->utt_pending = false;
  }
  st->samples.fetch_add(static_cast<int64_t>(gst_buffer_get_size(b) / 2));
  st->last_progress_ns.store(now_ns());
  return GST_PAD_PROBE_OK;
}

/// Final hypotheses: read the word segments from the decoder now, on the streaming thread, before the next
/// buffer starts another utterance. Partial hypotheses are dropped (they come every 100 ms).
GstBusSyncReply on_sync_message(GstBus*, GstMessage* m, gpointer user) {
  auto* st = static_cast<AsrState*>(user);
  if (GST_MESSAGE_TYPE(m) != GST_MESSAGE_ELEMENT) return GST_BUS_PASS;
  const GstStructure* s = gst_message_get_structure(m);
  if (!s || !gst_structure_has_name(s, "pocketsphinx")) return GST_BUS_PASS;
  gboolean final = FALSE;
  gst_structure_get_boolean(s, "final", &final);
  if (!final) return GST_BUS_DROP;
  GstElement* ps = GST_ELEMENT(GST_MESSAGE_SRC(m));
  ps_decoder_t* dec = nullptr;
  g_object_get(ps, "decoder", &dec, nullptr);
  if (dec) {
    // Frames are 10 ms. pocketsphinx 5prealpha counts them from the start of the stream; versions that count
    // from the start of each utterance would place words before the utterance began: then use its start.
    std::vector<AsrWord> utt;
    const auto base =
        static_cast<int64_t>(GST_CLOCK_TIME_IS_VALID(st->stream_base) ? st->stream_base : 0) / 1000;
    const auto ubase = static_cast<int64_t>(GST_CLOCK_TIME_IS_VALID(st->utt_base) ? st->utt_base : 0) / 1000;
    bool relative = false;
    for (ps_seg_t* it = ps_seg_iter(dec); it; it = ps_seg_next(it)) {
      const char* w = ps_seg_word(it);
      std::string word = clean_asr_word(w ? w : "");
      if (word.empty()) continue;
      int sf = 0, ef = 0;
      ps_seg_frames(it, &sf, &ef);
      if (utt.empty() && base + int64_t{sf} * 10000 < ubase - 50000) relative = true;
      const int64_t b0 = relative ? ubase : base;
      utt.push_back({b0 + int64_t{sf} * 10000, b0 + int64_t{ef + 1} * 10000, std::move(word)});
    }
    // The property hands out a reference (ps_retain); the boxed type's free is ps_free.
    static const GType t = g_type_from_name("PSDecoder");
    if (t)
      g_boxed_free(t, dec);
    else
      ps_free(dec);
    std::lock_guard<std::mutex> lk(st->mu);
    st->words.insert(st->words.end(), std::make_move_iterator(utt.begin()),
                     std::make_move_iterator(utt.end()));
  }
  st->utt_pending = true;
  return GST_BUS_DROP;
}

/// Demuxed video is not decoded: expose it as it is (it goes to a fakesink).
gint on_autoplug_select(GstElement*, GstPad*, GstCaps*, GstElementFactory* f, gpointer) {
  constexpr gint kTry = 0, kExpose = 1;  // GstAutoplugSelectResult (not in the public headers)
  const bool video_decoder = gst_element_factory_list_is_type(f, GST_ELEMENT_FACTORY_TYPE_DECODER |
                                                                     GST_ELEMENT_FACTORY_TYPE_MEDIA_VIDEO) ||
                             gst_element_factory_list_is_type(
                                 f, GST_ELEMENT_FACTORY_TYPE_DECODER | GST_ELEMENT_FACTORY_TYPE_MEDIA_IMAGE);
  return video_decoder ? kExpose : kTry;
}

void on_pad_added(GstElement*, GstPad* pad, gpointer user) {
  auto* st = static_cast<AsrState*>(user);
  GstCaps* caps = gst_pad_get_current_caps(pad);
  if (!caps) caps = gst_pad_query_caps(pad, nullptr);
  const std::string name = gst_structure_get_name(gst_caps_get_structure(caps, 0));
  gst_caps_unref(caps);
  std::lock_guard<std::mutex> lk(st->mu);
  try {
    if (name == "audio/x-raw" && !st->has_audio) {
      st->has_audio = true;
      GstElement* filter = make_element("capsfilter");
      GstCaps* want = gst_caps_new_simple("audio/x-raw", "format", G_TYPE_STRING, "S16LE", "rate", G_TYPE_INT,
                                          16000, "channels", G_TYPE_INT, 1, nullptr);
      g_object_set(filter, "caps", want, nullptr);
      gst_caps_unref(want);
      st->ps = make_element("pocketsphinx");
      GstPad* sinkpad = gst_element_get_static_pad(st->ps, "sink");
      gst_pad_add_probe(sinkpad, GST_PAD_PROBE_TYPE_BUFFER, on_buffer, st, nullptr);
      gst_object_unref(sinkpad);
      attach_chain(
          st->pipeline, pad,
          {make_element("audioconvert"), make_element("audioresample"), filter, st->ps, make_fakesink()});
    } else {
      if (name.rfind("video/", 0) == 0 || name.rfind("image/", 0) == 0) st->has_video = true;
      attach_chain(st->pipeline, pad, {make_fakesink()});
    }
  } catch (const std::exception& e) {
    st->fatal = e.what();
  }
}

void on_no_more_pads(GstElement*, gpointer user) {
  auto* st = static_cast<AsrState*>(user);
  std::lock_guard<std::mutex> lk(st->mu);
  st->no_more_pads = true;
}

}  // namespace

bool asr_available() {
  ensure_gstreamer();
  GstElementFactory* f = gst_element_factory_find("pocketsphinx");
  if (f) gst_object_unref(f);
  return f != nullptr;
}

std::string clean_asr_word(const std::string& w) {
  if (w.empty() || w[0] == '<' || w[0] == '[' || w[0] == '+') return "";
  std::string out = w;
  const size_t paren = out.find('(');
  if (paren != std::string::npos && paren > 0 && out.back() == ')') out.resize(paren);
  return out;
}

std::vector<TextSegment> words_to_segments(const std::vector<AsrWord>& words, double pause_seconds,
                                           double max_segment_seconds) {
  const auto pause = static_cast<int64_t>(pause_seconds * 1e6);
  const auto longest = static_cast<int64_t>(max_segment_seconds * 1e6);
  std::vector<TextSegment> out;
  for (const auto& w : words) {
    if (out.empty() || w.start_us - out.back().end_us >= pause || w.end_us - out.back().start_us > longest) {
      out.push_back({w.start_us, w.end_us, w.word});
    } else {
      out.back().text += " " + w.word;
      out.back().end_us = std::max(out.back().end_us, w.end_us);
    }
  }
  return out;
}

AsrResult recognise_speech(const std::string& uri, const AsrOptions& opt, const std::atomic<bool>* stop) {
  ensure_gstreamer();
  static std::once_flag quiet;
  std::call_once(quiet, [] { err_set_logfp(nullptr); });  // pocketsphinx logs its whole configuration
  if (!asr_available())
    throw DecodeError(
        "asr_unavailable",
        "the GStreamer element 'pocketsphinx' is not installed (Debian: gstreamer1.0-pocketsphinx)");

  const auto t0 = Clock::now();
  PipelineHolder ph;
  auto state = std::make_shared<AsrState>();
  ph.keep = state;
  AsrState& st = *state;
  ph.p = gst_pipeline_new(nullptr);
  st.pipeline = ph.p;
  GstElement* dec = make_element("uridecodebin");
  g_object_set(dec, "uri", uri.c_str(), nullptr);
  gst_bin_add(GST_BIN(ph.p), dec);
  g_signal_connect(dec, "autoplug-select", G_CALLBACK(on_autoplug_select), nullptr);
  g_signal_connect(dec, "pad-added", G_CALLBACK(on_pad_added), &st);
  g_signal_connect(dec, "no-more-pads", G_CALLBACK(on_no_more_pads), &st);
  ph.bus = gst_element_get_bus(ph.p);
  gst_bus_set_sync_handler(ph.bus, on_sync_message, &st, nullptr);

  AsrResult r;
  auto finish = [&] {
    std::lock_guard<std::mutex> lk(st.mu);
    r.words = st.words;
    r.has_audio = st.has_audio;
    r.has_video = st.has_video;
    r.audio_seconds = static_cast<double>(st.samples.load()) / 16000.0;
    r.wall_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    std::stable_sort(r.words.begin(), r.words.end(),
                     [](const AsrWord& a, const AsrWord& b) { return a.start_us < b.start_us; });
    return r;
  };

  auto throw_bus_error = [&](GstMessage* m) {
    GError* err = nullptr;
    gchar* dbg = nullptr;
    gst_message_parse_error(m, &err, &dbg);
    const std::string kind = error_kind(err), reason = std::string("speech recognition: ") + err->message;
    g_error_free(err);
    g_free(dbg);
    gst_message_unref(m);
    throw DecodeError(kind, reason);
  };

  st.last_progress_ns.store(now_ns());
  if (gst_element_set_state(ph.p, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    if (GstMessage* m = gst_bus_pop_filtered(ph.bus, GST_MESSAGE_ERROR)) throw_bus_error(m);
    throw DecodeError("decode_error", "speech recognition: the pipeline would not start");
  }
  const auto timeout_ns = static_cast<int64_t>(opt.timeout_seconds * 1e9);
  bool streams_known = false;
  for (;;) {
    if (stop && stop->load()) return finish();
    GstMessage* m = gst_bus_timed_pop_filtered(
        ph.bus, 20 * GST_MSECOND, static_cast<GstMessageType>(GST_MESSAGE_ERROR | GST_MESSAGE_EOS));
    if (m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) throw_bus_error(m);
    if (m) {  // EOS: every final hypothesis was posted (the element finishes its utterance on EOS)
      gst_message_unref(m);
      return finish();
    }
    {
      std::lock_guard<std::mutex> lk(st.mu);
      if (!st.fatal.empty()) throw DecodeError("asr_unavailable", st.fatal);
      if (!streams_known && st.no_more_pads) {
        streams_known = true;
        if (!st.has_audio || (opt.require_video && !st.has_video)) {
          st.last_progress_ns.store(now_ns());
          break;
        }
      }
    }
    if (now_ns() - st.last_progress_ns.load() > timeout_ns) {
      ph.hung = true;
      std::ostringstream why;
      why << "speech recognition stalled: no audio for " << opt.timeout_seconds << " s";
      throw DecodeError("timeout", why.str());
    }
  }
  return finish();
}

}  // namespace vatt::nodes
