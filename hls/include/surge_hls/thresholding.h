// FINN Thresholding (multi-threshold activation) on an integer stream.
//
// Math: out[c] = #{t in T[c] : x[c] >= t} + BIAS for every element; BIAS is FINN's ActVal (CNV's 8-bit
// input layer: 255 thresholds, BIAS = -128 -> INT8 out). The result is written as OUT_W bits, two's
// complement when BIAS < 0.
// Stream order: a vector is CH channels in CH/PE beats (the channel fold); lane p of beat nf is channel
// c = nf*PE + p. Images of a batch and pixels of an image are just more vectors: `vectors` counts them all.
// Thresholds: thresholds[p][nf][t] = T[nf*PE + p][t], ascending per channel, int32 (x is an integer, so a
// fractional threshold t is passed as ceil(t)).
//
// Design: one beat per cycle (II=1), PE lanes and all NT comparisons unrolled -- FINN's unrolled
// Thresholding_Batch. Thresholds are partitioned on the PE and threshold dimensions so every comparator has
// its own constant; synthesis then trims each compare (done here in 64 bits, exact for any IN_W <= 32 against
// any int32 threshold) to the input width. A threshold below the input range is always met and one above it
// never, so callers clamp out-of-int32 thresholds to INT32_MIN / INT32_MAX without changing the output
// (exact for IN_W < 32, whose inputs never reach those two values).
#ifndef SURGE_HLS_THRESHOLDING_H
#define SURGE_HLS_THRESHOLDING_H

#include "common.h"

namespace surge_hls {

template <unsigned CH, unsigned PE, unsigned IN_W, bool IN_SIGNED, unsigned NT, unsigned OUT_W, int BIAS>
void thresholding(hls::stream<ap_uint<PE * IN_W>>& in, hls::stream<ap_uint<PE * OUT_W>>& out,
                  const int32_t thresholds[PE][CH / PE][NT], unsigned vectors) {
#pragma HLS INLINE off
#pragma HLS ARRAY_PARTITION variable=thresholds complete dim=1
#pragma HLS ARRAY_PARTITION variable=thresholds complete dim=3
    static_assert(PE >= 1 && CH % PE == 0, "thresholding: PE must divide CH");
    static_assert(NT >= 1, "thresholding: needs at least one threshold per channel");
    static_assert(IN_W >= 1 && IN_W <= 32 && OUT_W >= 1 && OUT_W <= 32, "thresholding: element widths 1..32");
    SURGE_HLS_BEAT_FITS(PE * IN_W);
    SURGE_HLS_BEAT_FITS(PE * OUT_W);
    constexpr unsigned NF = CH / PE;

    for (unsigned v = 0; v < vectors; v++) {
        for (unsigned nf = 0; nf < NF; nf++) {
#pragma HLS PIPELINE II=1
            const ap_uint<PE * IN_W> x = in.read();
            ap_uint<PE * OUT_W> y = 0;
            for (unsigned p = 0; p < PE; p++) {
#pragma HLS UNROLL
                const int64_t value = lane_value<IN_W, IN_SIGNED>(x, p);
                int count = 0;
                for (unsigned t = 0; t < NT; t++) {
#pragma HLS UNROLL
                    count += value >= static_cast<int64_t>(thresholds[p][nf][t]) ? 1 : 0;
                }
                set_lane<OUT_W>(y, p, count + BIAS);
            }
            out.write(y);
        }
    }
}

}  // namespace surge_hls

#endif  // SURGE_HLS_THRESHOLDING_H
