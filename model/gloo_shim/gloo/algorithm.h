// Stand-in for Gloo's <gloo/algorithm.h>: see gloo/shim.h.
#pragma once
#include "gloo/shim.h"
