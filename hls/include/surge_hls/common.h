// surge_hls common definitions: the stream beat convention and small bit helpers shared by every kernel.
//
// Stream convention (the same as FINN's AXI-Stream packing and surge_hw.rtl.packing): a beat is an
// ap_uint<N>; element i of a beat sits in bits [i*W, i*W+W) (element 0 in the LSBs). Signed elements are two's
// complement in their W bits. Bipolar/binary values are bits (1 <-> +1, 0 <-> -1).
//
// Wide beats: ap_int's default limit is 1024 bits, and a 1568-bit beat (2 x 784 MNIST pixels) is over it.
// AP_INT_MAX_W must be set before ap_int.h is first parsed, so include the surge_hls headers before anything
// else that includes ap_int.h, or define AP_INT_MAX_W yourself (to at least your widest beat). Every kernel
// static_asserts that its beats fit, so a too-small limit is a compile error, not a C-sim run-time abort.
#ifndef SURGE_HLS_COMMON_H
#define SURGE_HLS_COMMON_H

#ifndef AP_INT_MAX_W
#define AP_INT_MAX_W 4096
#endif

#include <stdint.h>

// g++ reports some of its flow-based warnings on code inlined from ap_types even under -isystem: the
// C-sim ap_private's default constructor masks its own uninitialised word, and its reversed-range branches
// loop "out of bounds" in code that never runs. Silence exactly those, only for the ap_types headers, so our
// own code still builds with -Wall -Wextra -Werror.
#if defined(__GNUC__) && !defined(__clang__) && !defined(__SYNTHESIS__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Waggressive-loop-optimizations"
#endif
#include <ap_int.h>
#include <hls_stream.h>
#if defined(__GNUC__) && !defined(__clang__) && !defined(__SYNTHESIS__)
#pragma GCC diagnostic pop
#endif

namespace surge_hls {

// The widest ap_uint this translation unit can use (ap_int rounds AP_INT_MAX_W up to whole 1024-bit modes).
constexpr unsigned max_beat_bits = ((AP_INT_MAX_W + 1023) / 1024) * 1024;

constexpr unsigned ceil_div(unsigned a, unsigned b) { return (a + b - 1) / b; }
constexpr unsigned min_u(unsigned a, unsigned b) { return a < b ? a : b; }

// Element i (W bits) of a beat, as unsigned bits.
template <unsigned W, int N>
inline ap_uint<W> lane(const ap_uint<N>& beat, unsigned i) {
#pragma HLS INLINE
    return beat.range(i * W + W - 1, i * W);
}

// Element i of a beat as an integer: sign-extended when SIGNED, else zero-extended.
template <unsigned W, bool SIGNED, int N>
inline int64_t lane_value(const ap_uint<N>& beat, unsigned i) {
#pragma HLS INLINE
    const ap_uint<W> bits = lane<W>(beat, i);
    if (SIGNED) {
        const ap_int<W> value = bits;  // same bits, read as two's complement
        return value.to_int64();
    }
    return static_cast<int64_t>(bits.to_uint64());
}

// Write the low W bits of value (two's complement for negative values) into element i of a beat.
template <unsigned W, int N>
inline void set_lane(ap_uint<N>& beat, unsigned i, int64_t value) {
#pragma HLS INLINE
    const ap_uint<W> bits = static_cast<uint64_t>(value);  // truncates to W bits
    beat.range(i * W + W - 1, i * W) = bits;
}

// Bits [lo, lo+len) of a beat (len <= 64) as a uint64_t, upper bits zero.
template <int N>
inline uint64_t word_at(const ap_uint<N>& beat, unsigned lo, unsigned len) {
#pragma HLS INLINE
    return beat.range(lo + len - 1, lo).to_uint64();
}

constexpr uint64_t low_mask(unsigned len) { return len >= 64 ? ~uint64_t(0) : ((uint64_t(1) << len) - 1); }

// Population count of a 64-bit word by shifts and adds only (a small adder tree in hardware; no
// compiler builtin, so it is the same code in g++ C-sim and in Vitis HLS).
inline unsigned popcount64(uint64_t v) {
#pragma HLS INLINE
    v = v - ((v >> 1) & 0x5555555555555555ULL);
    v = (v & 0x3333333333333333ULL) + ((v >> 2) & 0x3333333333333333ULL);
    v = (v + (v >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
    v = v + (v >> 8);
    v = v + (v >> 16);
    v = v + (v >> 32);
    return static_cast<unsigned>(v & 0x7F);
}

}  // namespace surge_hls

#define SURGE_HLS_BEAT_FITS(BITS)                                                                           \
    static_assert((BITS) <= ::surge_hls::max_beat_bits,                                                      \
                  "surge_hls: a stream beat is wider than AP_INT_MAX_W allows; define AP_INT_MAX_W (>= the "  \
                  "widest beat) before the first #include of ap_int.h, or include surge_hls headers first")

#endif  // SURGE_HLS_COMMON_H
