// FINN ConvolutionInputGenerator (sliding window generator, SWG), no padding.
//
// Input: per image, the NHWC pixels: IFM_H*IFM_W pixels row-major, each C channels in C/SIMD beats of SIMD
// channels (the channel fold cf). Output: per image, the OFM_H*OFM_W output pixels (oy, ox) row-major; per
// output pixel the K*K*C window in beats of SIMD channels, window element (kh, kw, c) being
// x[oy*SH + kh*DH][ox*SW + kw*DW][c]. Beat order within a window:
//   DEPTHWISE == false: (kh, kw, cf) -- im2col order, the column order of the MVAU's weight matrix;
//   DEPTHWISE == true:  (cf, kh, kw) -- all K*K beats of one channel fold together, as the max-pool consumes.
// Exactly surge_hw.rtl.golden.sliding_window.
//
// Design: the kernel buffers one whole image (IFM_H*IFM_W*C/SIMD beats), then reads the windows out of it:
// simple, synthesizable and obviously in order, at the cost of memory (FINN's RTL SWG keeps only K rows in
// line buffers) and of overlap (an image's read and write phases follow one another, so it takes in_beats +
// out_beats cycles instead of max of the two). The buffer is one beat per address, never partitioned, so it
// maps to block RAM; each phase is one II=1 loop.
#ifndef SURGE_HLS_SLIDING_WINDOW_H
#define SURGE_HLS_SLIDING_WINDOW_H

#include "common.h"

namespace surge_hls {

template <unsigned C, unsigned IFM_H, unsigned IFM_W, unsigned OFM_H, unsigned OFM_W, unsigned KH, unsigned KW,
          unsigned SH, unsigned SW, unsigned DH, unsigned DW, unsigned SIMD, unsigned ELEM_W, bool DEPTHWISE>
void sliding_window(hls::stream<ap_uint<SIMD * ELEM_W>>& in, hls::stream<ap_uint<SIMD * ELEM_W>>& out,
                    unsigned images) {
#pragma HLS INLINE off
    static_assert(SIMD >= 1 && C % SIMD == 0, "sliding_window: SIMD must divide C");
    static_assert(KH >= 1 && KW >= 1 && SH >= 1 && SW >= 1 && DH >= 1 && DW >= 1, "sliding_window: empty window");
    static_assert((IFM_H - (DH * (KH - 1) + 1)) / SH + 1 == OFM_H && IFM_H >= DH * (KH - 1) + 1,
                  "sliding_window: OFM_H does not follow from IFM_H, KH, SH, DH (no padding)");
    static_assert((IFM_W - (DW * (KW - 1) + 1)) / SW + 1 == OFM_W && IFM_W >= DW * (KW - 1) + 1,
                  "sliding_window: OFM_W does not follow from IFM_W, KW, SW, DW (no padding)");
    SURGE_HLS_BEAT_FITS(SIMD * ELEM_W);
    constexpr unsigned CF = C / SIMD;
    constexpr unsigned IN_BEATS = IFM_H * IFM_W * CF;
    constexpr unsigned OUT_BEATS = OFM_H * OFM_W * KH * KW * CF;

    ap_uint<SIMD * ELEM_W> image[IN_BEATS];  // one beat per address: block RAM

    for (unsigned n = 0; n < images; n++) {
        for (unsigned i = 0; i < IN_BEATS; i++) {
#pragma HLS PIPELINE II=1
            image[i] = in.read();
        }
        // Window counters, advanced innermost first: kw, kh, cf (depthwise) or cf, kw, kh (im2col); then ox, oy.
        unsigned oy = 0, ox = 0, kh = 0, kw = 0, cf = 0;
        for (unsigned i = 0; i < OUT_BEATS; i++) {
#pragma HLS PIPELINE II=1
            const unsigned row = oy * SH + kh * DH;
            const unsigned col = ox * SW + kw * DW;
            out.write(image[(row * IFM_W + col) * CF + cf]);
            bool window_done;
            if (DEPTHWISE) {
                window_done = false;
                if (++kw == KW) {
                    kw = 0;
                    if (++kh == KH) {
                        kh = 0;
                        if (++cf == CF) {
                            cf = 0;
                            window_done = true;
                        }
                    }
                }
            } else {
                window_done = false;
                if (++cf == CF) {
                    cf = 0;
                    if (++kw == KW) {
                        kw = 0;
                        if (++kh == KH) {
                            kh = 0;
                            window_done = true;
                        }
                    }
                }
            }
            if (window_done && ++ox == OFM_W) {
                ox = 0;
                oy++;
            }
        }
    }
}

}  // namespace surge_hls

#endif  // SURGE_HLS_SLIDING_WINDOW_H
