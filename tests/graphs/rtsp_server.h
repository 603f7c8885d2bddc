// An RTSP server on 127.0.0.1 in the calling process (gst-rtsp-server, its own GLib main loop on a thread),
// streaming a live green screen with a tone at 10 fps (VP8 + Opus), as the corpus' "green screen" videos look.
// take_down() withdraws the streams and disconnects every client (a camera gone); bring_back() offers them
// again. Used by the live-ingestion tests and benchmarks.
#pragma once

#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>

#include <string>
#include <thread>

namespace vatt::test {

class RtspServer {
 public:
  /// Serves `mounts` streams, /cam, /cam1, /cam2, ..., of `width` x `height` pixels.
  explicit RtspServer(int mounts = 1, int width = 160, int height = 120)
      : count_(mounts), width_(width), height_(height) {
    gst_init(nullptr, nullptr);
    ctx_ = g_main_context_new();
    loop_ = g_main_loop_new(ctx_, FALSE);
    server_ = gst_rtsp_server_new();
    g_object_set(server_, "address", "127.0.0.1", "service", "0", nullptr);
    mounts_ = gst_rtsp_server_get_mount_points(server_);
    mount();
    source_ = gst_rtsp_server_attach(server_, ctx_);
    port_ = gst_rtsp_server_get_bound_port(server_);
    thread_ = std::thread([this] { g_main_loop_run(loop_); });
  }
  ~RtspServer() {
    g_main_loop_quit(loop_);
    thread_.join();
    g_source_remove_by_id_in(ctx_, source_);
    g_object_unref(mounts_);
    g_object_unref(server_);
    g_main_loop_unref(loop_);
    g_main_context_unref(ctx_);
  }
  std::string uri(int i = 0) const { return "rtsp://127.0.0.1:" + std::to_string(port_) + path(i); }
  /// The server goes away: the stream is no longer offered and every client is disconnected.
  void take_down() {
    for (int i = 0; i < count_; ++i) gst_rtsp_mount_points_remove_factory(mounts_, path(i).c_str());
    gst_rtsp_server_client_filter(
        server_, [](GstRTSPServer*, GstRTSPClient*, gpointer) { return GST_RTSP_FILTER_REMOVE; }, nullptr);
  }
  void bring_back() { mount(); }

 private:
  static void g_source_remove_by_id_in(GMainContext* ctx, guint id) {
    if (GSource* s = g_main_context_find_source_by_id(ctx, id)) g_source_destroy(s);
  }
  static std::string path(int i) { return i ? "/cam" + std::to_string(i) : "/cam"; }
  void mount() {
    for (int i = 0; i < count_; ++i) mount_one(path(i));
  }
  void mount_one(const std::string& at) {
    GstRTSPMediaFactory* f = gst_rtsp_media_factory_new();
    // A live green screen with a tone, as the corpus' "green screen" videos look, at 10 fps.
    const std::string launch =
        "( videotestsrc is-live=true pattern=solid-color foreground-color=0xff00ff00 ! video/x-raw,width=" +
        std::to_string(width_) + ",height=" + std::to_string(height_) +
        ",framerate=10/1 ! vp8enc deadline=1 keyframe-max-dist=10 ! rtpvp8pay name=pay0 pt=96 "
        "audiotestsrc is-live=true wave=saw ! audio/x-raw,rate=48000,channels=1 ! audioconvert ! opusenc ! "
        "rtpopuspay name=pay1 pt=97 )";
    gst_rtsp_media_factory_set_launch(f, launch.c_str());
    gst_rtsp_media_factory_set_shared(f, TRUE);
    gst_rtsp_mount_points_add_factory(mounts_, at.c_str(), f);
  }
  int count_, width_, height_;
  GMainContext* ctx_;
  GMainLoop* loop_;
  GstRTSPServer* server_;
  GstRTSPMountPoints* mounts_;
  guint source_ = 0;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace vatt::test
