// Stream data width converter with per-image frames (FINN StreamingDataWidthConverter, generalised to any
// pair of widths and to frame padding).
//
// Per image the bit string is its IN_BEATS input beats concatenated LSB first (beat k at bits
// [k*IN_W, (k+1)*IN_W)). Out come OUT_BEATS beats of OUT_W bits: beat m is bits [m*OUT_W, (m+1)*OUT_W) of that
// string, zero where the string is shorter (frame padding), and input bits beyond OUT_BEATS*OUT_W are
// dropped (the DMA frame's padding). With one side word_bits wide this is exactly the frame format of
// surge_hw.rtl.packing.pack_frames / unpack_frames, in either direction: 64-bit DMA words -> layer beats
// (e.g. 13 words -> one 784-bit beat) or layer beats -> words (one 784-bit beat -> 13 words).
//
// Design: a bit buffer of IN_W + OUT_W bits and a count of its valid bits. Each cycle (II=1) does exactly one
// thing: write a beat when OUT_W bits are ready (or, once the image's input is spent, the zero-padded rest),
// else read a beat into the buffer at the current fill level (or drop it once all outputs are written). So an
// image takes exactly IN_BEATS + OUT_BEATS cycles, a fixed trip count, and nothing is left over between
// images. The shift by the fill level is a barrel shifter; fine for the few converters of a network.
#ifndef SURGE_HLS_DWC_H
#define SURGE_HLS_DWC_H

#include "common.h"

namespace surge_hls {

template <unsigned IN_W, unsigned OUT_W, unsigned IN_BEATS, unsigned OUT_BEATS>
void dwc_frames(hls::stream<ap_uint<IN_W>>& in, hls::stream<ap_uint<OUT_W>>& out, unsigned images) {
#pragma HLS INLINE off
    static_assert(IN_W >= 1 && OUT_W >= 1 && IN_BEATS >= 1 && OUT_BEATS >= 1, "dwc_frames: empty frame");
    SURGE_HLS_BEAT_FITS(IN_W + OUT_W);
    constexpr unsigned BUF_W = IN_W + OUT_W;  // fill < OUT_W before a read, so a read never overflows

    ap_uint<BUF_W> buffer = 0;
    unsigned fill = 0;  // valid bits in buffer
    unsigned read = 0, written = 0;
    for (unsigned n = 0; n < images; n++) {
        for (unsigned i = 0; i < IN_BEATS + OUT_BEATS; i++) {
#pragma HLS PIPELINE II=1
            if (i == 0) {  // a new frame (reset inside the loop: a perfect nest, flattened across images)
                buffer = 0;
                fill = 0;
                read = 0;
                written = 0;
            }
            const bool outputs_left = written < OUT_BEATS;
            const bool inputs_left = read < IN_BEATS;
            if (outputs_left && (fill >= OUT_W || !inputs_left)) {
                const ap_uint<OUT_W> y = buffer.range(OUT_W - 1, 0);  // zero above `fill` at the end: padding
                out.write(y);
                buffer >>= OUT_W;
                fill = fill >= OUT_W ? fill - OUT_W : 0;
                written++;
            } else {
                const ap_uint<IN_W> x = in.read();
                if (outputs_left) {
                    ap_uint<BUF_W> wide = x;
                    buffer |= wide << fill;
                    fill += IN_W;
                }  // else: bits beyond the OUT_BEATS*OUT_W of a frame are dropped
                read++;
            }
        }
    }
}

}  // namespace surge_hls

#endif  // SURGE_HLS_DWC_H
