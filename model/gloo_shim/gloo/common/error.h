// Stand-in for Gloo's <gloo/common/error.h>: see gloo/shim.h.
#pragma once
#include "gloo/shim.h"
