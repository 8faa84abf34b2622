// Simulation-only wrappers for the DMA frame blocks (rtl_tests/test_dma_shell.py). Python stays out of the
// per-cycle loop: every stream comes from / goes to a hex file (one beat per line, `{tlast, tdata}` on the
// DMA side), valid gaps and ready stalls are xorshift draws (p = thr/256), and the cocotb side only resets
// and waits for `done`.
//   tb_frames    axis_frame_in and axis_frame_out side by side, each against its own files
//   tb_dma_shell accel_dma_shell (needs the generated accel_top and its .mem files in the working dir)
`default_nettype none

module tb_file_source #(
    parameter integer W = 8,
    parameter FILE = "in.hex",
    parameter integer SALT = 1
) (
    input  wire         clk,
    input  wire         rst,
    input  wire [31:0]  count,
    input  wire [31:0]  seed,
    input  wire [8:0]   gap_thr,
    output reg  [W-1:0] tdata,
    output reg          tvalid,
    input  wire         tready
);
    integer fd, rc;
    reg [31:0] loaded, rnd;
    reg [W-1:0] beat;

    function [31:0] xorshift32;
        input [31:0] v;
        reg [31:0] t;
        begin
            t = v ^ (v << 13);
            t = t ^ (t >> 17);
            xorshift32 = t ^ (t << 5);
        end
    endfunction

    initial begin
        fd = $fopen(FILE, "r");
        if (fd == 0) begin
            $display("tb_file_source: cannot open %0s", FILE);
            $finish;
        end
    end

    always @(posedge clk) begin
        if (rst) begin
            tvalid <= 1'b0;
            loaded <= 32'd0;
            rnd <= (seed * SALT) | 32'd1;
        end else begin
            rnd <= xorshift32(rnd);
            if (~tvalid | tready) begin
                if (loaded < count && {1'b0, rnd[7:0]} >= gap_thr) begin
                    rc = $fscanf(fd, "%h\n", beat);
                    tdata <= beat;
                    tvalid <= 1'b1;
                    loaded <= loaded + 1;
                end else begin
                    tvalid <= 1'b0;
                end
            end
        end
    end
endmodule

module tb_file_sink #(
    parameter integer W = 8,
    parameter FILE = "out.hex",
    parameter integer SALT = 1
) (
    input  wire         clk,
    input  wire         rst,
    input  wire [31:0]  seed,
    input  wire [8:0]   stall_thr,
    input  wire         flush,
    input  wire [W-1:0] tdata,
    input  wire         tvalid,
    output reg          tready,
    output reg  [31:0]  received
);
    integer fd;
    reg [31:0] rnd;

    function [31:0] xorshift32;
        input [31:0] v;
        reg [31:0] t;
        begin
            t = v ^ (v << 13);
            t = t ^ (t >> 17);
            xorshift32 = t ^ (t << 5);
        end
    endfunction

    initial fd = $fopen(FILE, "w");

    always @(posedge clk) begin
        if (rst) begin
            tready <= 1'b0;
            received <= 32'd0;
            rnd <= (seed * SALT) | 32'd1;
        end else begin
            rnd <= xorshift32(rnd);
            tready <= {1'b0, rnd[7:0]} >= stall_thr;
            if (tvalid & tready) begin
                $fwrite(fd, "%h\n", tdata);
                received <= received + 1;
            end
            if (flush) $fflush(fd);
        end
    end
endmodule

// cycles from a stream's first handshake to its last (inclusive): the steady-state rate, without the fill
module tb_handshake_span (
    input  wire        clk,
    input  wire        rst,
    input  wire        hs,
    output reg  [31:0] span
);
    reg started;
    reg [31:0] since_first;
    always @(posedge clk) begin
        if (rst) begin
            started <= 1'b0;
            since_first <= 32'd0;
            span <= 32'd0;
        end else begin
            if (hs | started) since_first <= since_first + 1;
            if (hs) begin
                started <= 1'b1;
                span <= since_first + 1;
            end
        end
    end
endmodule

module tb_frames #(
    parameter integer DMA_W = 64,
    parameter integer W = 8,      // IN_W of axis_frame_in and OUT_W of axis_frame_out
    parameter integer BEATS = 1
) (
    input  wire        clk,
    input  wire        rst,
    input  wire [31:0] n_words,    // per block, the whole run
    input  wire [31:0] n_beats,
    input  wire [31:0] n_images,
    input  wire [31:0] seed,
    input  wire [8:0]  gap_thr,
    input  wire [8:0]  stall_thr,
    input  wire        flush,
    output wire        done,
    output wire [31:0] in_beats_got,
    output wire [31:0] in_flags_got,
    output wire [31:0] out_words_got,
    output wire [31:0] words_in_span,  // first -> last handshake of each stream
    output wire [31:0] in_beats_span,
    output wire [31:0] out_beats_span,
    output wire [31:0] out_words_span
);
    // ---- axis_frame_in: words_in.hex -> in_beats.hex + in_flags.hex ----
    wire [DMA_W:0] wi_tdata;
    wire wi_tvalid, wi_tready;
    wire [W-1:0] bi_tdata;
    wire bi_tvalid, bi_tready;
    wire fi_tdata, fi_tvalid, fi_tready;
    tb_file_source #(.W(DMA_W + 1), .FILE("words_in.hex"), .SALT(3)) words_in (
        .clk(clk), .rst(rst), .count(n_words), .seed(seed), .gap_thr(gap_thr),
        .tdata(wi_tdata), .tvalid(wi_tvalid), .tready(wi_tready));
    axis_frame_in #(.DMA_W(DMA_W), .IN_W(W), .IN_BEATS(BEATS)) frame_in (
        .clk(clk), .rst(rst),
        .s_tdata(wi_tdata[DMA_W-1:0]), .s_tvalid(wi_tvalid), .s_tready(wi_tready), .s_tlast(wi_tdata[DMA_W]),
        .m_tdata(bi_tdata), .m_tvalid(bi_tvalid), .m_tready(bi_tready),
        .flag_tdata(fi_tdata), .flag_tvalid(fi_tvalid), .flag_tready(fi_tready));
    tb_file_sink #(.W(W), .FILE("in_beats.hex"), .SALT(5)) in_beats (
        .clk(clk), .rst(rst), .seed(seed), .stall_thr(stall_thr), .flush(flush),
        .tdata(bi_tdata), .tvalid(bi_tvalid), .tready(bi_tready), .received(in_beats_got));
    tb_file_sink #(.W(1), .FILE("in_flags.hex"), .SALT(7)) in_flags (
        .clk(clk), .rst(rst), .seed(seed), .stall_thr(stall_thr), .flush(flush),
        .tdata(fi_tdata), .tvalid(fi_tvalid), .tready(fi_tready), .received(in_flags_got));

    // ---- axis_frame_out: out_beats.hex + out_flags.hex -> out_words.hex ----
    wire [W-1:0] bo_tdata;
    wire bo_tvalid, bo_tready;
    wire fo_tdata, fo_tvalid, fo_tready;
    wire [DMA_W-1:0] wo_tdata;
    wire wo_tvalid, wo_tready, wo_tlast;
    tb_file_source #(.W(W), .FILE("out_beats.hex"), .SALT(11)) out_beats (
        .clk(clk), .rst(rst), .count(n_beats), .seed(seed), .gap_thr(gap_thr),
        .tdata(bo_tdata), .tvalid(bo_tvalid), .tready(bo_tready));
    tb_file_source #(.W(1), .FILE("out_flags.hex"), .SALT(13)) out_flags (
        .clk(clk), .rst(rst), .count(n_images), .seed(seed), .gap_thr(gap_thr),
        .tdata(fo_tdata), .tvalid(fo_tvalid), .tready(fo_tready));
    axis_frame_out #(.DMA_W(DMA_W), .OUT_W(W), .OUT_BEATS(BEATS)) frame_out (
        .clk(clk), .rst(rst),
        .s_tdata(bo_tdata), .s_tvalid(bo_tvalid), .s_tready(bo_tready),
        .flag_tdata(fo_tdata), .flag_tvalid(fo_tvalid), .flag_tready(fo_tready),
        .m_tdata(wo_tdata), .m_tvalid(wo_tvalid), .m_tready(wo_tready), .m_tlast(wo_tlast));
    tb_file_sink #(.W(DMA_W + 1), .FILE("out_words.hex"), .SALT(17)) out_words (
        .clk(clk), .rst(rst), .seed(seed), .stall_thr(stall_thr), .flush(flush),
        .tdata({wo_tlast, wo_tdata}), .tvalid(wo_tvalid), .tready(wo_tready), .received(out_words_got));

    tb_handshake_span words_in_span_i (.clk(clk), .rst(rst), .hs(wi_tvalid & wi_tready), .span(words_in_span));
    tb_handshake_span in_beats_span_i (.clk(clk), .rst(rst), .hs(bi_tvalid & bi_tready), .span(in_beats_span));
    tb_handshake_span out_beats_span_i (.clk(clk), .rst(rst), .hs(bo_tvalid & bo_tready), .span(out_beats_span));
    tb_handshake_span out_words_span_i (.clk(clk), .rst(rst), .hs(wo_tvalid & wo_tready), .span(out_words_span));

    wire in_done = (in_beats_got >= n_beats) & (in_flags_got >= n_images);
    wire out_done = (out_words_got >= n_words);
    assign done = in_done & out_done;
endmodule

module tb_dma_shell #(
    parameter integer DMA_W = 64,
    parameter integer IN_W = 8,
    parameter integer IN_BEATS = 1,
    parameter integer OUT_W = 8,
    parameter integer OUT_BEATS = 1,
    parameter integer FLAG_DEPTH = 16
) (
    input  wire        clk,
    input  wire        rst,
    input  wire [31:0] n_words_in,
    input  wire [31:0] n_words_out,
    input  wire [31:0] seed,
    input  wire [8:0]  gap_thr,
    input  wire [8:0]  stall_thr,
    input  wire        flush,
    output wire        done,
    output reg  [31:0] cycles,           // reset release -> last output word
    output wire [31:0] words_got,
    output reg  [31:0] flag_full_cycles  // the flag FIFO held back an image's last input word
);
    wire [DMA_W:0] wi_tdata;
    wire wi_tvalid, wi_tready;
    wire [DMA_W-1:0] wo_tdata;
    wire wo_tvalid, wo_tready, wo_tlast;
    tb_file_source #(.W(DMA_W + 1), .FILE("words_in.hex"), .SALT(3)) words_in (
        .clk(clk), .rst(rst), .count(n_words_in), .seed(seed), .gap_thr(gap_thr),
        .tdata(wi_tdata), .tvalid(wi_tvalid), .tready(wi_tready));
    accel_dma_shell #(
        .DMA_W(DMA_W), .IN_W(IN_W), .IN_BEATS(IN_BEATS), .OUT_W(OUT_W), .OUT_BEATS(OUT_BEATS),
        .FLAG_DEPTH(FLAG_DEPTH)
    ) dut (
        .ap_clk(clk), .ap_rst_n(~rst),
        .s_axis_tdata(wi_tdata[DMA_W-1:0]), .s_axis_tvalid(wi_tvalid), .s_axis_tready(wi_tready),
        .s_axis_tlast(wi_tdata[DMA_W]),
        .m_axis_tdata(wo_tdata), .m_axis_tvalid(wo_tvalid), .m_axis_tready(wo_tready), .m_axis_tlast(wo_tlast));
    tb_file_sink #(.W(DMA_W + 1), .FILE("words_out.hex"), .SALT(17)) words_out (
        .clk(clk), .rst(rst), .seed(seed), .stall_thr(stall_thr), .flush(flush),
        .tdata({wo_tlast, wo_tdata}), .tvalid(wo_tvalid), .tready(wo_tready), .received(words_got));

    assign done = (words_got >= n_words_out);
    always @(posedge clk) begin
        if (rst) begin
            cycles <= 32'd0;
            flag_full_cycles <= 32'd0;
        end else begin
            if (~done) cycles <= cycles + 1;
            if (dut.flag_in_tvalid & ~dut.flag_in_tready) flag_full_cycles <= flag_full_cycles + 1;
        end
    end
endmodule

`default_nettype wire
