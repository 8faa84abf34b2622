// FINN Pool (Function=MaxPool) after a depthwise sliding window.
//
// Math: out[c] = max_k x[k, c] over the K_ELEMS = K*K window elements of channel c; signed compare when
// SIGNED. On 1-bit values the unsigned maximum is the OR of the window (a binarized max-pool).
// Stream order: per output pixel, for each of the C/PE channel folds, K_ELEMS beats of PE channels in (the
// depthwise window order (cf, kh, kw)), then one beat of their lane-wise maxima out, so the output is the
// pixel's C channels in C/PE beats, channel order restored. `pixels` counts output pixels of all images.
//
// Design: one input beat per cycle (II=1), PE running maxima in registers (partitioned), cleared by the
// first beat of each window; no buffer, since the window arrives already grouped per channel fold.
#ifndef SURGE_HLS_MAXPOOL_H
#define SURGE_HLS_MAXPOOL_H

#include "common.h"

namespace surge_hls {

template <unsigned C, unsigned PE, unsigned K_ELEMS, unsigned ELEM_W, bool SIGNED>
void maxpool(hls::stream<ap_uint<PE * ELEM_W>>& in, hls::stream<ap_uint<PE * ELEM_W>>& out, unsigned pixels) {
#pragma HLS INLINE off
    static_assert(PE >= 1 && C % PE == 0, "maxpool: PE must divide C");
    static_assert(K_ELEMS >= 1, "maxpool: empty pooling window");
    static_assert(ELEM_W >= 1 && ELEM_W <= 32, "maxpool: elements are 1..32 bits");
    SURGE_HLS_BEAT_FITS(PE * ELEM_W);
    constexpr unsigned CF = C / PE;

    ap_int<ELEM_W + 1> best[PE];  // one sign bit more holds both signed and unsigned ELEM_W-bit values
#pragma HLS ARRAY_PARTITION variable=best complete

    unsigned k = 0;  // window element within the channel fold; wraps, so the nest is perfect (flattened)
    for (unsigned n = 0; n < pixels; n++) {
        for (unsigned i = 0; i < CF * K_ELEMS; i++) {  // i = cf*K_ELEMS + k
#pragma HLS PIPELINE II=1
            const ap_uint<PE * ELEM_W> x = in.read();
            ap_uint<PE * ELEM_W> y = 0;
            for (unsigned p = 0; p < PE; p++) {
#pragma HLS UNROLL
                const ap_int<ELEM_W + 1> value = lane_value<ELEM_W, SIGNED>(x, p);
                if (k == 0 || value > best[p]) {
                    best[p] = value;
                }
                set_lane<ELEM_W>(y, p, best[p].to_int64());
            }
            if (++k == K_ELEMS) {
                out.write(y);
                k = 0;
            }
        }
    }
}

}  // namespace surge_hls

#endif  // SURGE_HLS_MAXPOOL_H
