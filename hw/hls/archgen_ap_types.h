// archgen_ap_types.h: ap_int.h and hls_stream.h with the open-source headers' own warnings
// silenced; every kernel includes this instead of including them directly.
#pragma once

// The open-source ap_types headers trip -Wall -Wextra inside themselves (copy constructors,
// reads of default-constructed values); their diagnostics are silenced at their source so
// that the kernels' own code is still checked (every kernel includes this header first).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wdeprecated-copy"
#pragma GCC diagnostic ignored "-Wint-in-bool-context"
#pragma GCC diagnostic ignored "-Wtype-limits"
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include "ap_int.h"
#include "hls_stream.h"
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
