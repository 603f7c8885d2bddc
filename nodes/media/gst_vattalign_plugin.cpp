// Plugin entry point: builds `vattalign` as libgstvattalign.so, so gst-launch-1.0 finds it with
// GST_PLUGIN_PATH=<build>/nodes (the vatt program registers the same element in-process instead).
#include <gst/gst.h>

namespace vatt::nodes {
gboolean vattalign_plugin_init(GstPlugin* plugin);
}

namespace {
gboolean plugin_init(GstPlugin* plugin) {
  return vatt::nodes::vattalign_plugin_init(plugin);
}
}  // namespace

#define PACKAGE "vatt"
GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, vattalign, "vatt text alignment to clip windows",
                  plugin_init, "0.1.0", "unknown", "vatt", "https://example.invalid/vatt")
