// axis_frame_out: accelerator output beats -> DMA words, one image (frame) at a time.
//
// Frame format (surge_hw.rtl.packing.unpack_frames): an image's OUT_BEATS beats of OUT_W bits concatenated
// LSB first (beat 0 in the lowest bits of word 0, beats cross word boundaries freely), zero-padded to
// WORDS_OUT = ceil(OUT_BEATS*OUT_W / DMA_W) whole words. One frame flag is consumed per image, with the
// image's last word: m_tlast is set on that word when the flag is 1 (the end of a DMA transfer).
//
// Output images are classifier-sized, so the block holds a whole image instead of a variable shifter:
// beats 0..OUT_BEATS-2 shift into `part` (constant shift), the last beat moves them with it into the
// word register `obuf`, which then shifts out one word per cycle. Every bit position is a constant, so
// there is no mux wider than 2:1 in the datapath; the cost is (OUT_BEATS-1)*OUT_W + WORDS_OUT*DMA_W
// flip-flops. Throughput: one beat per cycle in and one word per cycle out (the next image's beats
// collect while the words leave; its last beat waits only for the previous image's last word).
// m_tdata comes from a register; m_tvalid waits for the flag on an image's last word (valids only);
// s_tready and flag_tready look at m_tready, never at a valid.
`default_nettype none

module axis_frame_out #(
    parameter integer DMA_W = 64,
    parameter integer OUT_W = 35,
    parameter integer OUT_BEATS = 2
) (
    input  wire             clk,
    input  wire             rst,
    input  wire [OUT_W-1:0] s_tdata,
    input  wire             s_tvalid,
    output wire             s_tready,
    input  wire             flag_tdata,   // 1: end the DMA transfer after this image (m_tlast)
    input  wire             flag_tvalid,
    output wire             flag_tready,
    output wire [DMA_W-1:0] m_tdata,
    output wire             m_tvalid,
    input  wire             m_tready,
    output wire             m_tlast
);
    localparam integer IMG_W = OUT_BEATS * OUT_W;
    localparam integer WORDS_OUT = (IMG_W + DMA_W - 1) / DMA_W;
    localparam integer OB = WORDS_OUT * DMA_W;
    localparam integer BCW = (OUT_BEATS > 1) ? $clog2(OUT_BEATS) : 1;
    localparam integer WCW = $clog2(WORDS_OUT + 1);
    localparam integer BL = OUT_BEATS - 1;
    localparam [BCW-1:0] B_LAST = BL[BCW-1:0];
    localparam [WCW-1:0] W_FULL = WORDS_OUT[WCW-1:0];
    localparam [WCW-1:0] W_ONE = 1;

    reg [OB-1:0] obuf;
    reg [WCW-1:0] words_left;   // words of obuf still to send; 0 = empty
    reg [BCW-1:0] beat_idx;     // beat of the current image that s_tdata is

    wire last_beat = (beat_idx == B_LAST);
    wire last_word = (words_left == W_ONE);
    wire busy = (words_left != {WCW{1'b0}});
    assign m_tvalid = busy & (~last_word | flag_tvalid);
    assign m_tdata = obuf[DMA_W-1:0];
    assign m_tlast = last_word & flag_tdata;
    wire take = m_tvalid & m_tready;
    assign flag_tready = busy & last_word & m_tready;
    wire obuf_free = ~busy | (take & last_word);
    assign s_tready = ~last_beat | obuf_free;
    wire acc = s_tvalid & s_tready;
    wire load = acc & last_beat;

    // the image as it goes into obuf: beats 0..OUT_BEATS-2 from part, then this beat, then zero padding
    wire [IMG_W-1:0] image;
    generate
        if (OUT_BEATS > 1) begin : g_part
            reg [IMG_W-OUT_W-1:0] part;
            wire [IMG_W-1:0] part_cat = {s_tdata, part};
            always @(posedge clk) begin
                if (acc & ~last_beat) part <= part_cat[OUT_W +: IMG_W - OUT_W];
            end
            assign image = part_cat;
        end else begin : g_single
            assign image = s_tdata;
        end
    endgenerate
    wire [IMG_W+DMA_W-1:0] image_padded = {{DMA_W{1'b0}}, image};
    wire [OB+DMA_W-1:0] obuf_shifted = {{DMA_W{1'b0}}, obuf};

    always @(posedge clk) begin
        if (load) obuf <= image_padded[OB-1:0];
        else if (take) obuf <= obuf_shifted[DMA_W +: OB];
    end

    always @(posedge clk) begin
        if (rst) begin
            words_left <= {WCW{1'b0}};
            beat_idx <= {BCW{1'b0}};
        end else begin
            if (load) words_left <= W_FULL;
            else if (take) words_left <= words_left - 1'b1;
            if (acc) beat_idx <= last_beat ? {BCW{1'b0}} : beat_idx + 1'b1;
        end
    end

    wire unused_pad = &{1'b0, image_padded[IMG_W+DMA_W-1:OB], obuf_shifted[DMA_W-1:0]};
endmodule

`default_nettype wire
