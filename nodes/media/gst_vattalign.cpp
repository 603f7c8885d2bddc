// The `vattalign` GStreamer element (see gst_vattalign.h): collects timed text segments, aligns them to clip
// windows with align_text() at EOS, and pushes one JSON text buffer per clip.
#include "nodes/media/gst_vattalign.h"

#include <gst/gst.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nodes/media/subtitles.h"

GST_DEBUG_CATEGORY_STATIC(vatt_align_debug);
#define GST_CAT_DEFAULT vatt_align_debug

namespace {

using vatt::nodes::TextSegment;

struct VattAlign {
  GstElement parent;
  GstPad* sinkpad;
  GstPad* srcpad;
  guint64 clip_duration;
  guint64 stride;
  gint candidates;
  guint64 media_duration;
  std::vector<TextSegment>* segments;  // owned; a C++ object in a GObject instance lives behind a pointer
};

struct VattAlignClass {
  GstElementClass parent_class;
};

enum { PROP_0, PROP_CLIP_DURATION, PROP_STRIDE, PROP_CANDIDATES, PROP_MEDIA_DURATION };

GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
                            GST_STATIC_CAPS("text/x-raw, format = (string) { utf8, pango-markup }"));
GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS("text/x-raw, format = (string) utf8"));

GType vatt_align_get_type();
G_DEFINE_TYPE(VattAlign, vatt_align, GST_TYPE_ELEMENT)

VattAlign* self_of(gpointer p) {
  return reinterpret_cast<VattAlign*>(p);
}

/// subparse gives pango markup: drop tags and decode the five XML entities.
std::string plain_text(const std::string& s) {
  std::string out;
  bool tag = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '<') tag = true;
    if (!tag) {
      if (c == '&') {
        static const std::pair<const char*, char> ents[] = {
            {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
        bool done = false;
        for (const auto& [e, ch] : ents) {
          if (s.compare(i, std::strlen(e), e) == 0) {
            out += ch;
            i += std::strlen(e) - 1;
            done = true;
            break;
          }
        }
        if (done) continue;
      }
      out += c == '\n' || c == '\r' || c == '\t' ? ' ' : c;
    }
    if (c == '>') tag = false;
  }
  std::string collapsed;
  for (char c : out) {
    if (c == ' ' && (collapsed.empty() || collapsed.back() == ' ')) continue;
    collapsed += c;
  }
  while (!collapsed.empty() && collapsed.back() == ' ') collapsed.pop_back();
  return collapsed;
}

GstFlowReturn push_clips(VattAlign* self) {
  const auto& segs = *self->segments;
  const int64_t clip_us = static_cast<int64_t>(self->clip_duration / 1000);
  const int64_t stride_us = self->stride ? static_cast<int64_t>(self->stride / 1000) : clip_us;
  int64_t end_us = 0;
  if (self->media_duration) {
    end_us = static_cast<int64_t>(self->media_duration / 1000);
  } else {
    for (const auto& s : segs) end_us = std::max(end_us, s.end_us);
  }
  GstFlowReturn ret = GST_FLOW_OK;
  for (int64_t k = 0; ret == GST_FLOW_OK; ++k) {
    const int64_t start = k * stride_us;
    // With a known media length only whole clips; otherwise every window that holds some text.
    if (self->media_duration ? start + clip_us > end_us : start >= end_us) break;
    nlohmann::json cands = nlohmann::json::array();
    for (const auto& t : vatt::nodes::align_text(segs, start, start + clip_us, self->candidates))
      cands.push_back({{"start_us", t.start_us}, {"end_us", t.end_us}, {"text", t.text}});
    const std::string line =
        nlohmann::json{{"clip", k}, {"start_us", start}, {"end_us", start + clip_us}, {"candidates", cands}}
            .dump() +
        "\n";
    GstBuffer* buf = gst_buffer_new_memdup(line.data(), line.size());
    GST_BUFFER_PTS(buf) = static_cast<GstClockTime>(start) * 1000;
    GST_BUFFER_DURATION(buf) = static_cast<GstClockTime>(clip_us) * 1000;
    ret = gst_pad_push(self->srcpad, buf);
  }
  return ret;
}

GstFlowReturn chain(GstPad*, GstObject* parent, GstBuffer* buf) {
  VattAlign* self = self_of(parent);
  if (GST_BUFFER_PTS_IS_VALID(buf)) {
    GstMapInfo mi;
    if (gst_buffer_map(buf, &mi, GST_MAP_READ)) {
      const std::string text = plain_text(std::string(reinterpret_cast<const char*>(mi.data), mi.size));
      gst_buffer_unmap(buf, &mi);
      const auto start = static_cast<int64_t>(GST_BUFFER_PTS(buf) / 1000);
      const auto dur =
          GST_BUFFER_DURATION_IS_VALID(buf) ? static_cast<int64_t>(GST_BUFFER_DURATION(buf) / 1000) : 0;
      if (!text.empty()) self->segments->push_back({start, start + dur, text});
    }
  } else {
    GST_WARNING_OBJECT(self, "dropping a text buffer without a timestamp");
  }
  gst_buffer_unref(buf);
  return GST_FLOW_OK;
}

gboolean sink_event(GstPad* pad, GstObject* parent, GstEvent* event) {
  VattAlign* self = self_of(parent);
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_CAPS: {
      gst_event_unref(event);
      GstCaps* caps = gst_caps_new_simple("text/x-raw", "format", G_TYPE_STRING, "utf8", nullptr);
      const gboolean ok = gst_pad_push_event(self->srcpad, gst_event_new_caps(caps));
      gst_caps_unref(caps);
      return ok;
    }
    case GST_EVENT_EOS:
      std::stable_sort(self->segments->begin(), self->segments->end(),
                       [](const TextSegment& a, const TextSegment& b) { return a.start_us < b.start_us; });
      push_clips(self);
      self->segments->clear();
      return gst_pad_event_default(pad, parent, event);
    case GST_EVENT_GAP:  // sparse text streams send gaps; our output is produced at EOS
      gst_event_unref(event);
      return TRUE;
    default:
      return gst_pad_event_default(pad, parent, event);
  }
}

void set_property(GObject* object, guint id, const GValue* value, GParamSpec* pspec) {
  VattAlign* self = self_of(object);
  switch (id) {
    case PROP_CLIP_DURATION:
      self->clip_duration = g_value_get_uint64(value);
      break;
    case PROP_STRIDE:
      self->stride = g_value_get_uint64(value);
      break;
    case PROP_CANDIDATES:
      self->candidates = g_value_get_int(value);
      break;
    case PROP_MEDIA_DURATION:
      self->media_duration = g_value_get_uint64(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
}

void get_property(GObject* object, guint id, GValue* value, GParamSpec* pspec) {
  VattAlign* self = self_of(object);
  switch (id) {
    case PROP_CLIP_DURATION:
      g_value_set_uint64(value, self->clip_duration);
      break;
    case PROP_STRIDE:
      g_value_set_uint64(value, self->stride);
      break;
    case PROP_CANDIDATES:
      g_value_set_int(value, self->candidates);
      break;
    case PROP_MEDIA_DURATION:
      g_value_set_uint64(value, self->media_duration);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
}

void finalize(GObject* object) {
  delete self_of(object)->segments;
  G_OBJECT_CLASS(vatt_align_parent_class)->finalize(object);
}

void vatt_align_class_init(VattAlignClass* klass) {
  GObjectClass* gobject = G_OBJECT_CLASS(klass);
  GstElementClass* element = GST_ELEMENT_CLASS(klass);
  gobject->set_property = set_property;
  gobject->get_property = get_property;
  gobject->finalize = finalize;
  const auto flags = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_property(
      gobject, PROP_CLIP_DURATION,
      g_param_spec_uint64("clip-duration", "Clip duration", "Clip length in nanoseconds", 1, G_MAXUINT64,
                          3200 * GST_MSECOND, flags));
  g_object_class_install_property(
      gobject, PROP_STRIDE,
      g_param_spec_uint64("stride", "Stride", "Distance between clip starts in ns (0 = clip-duration)", 0,
                          G_MAXUINT64, 0, flags));
  g_object_class_install_property(
      gobject, PROP_CANDIDATES,
      g_param_spec_int("candidates", "Candidates", "Texts per clip: own words + nearest segments", 1, 64, 5,
                       flags));
  g_object_class_install_property(
      gobject, PROP_MEDIA_DURATION,
      g_param_spec_uint64("media-duration", "Media duration",
                          "Length of the media in ns: whole clips up to it (0 = up to the last segment)", 0,
                          G_MAXUINT64, 0, flags));
  gst_element_class_set_static_metadata(element, "VATT text aligner", "Filter/Text",
                                        "Aligns timed text segments to clip windows (MIL-NCE candidates)",
                                        "vatt");
  gst_element_class_add_static_pad_template(element, &sink_template);
  gst_element_class_add_static_pad_template(element, &src_template);
  GST_DEBUG_CATEGORY_INIT(vatt_align_debug, "vattalign", 0, "vatt text alignment");
}

void vatt_align_init(VattAlign* self) {
  self->sinkpad = gst_pad_new_from_static_template(&sink_template, "sink");
  gst_pad_set_chain_function(self->sinkpad, chain);
  gst_pad_set_event_function(self->sinkpad, sink_event);
  gst_element_add_pad(GST_ELEMENT(self), self->sinkpad);
  self->srcpad = gst_pad_new_from_static_template(&src_template, "src");
  gst_pad_use_fixed_caps(self->srcpad);
  gst_element_add_pad(GST_ELEMENT(self), self->srcpad);
  self->clip_duration = 3200 * GST_MSECOND;
  self->stride = 0;
  self->candidates = 5;
  self->media_duration = 0;
  self->segments = new std::vector<TextSegment>();
}

}  // namespace

namespace vatt::nodes {

/// For the plugin entry point (gst_vattalign_plugin.cpp).
gboolean vattalign_plugin_init(GstPlugin* plugin) {
  return gst_element_register(plugin, "vattalign", GST_RANK_NONE, vatt_align_get_type());
}

void register_vattalign() {
  if (GstElementFactory* f = gst_element_factory_find("vattalign")) {
    gst_object_unref(f);  // already there (registered before, or loaded from GST_PLUGIN_PATH)
    return;
  }
  gst_element_register(nullptr, "vattalign", GST_RANK_NONE, vatt_align_get_type());
}

}  // namespace vatt::nodes
