// Stand-in for Gloo's <gloo/transport/device.h>: see gloo/shim.h.
#pragma once
#include "gloo/shim.h"
