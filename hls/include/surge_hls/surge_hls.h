// surge_hls: Vitis-HLS-style C++ kernels on hls::stream, one per layer kind of the accelerator IR
// (surge_hw/rtl/ir.py), bit-exact with the numpy golden model (surge_hw/rtl/golden.py):
//   thresholding.h    FINN Thresholding            (ir.ThresholdLayer)
//   mvau.h            binary and integer MVAU       (ir.BinaryMVAU, ir.IntegerMVAU)
//   sliding_window.h  ConvolutionInputGenerator     (ir.SlidingWindow)
//   maxpool.h         Pool(MaxPool)                 (ir.MaxPool)
//   dwc.h             width converter with frames   (surge_hw.rtl.packing.pack_frames / unpack_frames)
// Include this header (or any surge_hls header) before anything else that includes ap_int.h: common.h raises
// AP_INT_MAX_W to 4096 bits for wide beats (see there). Compile with -Wno-unknown-pragmas outside Vitis.
#ifndef SURGE_HLS_H
#define SURGE_HLS_H

#include "common.h"
#include "dwc.h"
#include "maxpool.h"
#include "mvau.h"
#include "sliding_window.h"
#include "thresholding.h"

#endif  // SURGE_HLS_H
