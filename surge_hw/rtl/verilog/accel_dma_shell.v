// accel_dma_shell: the generated accelerator (accel_top) between two AXI DMA streams, for a Vivado block
// design (module reference) with a Xilinx AXI DMA: MM2S -> s_axis, m_axis -> S2MM.
//
//   s_axis (DMA_W) -> axis_frame_in -> accel_top -> axis_frame_out -> m_axis (DMA_W)
//                          \-- frame flag -> axis_fifo (FLAG_DEPTH) --/
//
// Both streams carry frames of whole words per image (surge_hw.rtl.packing.pack_frames / unpack_frames):
// the image's beats concatenated LSB first and zero-padded to a whole number of words. A host sends a
// batch of N images as one MM2S transfer (TLAST on the batch's last word) and receives their outputs as
// one S2MM transfer: m_axis_tlast is set on the last word of the image whose input ended with TLAST.
// The flag FIFO holds one flag per image between its last input word and its last output word; when it
// is full, axis_frame_in holds back the next image's last word, so FLAG_DEPTH (+1 in axis_frame_in)
// bounds the images in flight; it must exceed what accel_top holds or throughput drops (16 is ample
// for the FIFO depths generate_rtl chooses). TLAST on a word that does not end an image is ignored.
//
// The parameters must match the generated accel_top (manifest.json: ports.s_axis / ports.m_axis
// tdata_bits and beats_per_image). Reset: ap_rst_n is the block design's synchronous active-low
// peripheral reset; it drives every block's rst directly, so the shell leaves reset with the DMA.
`default_nettype none

module accel_dma_shell #(
    parameter integer DMA_W = 64,        // AXI DMA stream width: 64 on Zynq-7000, 128 on Zynq UltraScale+
    parameter integer IN_W = 8,          // accel_top s_axis_tdata bits
    parameter integer IN_BEATS = 1,      // accel_top input beats per image
    parameter integer OUT_W = 8,         // accel_top m_axis_tdata bits
    parameter integer OUT_BEATS = 1,     // accel_top output beats per image
    parameter integer FLAG_DEPTH = 16    // images between their last input word and last output word
) (
    (* X_INTERFACE_INFO = "xilinx.com:signal:clock:1.0 ap_clk CLK" *)
    (* X_INTERFACE_PARAMETER = "ASSOCIATED_BUSIF s_axis:m_axis, ASSOCIATED_RESET ap_rst_n" *)
    input  wire             ap_clk,
    (* X_INTERFACE_INFO = "xilinx.com:signal:reset:1.0 ap_rst_n RST" *)
    (* X_INTERFACE_PARAMETER = "POLARITY ACTIVE_LOW" *)
    input  wire             ap_rst_n,
    input  wire [DMA_W-1:0] s_axis_tdata,
    input  wire             s_axis_tvalid,
    output wire             s_axis_tready,
    input  wire             s_axis_tlast,
    output wire [DMA_W-1:0] m_axis_tdata,
    output wire             m_axis_tvalid,
    input  wire             m_axis_tready,
    output wire             m_axis_tlast
);
    wire rst = ~ap_rst_n;

    wire [IN_W-1:0] in_tdata;
    wire in_tvalid, in_tready;
    wire [OUT_W-1:0] out_tdata;
    wire out_tvalid, out_tready;
    wire flag_in_tdata, flag_in_tvalid, flag_in_tready;
    wire flag_out_tdata, flag_out_tvalid, flag_out_tready;

    axis_frame_in #(
        .DMA_W(DMA_W), .IN_W(IN_W), .IN_BEATS(IN_BEATS)
    ) frame_in_i (
        .clk(ap_clk), .rst(rst),
        .s_tdata(s_axis_tdata), .s_tvalid(s_axis_tvalid), .s_tready(s_axis_tready), .s_tlast(s_axis_tlast),
        .m_tdata(in_tdata), .m_tvalid(in_tvalid), .m_tready(in_tready),
        .flag_tdata(flag_in_tdata), .flag_tvalid(flag_in_tvalid), .flag_tready(flag_in_tready)
    );

    axis_fifo #(
        .WIDTH(1), .DEPTH(FLAG_DEPTH)
    ) flag_fifo_i (
        .clk(ap_clk), .rst(rst),
        .s_tdata(flag_in_tdata), .s_tvalid(flag_in_tvalid), .s_tready(flag_in_tready),
        .m_tdata(flag_out_tdata), .m_tvalid(flag_out_tvalid), .m_tready(flag_out_tready)
    );

    accel_top accel_i (
        .clk(ap_clk), .rst(rst),
        .s_axis_tdata(in_tdata), .s_axis_tvalid(in_tvalid), .s_axis_tready(in_tready),
        .m_axis_tdata(out_tdata), .m_axis_tvalid(out_tvalid), .m_axis_tready(out_tready)
    );

    axis_frame_out #(
        .DMA_W(DMA_W), .OUT_W(OUT_W), .OUT_BEATS(OUT_BEATS)
    ) frame_out_i (
        .clk(ap_clk), .rst(rst),
        .s_tdata(out_tdata), .s_tvalid(out_tvalid), .s_tready(out_tready),
        .flag_tdata(flag_out_tdata), .flag_tvalid(flag_out_tvalid), .flag_tready(flag_out_tready),
        .m_tdata(m_axis_tdata), .m_tvalid(m_axis_tvalid), .m_tready(m_axis_tready), .m_tlast(m_axis_tlast)
    );
endmodule

`default_nettype wire
