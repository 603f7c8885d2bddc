// Stand-in for Gloo's <gloo/context.h>: see gloo/shim.h.
#pragma once
#include "gloo/shim.h"
