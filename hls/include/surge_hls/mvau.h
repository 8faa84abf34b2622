// Matrix-Vector-Activation Units (FINN MVAU / Matrix_Vector_Activate_Batch): a fully connected layer, or a
// conv layer run once per output pixel on the sliding window's K*K*C vectors.
//
// Folding: the MH x MW weight matrix is cut into NF = MH/PE neuron folds and SF = MW/SIMD synapse folds.
// Input: per vector, SF beats; lane j of beat sf is x[sf*SIMD + j]. Output: per vector, NF beats; lane p of
// beat nf is out[nf*PE + p] (OUT_W bits).
// Weights: weights[p][nf*SF + sf][k] is 64-bit word k (k < WWORDS = ceil(SIMD/64)) of the SIMD-bit slice
// W[nf*PE + p, sf*SIMD .. sf*SIMD+SIMD-1]; bit j of the slice is bit j%64 of word j/64, unused high bits 0.
// Bits are bipolar weights: 1 <-> +1, 0 <-> -1.
// Thresholds: thresholds[p][nf][t] = T[nf*PE + p][t], ascending, int32; with NT == 0 the array is [PE][NF][1]
// and ignored. An activation is out = #{t : acc >= t}; without thresholds out = acc. acc is an integer, so
// a fractional threshold t is passed as ceil(t), and one beyond int32 as INT32_MIN / INT32_MAX (same outputs).
//
// Schedule (as FINN's): one (nf, sf) tile per cycle (II=1), PE lanes and the SIMD dot product unrolled. The
// SF input beats of the current vector are read once, during nf == 0, and kept in a buffer for the other
// neuron folds, so the input stream is read MW/SIMD times per vector however MH is folded. The accumulator
// is cleared at sf == 0 and compared with the thresholds at sf == SF-1, where one output beat is written.
// Weights and thresholds are partitioned on the PE dimension (each lane its own memory) and on the word /
// threshold dimension (a whole slice, all thresholds per cycle); the input buffer is one beat per address.
#ifndef SURGE_HLS_MVAU_H
#define SURGE_HLS_MVAU_H

#include "common.h"

namespace surge_hls {
namespace detail {

// Output of one neuron: the threshold count, or the accumulator itself (two's complement in OUT_W bits).
template <unsigned NT>
struct mvau_activation {
    template <unsigned NF>
    static int64_t apply(int acc, const int32_t thresholds[][NF][NT], unsigned p, unsigned nf) {
#pragma HLS INLINE
        int count = 0;
        for (unsigned t = 0; t < NT; t++) {
#pragma HLS UNROLL
            count += acc >= thresholds[p][nf][t] ? 1 : 0;
        }
        return count;
    }
};

template <>
struct mvau_activation<0> {
    template <unsigned NF>
    static int64_t apply(int acc, const int32_t[][NF][1], unsigned, unsigned) {
#pragma HLS INLINE
        return acc;
    }
};

// XNOR-popcount of one SIMD-bit slice: matches between the input bits and the weight bits.
template <unsigned SIMD, unsigned WWORDS>
inline int xnor_popcount_slice(const ap_uint<SIMD>& x, const uint64_t w[WWORDS]) {
#pragma HLS INLINE
    int matches = 0;
    for (unsigned k = 0; k < WWORDS; k++) {
#pragma HLS UNROLL
        const unsigned lo = 64 * k;
        const unsigned len = min_u(64, SIMD - lo);
        const uint64_t xnor = ~(word_at(x, lo, len) ^ w[k]) & low_mask(len);  // unused bits must not count
        matches += static_cast<int>(popcount64(xnor));
    }
    return matches;
}

// Bipolar dot product of one slice: sum_j (w_j ? +x_j : -x_j).
template <unsigned SIMD, unsigned IN_W, bool IN_SIGNED, unsigned WWORDS>
inline int bipolar_dot_slice(const ap_uint<SIMD * IN_W>& x, const uint64_t w[WWORDS]) {
#pragma HLS INLINE
    int sum = 0;
    for (unsigned j = 0; j < SIMD; j++) {
#pragma HLS UNROLL
        const int value = static_cast<int>(lane_value<IN_W, IN_SIGNED>(x, j));
        sum += ((w[j / 64] >> (j % 64)) & 1) ? value : -value;
    }
    return sum;
}

struct xnor_slice {
    template <unsigned SIMD, unsigned IN_W, bool IN_SIGNED, unsigned WWORDS>
    static int dot(const ap_uint<SIMD * IN_W>& x, const uint64_t w[WWORDS]) {
#pragma HLS INLINE
        return xnor_popcount_slice<SIMD, WWORDS>(x, w);
    }
};

struct bipolar_slice {
    template <unsigned SIMD, unsigned IN_W, bool IN_SIGNED, unsigned WWORDS>
    static int dot(const ap_uint<SIMD * IN_W>& x, const uint64_t w[WWORDS]) {
#pragma HLS INLINE
        return bipolar_dot_slice<SIMD, IN_W, IN_SIGNED, WWORDS>(x, w);
    }
};

// The shared MVAU schedule; SLICE is the per-lane dot product of one (input beat, weight slice) pair.
template <class SLICE, unsigned MW, unsigned MH, unsigned SIMD, unsigned PE, unsigned IN_W, bool IN_SIGNED,
          unsigned NT, unsigned OUT_W, unsigned WWORDS>
void mvau_batch(hls::stream<ap_uint<SIMD * IN_W>>& in, hls::stream<ap_uint<PE * OUT_W>>& out,
                const uint64_t weights[PE][(MH / PE) * (MW / SIMD)][WWORDS],
                const int32_t thresholds[PE][MH / PE][NT > 0 ? NT : 1], unsigned vectors) {
#pragma HLS INLINE
    static_assert(SIMD >= 1 && MW % SIMD == 0, "mvau: SIMD must divide MW");
    static_assert(PE >= 1 && MH % PE == 0, "mvau: PE must divide MH");
    static_assert(WWORDS == (SIMD + 63) / 64, "mvau: WWORDS must be ceil(SIMD / 64)");
    static_assert(OUT_W >= 1 && OUT_W <= 32, "mvau: output elements are 1..32 bits");
    SURGE_HLS_BEAT_FITS(SIMD * IN_W);
    SURGE_HLS_BEAT_FITS(PE * OUT_W);
    constexpr unsigned SF = MW / SIMD;
    constexpr unsigned NF = MH / PE;

    ap_uint<SIMD * IN_W> input_buffer[SF];  // the current vector, one beat per address (BRAM/LUTRAM)
    int acc[PE];
#pragma HLS ARRAY_PARTITION variable=acc complete

    // Fold counters wrap to 0 at the end of every vector, so they live outside the loops: the nest stays
    // perfect and Vitis flattens it into one II=1 pipeline over all vectors (no drain between vectors).
    unsigned nf = 0, sf = 0;
    for (unsigned v = 0; v < vectors; v++) {
        for (unsigned tile = 0; tile < NF * SF; tile++) {  // tile = nf*SF + sf
#pragma HLS PIPELINE II=1
            ap_uint<SIMD * IN_W> x;
            if (nf == 0) {
                x = in.read();
                input_buffer[sf] = x;
            } else {
                x = input_buffer[sf];
            }
            ap_uint<PE * OUT_W> y = 0;
            for (unsigned p = 0; p < PE; p++) {
#pragma HLS UNROLL
                const int partial = SLICE::template dot<SIMD, IN_W, IN_SIGNED, WWORDS>(x, weights[p][tile]);
                acc[p] = (sf == 0 ? 0 : acc[p]) + partial;
                if (sf == SF - 1) {
                    set_lane<OUT_W>(y, p, mvau_activation<NT>::template apply<NF>(acc[p], thresholds, p, nf));
                }
            }
            if (sf == SF - 1) {
                out.write(y);
            }
            if (++sf == SF) {
                sf = 0;
                if (++nf == NF) {
                    nf = 0;
                }
            }
        }
    }
}

}  // namespace detail

// XNOR-popcount MVAU: acc[r] = popcount(XNOR(W[r, :], x)) over the MW input bits (matches of the bipolar
// vectors); NT > 0: out = #{t in T[r] : acc >= t}; NT == 0: out = acc (unsigned OUT_W bits).
template <unsigned MW, unsigned MH, unsigned SIMD, unsigned PE, unsigned NT, unsigned OUT_W, unsigned WWORDS>
void mvau_binary(hls::stream<ap_uint<SIMD>>& in, hls::stream<ap_uint<PE * OUT_W>>& out,
                 const uint64_t weights[PE][(MH / PE) * (MW / SIMD)][WWORDS],
                 const int32_t thresholds[PE][MH / PE][NT > 0 ? NT : 1], unsigned vectors) {
#pragma HLS INLINE off
#pragma HLS ARRAY_PARTITION variable=weights complete dim=1
#pragma HLS ARRAY_PARTITION variable=weights complete dim=3
#pragma HLS ARRAY_PARTITION variable=thresholds complete dim=1
#pragma HLS ARRAY_PARTITION variable=thresholds complete dim=3
    detail::mvau_batch<detail::xnor_slice, MW, MH, SIMD, PE, 1, false, NT, OUT_W, WWORDS>(in, out, weights,
                                                                                          thresholds, vectors);
}

// Integer-input x bipolar-weight MVAU (CNV's first conv: INT8 pixels x +-1 weights; FINN's MVAU with
// binaryXnorMode=0): acc[r] = sum_i (W[r,i] ? +x[i] : -x[i]) with x[i] IN_W bits, signed if IN_SIGNED;
// NT > 0: out = #{t : acc >= t} (unsigned OUT_W); NT == 0: out = acc, two's complement in OUT_W bits.
// The accumulator is an int: |acc| <= MW * 2^IN_W, checked below.
template <unsigned MW, unsigned MH, unsigned SIMD, unsigned PE, unsigned IN_W, bool IN_SIGNED, unsigned NT,
          unsigned OUT_W, unsigned WWORDS>
void mvau_int(hls::stream<ap_uint<SIMD * IN_W>>& in, hls::stream<ap_uint<PE * OUT_W>>& out,
              const uint64_t weights[PE][(MH / PE) * (MW / SIMD)][WWORDS],
              const int32_t thresholds[PE][MH / PE][NT > 0 ? NT : 1], unsigned vectors) {
#pragma HLS INLINE off
#pragma HLS ARRAY_PARTITION variable=weights complete dim=1
#pragma HLS ARRAY_PARTITION variable=weights complete dim=3
#pragma HLS ARRAY_PARTITION variable=thresholds complete dim=1
#pragma HLS ARRAY_PARTITION variable=thresholds complete dim=3
    static_assert(IN_W >= 1 && IN_W <= 24, "mvau_int: input elements are 1..24 bits");
    static_assert((static_cast<uint64_t>(MW) << IN_W) < (uint64_t(1) << 31), "mvau_int: accumulator exceeds int32");
    detail::mvau_batch<detail::bipolar_slice, MW, MH, SIMD, PE, IN_W, IN_SIGNED, NT, OUT_W, WWORDS>(
        in, out, weights, thresholds, vectors);
}

}  // namespace surge_hls

#endif  // SURGE_HLS_MVAU_H
