// Stand-in for Gloo's <gloo/rendezvous/store.h>: see gloo/shim.h.
#pragma once
#include "gloo/shim.h"
