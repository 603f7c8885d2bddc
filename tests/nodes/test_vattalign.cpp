// The `vattalign` GStreamer element: registered in-process and loadable as a plugin by
// gst-launch-1.0; on subparse output of a generated .srt it gives one JSON line per clip with the same
// candidates as align_text().
//
//   filesrc(narrated.srt) -> subparse -> vattalign -> appsink | fdsink
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "nodes/media/decoder.h"
#include "nodes/media/subtitles.h"
#include "tests/nodes/media_fixture.h"

namespace vatt::nodes {
namespace {

using nlohmann::json;

/// What the element should say for the generated narrated.srt (10 s of media, 3.2 s clips).
std::vector<json> expected_lines(int64_t media_us) {
  const auto segs = load_subtitles(test::media("narrated.srt"));
  std::vector<json> out;
  for (int64_t k = 0; k * 3200000 + 3200000 <= media_us; ++k) {
    json c = json::array();
    for (const auto& t : align_text(segs, k * 3200000, (k + 1) * 3200000, 5))
      c.push_back({{"start_us", t.start_us}, {"end_us", t.end_us}, {"text", t.text}});
    out.push_back({{"clip", k}, {"start_us", k * 3200000}, {"end_us", (k + 1) * 3200000}, {"candidates", c}});
  }
  return out;
}

TEST(VattAlign, InProcessElementGivesOneLinePerClipAsAlignText) {
  ensure_gstreamer();  // registers vattalign
  GError* err = nullptr;
  const std::string desc =
      "filesrc location=\"" + test::media("narrated.srt") +
      "\" ! subparse ! vattalign media-duration=10000000000 ! appsink name=out sync=false";
  GstElement* p = gst_parse_launch(desc.c_str(), &err);
  ASSERT_TRUE(p) << (err ? err->message : "?");
  GstElement* sink = gst_bin_get_by_name(GST_BIN(p), "out");
  gst_element_set_state(p, GST_STATE_PLAYING);
  std::vector<json> got;
  std::vector<GstClockTime> pts;
  while (GstSample* s = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 10 * GST_SECOND)) {
    GstBuffer* b = gst_sample_get_buffer(s);
    GstMapInfo mi;
    gst_buffer_map(b, &mi, GST_MAP_READ);
    got.push_back(json::parse(std::string(reinterpret_cast<const char*>(mi.data), mi.size)));
    pts.push_back(GST_BUFFER_PTS(b));
    gst_buffer_unmap(b, &mi);
    gst_sample_unref(s);
  }
  gst_element_set_state(p, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(p);
  const auto want = expected_lines(10000000);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got, want);
  EXPECT_EQ(pts, (std::vector<GstClockTime>{0, 3200 * GST_MSECOND, 6400 * GST_MSECOND}));
  EXPECT_EQ(got[1]["candidates"][0]["text"], "now we cut the onion");
}

TEST(VattAlign, GstLaunchLoadsThePluginFromGstPluginPath) {
  const std::string cmd = "GST_PLUGIN_PATH='" + std::string(VATT_BINARY_DIR) +
                          "/nodes' gst-launch-1.0 -q filesrc location='" + test::media("narrated.srt") +
                          "' ! subparse ! vattalign media-duration=10000000000 ! fdsink 2>&1";
  FILE* f = popen(cmd.c_str(), "r");
  ASSERT_TRUE(f);
  std::string out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
  ASSERT_EQ(pclose(f), 0) << out;
  std::vector<json> got;
  for (size_t a = 0, b; (b = out.find('\n', a)) != std::string::npos; a = b + 1)
    got.push_back(json::parse(out.substr(a, b - a)));
  EXPECT_EQ(got, expected_lines(10000000)) << out;
}

}  // namespace
}  // namespace vatt::nodes
