// sliding_window: FINN ConvolutionInputGenerator (ir.SlidingWindow) as a line buffer of input rows.
//
// Input: NHWC pixels, SIMD channels per beat (pixel (y, x), channel fold cf at beat (y*IW + x)*CF + cf,
// CF = C/SIMD). Output: one window per output pixel (oy, ox), row-major, each window in the order
//   (kh, kw, cf)            DEPTHWISE = 0: im2col, the MVAU's weight column order
//   (cf, kh, kw)            DEPTHWISE = 1: what the max-pool unit consumes
// one beat = the SIMD channels cf*SIMD .. cf*SIMD+SIMD-1 of input pixel (oy*SH + kh*DH, ox*SW + kw*DW),
// exactly surge_hw.rtl.golden.sliding_window. Images follow each other with no gap.
//
// Why not FINN's finn-rtllib SWG: its controller decides every read and fetch from wide signed compares
// of element counters, computed combinationally into the next counter value (77 logic steps, 15.8 ns on
// ECP5 speed 6: the CNV's critical path at 63.3 MHz, benchmarks/results/pnr/cnv_fmnist_fps3000_cmpreg.json).
// Here every decision is a registered flag or a small counter:
//
// - The buffer holds R = (KH-1)*DH + 1 + SH input rows (a row slot each), so the writer fills the SH rows
//   the next output row needs while the reader emits the current one: full throughput in both directions.
//   Its address is {slot, pixel, cf}, each field padded to a power of two, so no address is ever added.
// - `filled` counts the complete rows at or after the reader's first row (signed: at an image's end the
//   reader skips the rows no window uses, which may not be written yet). The reader may emit an output row
//   when filled >= KH span; the writer may write while filled < R. It is a thermometer code, so both
//   flags are flip-flops and a row event only selects among shifted copies of the code.
// - Loop counters (cf, kw, kh, ox, oy) carry registered "last" flags, so a wrap is an AND of flip-flops.
// - Read pipeline: counters -> RAM read register -> output register (latency 2), one global enable `adv`
//   like the other blocks: a stalled output freezes the reader (nothing lost or duplicated); the writer
//   runs on independently. One beat per cycle on each side when not stalled.
`default_nettype none

module sliding_window #(
    parameter integer IH = 5,          // input feature map height
    parameter integer IW = 5,          // input feature map width
    parameter integer C = 4,           // channels
    parameter integer SIMD = 1,        // channels per beat, divides C
    parameter integer ELEM_W = 1,      // element width
    parameter integer KH = 3,          // kernel height
    parameter integer KW = 3,          // kernel width
    parameter integer SH = 1,          // stride
    parameter integer SW = 1,
    parameter integer DH = 1,          // dilation
    parameter integer DW = 1,
    parameter integer DEPTHWISE = 0,   // 1: window order (cf, kh, kw) instead of (kh, kw, cf)
    parameter integer WR_REG = 0       // 1: the accepted beat is written one cycle later, from a register
                                       // (needs KH > 1 or IW*C/SIMD > 1, see "buffer writes" below)
) (
    input  wire                    clk,
    input  wire                    rst,
    input  wire [SIMD*ELEM_W-1:0]  in_tdata,
    input  wire                    in_tvalid,
    output wire                    in_tready,
    output wire [SIMD*ELEM_W-1:0]  out_tdata,
    output wire                    out_tvalid,
    input  wire                    out_tready
);
    localparam integer BW = SIMD * ELEM_W;
    localparam integer CF = C / SIMD;
    localparam integer SPAN_H = (KH - 1) * DH + 1;
    localparam integer SPAN_W = (KW - 1) * DW + 1;
    localparam integer OH = (IH - SPAN_H) / SH + 1;
    localparam integer OW = (IW - SPAN_W) / SW + 1;
    localparam integer R = SPAN_H + SH;                // row slots
    localparam integer LAST_STEP = IH - (OH - 1) * SH;  // first-row step from an image's last output row
    //                                                    to the next image's first one
    localparam integer SLOT_W = $clog2(R);
    localparam integer PIX_AW = $clog2(IW);
    localparam integer CF_AW = $clog2(CF);
    localparam integer PIX_W = (PIX_AW > 0) ? PIX_AW : 1;
    localparam integer CF_W = (CF_AW > 0) ? CF_AW : 1;
    localparam integer ADDR_W = SLOT_W + PIX_AW + CF_AW;
    localparam integer KW_W = (KW > 1) ? $clog2(KW) : 1;
    localparam integer KH_W = (KH > 1) ? $clog2(KH) : 1;
    localparam integer OW_W = (OW > 1) ? $clog2(OW) : 1;
    localparam integer OH_W = (OH > 1) ? $clog2(OH) : 1;
    localparam integer DEPTH = R << (PIX_AW + CF_AW);
    localparam integer MSTEP = (LAST_STEP > SH) ? LAST_STEP : SH;  // largest first-row step
    localparam integer LO = SPAN_H - MSTEP;           // lowest row count (may be < 0)
    localparam integer NT = R - LO;                   // thermometer bits of the row count
    localparam integer SH_MOD = SH % R;
    localparam integer LAST_MOD = LAST_STEP % R;
    localparam integer DH_MOD = DH % R;
    localparam [SLOT_W:0] R_S = R[SLOT_W:0];
    localparam [SLOT_W:0] SH_S = SH_MOD[SLOT_W:0];
    localparam [SLOT_W:0] LAST_S = LAST_MOD[SLOT_W:0];
    localparam [SLOT_W:0] DH_S = DH_MOD[SLOT_W:0];
    localparam [PIX_W-1:0] SW_P = SW[PIX_W-1:0];
    localparam [PIX_W-1:0] DW_P = DW[PIX_W-1:0];

    // (a + b) mod R for slot numbers a < R, b < R
    function [SLOT_W-1:0] slot_add;
        input [SLOT_W-1:0] a;
        input [SLOT_W:0] b;
        reg [SLOT_W:0] s;
        begin
            s = {1'b0, a} + b;
            slot_add = (s >= R_S) ? s[SLOT_W-1:0] - R_S[SLOT_W-1:0] : s[SLOT_W-1:0];
        end
    endfunction

    // no_rw_check: the reader never uses a word the writer writes in the same cycle (it emits only while
    // filled >= SPAN_H, and the writer's slot first+filled < first+R lies outside the read span
    // first..first+SPAN_H-1; a read while not emitting is discarded), so synthesis need not emulate
    // read-during-write. yosys otherwise adds a bypass mux (registered write data + address match) between
    // the RAM's read data and `dout`, which kept `dout` out of the RAM's output register on ECP5
    // (surge_hw/rtl/ecp5_netlist.py: "read data into logic, not only a register" on all 8 CNV windows).
    // Simulators ignore it.
    (* ram_style = "block", no_rw_check *)
    reg [BW-1:0] rows [0:DEPTH-1];

    // ---- row accounting ------------------------------------------------------------------------
    // filled = complete rows from the reader's first row on, LO .. R, kept as a thermometer code
    // th[i] = (filled >= LO + 1 + i): the row events arrive late in the cycle (an AND of the loop flags and
    // the handshakes) and only select, per bit, one of six constant shifts of the register (filled + 0, +1,
    // -SH, 1-SH, -LAST, 1-LAST): no adder or compare behind them. Both flags are bits of the code.
    wire w_row_done, r_row_done, r_img_done;
    reg [NT-1:0] th;
    wire [NT+MSTEP:0] thx = {{MSTEP{1'b0}}, th, 1'b1};  // thx[j] = (filled >= LO + j): constants outside
    wire room_q = ~th[NT-1];                           // filled < R: the writer may write
    wire row_ok_q = th[SPAN_H - LO - 1];               // filled >= SPAN_H: the reader may emit its output row
    genvar gt;
    generate
        for (gt = 0; gt < NT; gt = gt + 1) begin : g_th
            localparam integer K = LO + 1 + gt;          // th[gt] = (filled >= K)
            reg nxt;
            always @(*) begin
                case ({r_row_done, r_img_done, w_row_done})
                    3'b001: nxt = thx[gt];                       // filled + 1 >= K
                    3'b100: nxt = thx[gt + 1 + SH];              // filled - SH >= K
                    3'b101: nxt = thx[gt + SH];
                    3'b110: nxt = thx[gt + 1 + LAST_STEP];
                    3'b111: nxt = thx[gt + LAST_STEP];
                    default: nxt = thx[gt + 1];
                endcase
            end
            always @(posedge clk) begin
                if (rst) th[gt] <= (K <= 0);
                else th[gt] <= nxt;
            end
        end
    endgenerate

    // ---- writer: rows into slots 0, 1, .., R-1, 0, .. across images -----------------------------
    wire wr_go = in_tvalid & room_q;
    assign in_tready = room_q;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [CF_W-1:0] wcf;    // unused when CF = 1 (no cf address field)
    wire [PIX_W-1:0] wpix;  // unused when IW = 1
    /* verilator lint_on UNUSEDSIGNAL */
    wire [SLOT_W-1:0] wslot;
    wire wcf_last, wpix_last, wslot_last;
    sliding_window_count #(.N(CF), .W(CF_W)) u_wcf (.clk(clk), .rst(rst), .en(wr_go), .q(wcf), .last(wcf_last));
    sliding_window_count #(.N(IW), .W(PIX_W)) u_wpix (.clk(clk), .rst(rst), .en(wr_go & wcf_last), .q(wpix),
                                                      .last(wpix_last));
    assign w_row_done = wr_go & wcf_last & wpix_last;
    sliding_window_count #(.N(R), .W(SLOT_W)) u_wslot (.clk(clk), .rst(rst), .en(w_row_done), .q(wslot),
                                                       .last(wslot_last));

    // ---- reader: loop counters -----------------------------------------------------------------
    reg v1, v2;                     // valid of the RAM read register / of the output register
    wire adv = ~v2 | out_tready;    // the read pipeline moves
    wire rd_go = adv & row_ok_q;    // one window beat is read this cycle
    wire cf_last, kw_last, kh_last, ox_last, oy_last;
    wire e_cf, e_kw, e_kh, e_ox, e_oy;
    generate
        if (DEPTHWISE != 0) begin : g_dw_order  // oy, ox, cf, kh, kw
            assign e_kw = rd_go;
            assign e_kh = e_kw & kw_last;
            assign e_cf = e_kh & kh_last;
            assign e_ox = e_cf & cf_last;
        end else begin : g_im2col_order         // oy, ox, kh, kw, cf
            assign e_cf = rd_go;
            assign e_kw = e_cf & cf_last;
            assign e_kh = e_kw & kw_last;
            assign e_ox = e_kh & kh_last;
        end
    endgenerate
    assign e_oy = e_ox & ox_last;
    assign r_row_done = e_oy;
    assign r_img_done = e_oy & oy_last;
    wire kw_wrap = e_kw & kw_last;
    wire kh_wrap = e_kh & kh_last;

    /* verilator lint_off UNUSEDSIGNAL */
    wire [CF_W-1:0] cf;    // unused when CF = 1
    wire [KW_W-1:0] kw_q;  // only the last flags of these are used
    wire [KH_W-1:0] kh_q;
    wire [OW_W-1:0] ox_q;
    wire [OH_W-1:0] oy_q;
    /* verilator lint_on UNUSEDSIGNAL */
    sliding_window_count #(.N(CF), .W(CF_W)) u_cf (.clk(clk), .rst(rst), .en(e_cf), .q(cf), .last(cf_last));
    sliding_window_count #(.N(KW), .W(KW_W)) u_kw (.clk(clk), .rst(rst), .en(e_kw), .q(kw_q), .last(kw_last));
    sliding_window_count #(.N(KH), .W(KH_W)) u_kh (.clk(clk), .rst(rst), .en(e_kh), .q(kh_q), .last(kh_last));
    sliding_window_count #(.N(OW), .W(OW_W)) u_ox (.clk(clk), .rst(rst), .en(e_ox), .q(ox_q), .last(ox_last));
    sliding_window_count #(.N(OH), .W(OH_W)) u_oy (.clk(clk), .rst(rst), .en(e_oy), .q(oy_q), .last(oy_last));

    // ---- reader: address registers -------------------------------------------------------------
    /* verilator lint_off UNUSEDSIGNAL */
    reg [PIX_W-1:0] pix;      // input column of this beat: ox*SW + kw*DW (unused when IW = 1)
    /* verilator lint_on UNUSEDSIGNAL */
    reg [PIX_W-1:0] ox_pix;   // ox*SW
    reg [SLOT_W-1:0] kslot;   // slot of input row oy*SH + kh*DH
    reg [SLOT_W-1:0] rs;      // slot of input row oy*SH (the reader's first row)
    wire [SLOT_W-1:0] rs_nxt = slot_add(rs, oy_last ? LAST_S : SH_S);
    wire [PIX_W-1:0] ox_pix_nxt = ox_last ? {PIX_W{1'b0}} : ox_pix + SW_P;
    always @(posedge clk) begin
        if (rst) begin
            pix <= {PIX_W{1'b0}};
            ox_pix <= {PIX_W{1'b0}};
            kslot <= {SLOT_W{1'b0}};
            rs <= {SLOT_W{1'b0}};
        end else begin
            if (e_ox) pix <= ox_pix_nxt;
            else if (kw_wrap) pix <= ox_pix;
            else if (e_kw) pix <= pix + DW_P;
            if (e_ox) ox_pix <= ox_pix_nxt;
            if (e_oy) kslot <= rs_nxt;
            else if (kh_wrap) kslot <= rs;
            else if (e_kh) kslot <= slot_add(kslot, DH_S);
            if (e_oy) rs <= rs_nxt;
        end
    end

    // ---- buffer: {slot, pixel, cf} addresses ---------------------------------------------------
    wire [ADDR_W-1:0] waddr, raddr;
    generate
        if (PIX_AW > 0 && CF_AW > 0) begin : g_addr_pc
            assign waddr = {wslot, wpix, wcf};
            assign raddr = {kslot, pix, cf};
        end else if (PIX_AW > 0) begin : g_addr_p
            assign waddr = {wslot, wpix};
            assign raddr = {kslot, pix};
        end else if (CF_AW > 0) begin : g_addr_c
            assign waddr = {wslot, wcf};
            assign raddr = {kslot, cf};
        end else begin : g_addr_s
            assign waddr = wslot;
            assign raddr = kslot;
        end
    endgenerate

    // ---- buffer writes --------------------------------------------------------------------------
    // WR_REG = 1: beat, address and enable are registered first, so the link FIFO's output (its slot mux)
    // reaches a flip-flop, not the block RAM's data pins, which placement may put anywhere (CNV: link 6's
    // output slots -> layer 7's row buffer, 8.5 ns, 7.1 of it routing). The row count still steps when the
    // row's last beat is accepted, so a row is readable one cycle before its last word is in the RAM. That
    // word is never read then: the reader starts a row at pixel 0, cf 0 of its first row, and the row just
    // completed is that first row only when KH = 1, and its last word is pixel 0, cf 0 only when IW*CF = 1.
    wire wr_en;
    wire [ADDR_W-1:0] wr_addr;
    wire [BW-1:0] wr_data;
    generate
        if (WR_REG != 0) begin : g_wr_reg
            reg wr_q;
            reg [ADDR_W-1:0] wa_q;
            reg [BW-1:0] wd_q;
            always @(posedge clk) begin
                wr_q <= ~rst & wr_go;
                wa_q <= waddr;
                wd_q <= in_tdata;
            end
            assign wr_en = wr_q;
            assign wr_addr = wa_q;
            assign wr_data = wd_q;
            if (KH == 1 && IW * CF == 1) begin : g_bad_wr_reg
                initial begin
                    $display("sliding_window: WR_REG = 1 needs KH > 1 or IW*C/SIMD > 1 (a row's only word could be read as it is written)");
                    $finish;
                end
            end
        end else begin : g_wr_direct
            assign wr_en = wr_go;
            assign wr_addr = waddr;
            assign wr_data = in_tdata;
        end
    endgenerate
    always @(posedge clk) begin
        if (wr_en) rows[wr_addr] <= wr_data;
    end

    // ---- read pipeline: RAM read register, output register ------------------------------------
    reg [BW-1:0] rdata, dout;
    always @(posedge clk) begin
        if (adv) rdata <= rows[raddr];
    end
    always @(posedge clk) begin
        if (adv) dout <= rdata;
    end
    always @(posedge clk) begin
        if (rst) begin
            v1 <= 1'b0;
            v2 <= 1'b0;
        end else if (adv) begin
            v1 <= rd_go;
            v2 <= v1;
        end
    end
    assign out_tvalid = v2;
    assign out_tdata = dout;

    /* verilator lint_off UNUSEDSIGNAL */
    wire unused = wslot_last;
    /* verilator lint_on UNUSEDSIGNAL */
endmodule

/* verilator lint_off DECLFILENAME */
// A counter 0, 1, .., N-1, 0, .. advanced by `en`, with a registered flag `last` (q == N-1), so that
// the wrap of nested loops is an AND of flip-flops.
module sliding_window_count #(
    parameter integer N = 2,  // >= 1
    parameter integer W = 1   // >= $clog2(N), >= 1
) (
    input  wire         clk,
    input  wire         rst,
    input  wire         en,
    output reg  [W-1:0] q,
    output reg          last
);
    localparam integer NM2 = N - 2;
    localparam [W-1:0] BEFORE_LAST = NM2[W-1:0];
    always @(posedge clk) begin
        if (rst) begin
            q <= {W{1'b0}};
            last <= (N == 1);
        end else if (en) begin
            if (last) begin
                q <= {W{1'b0}};
                last <= (N == 1);
            end else begin
                q <= q + 1'b1;
                last <= (q == BEFORE_LAST);
            end
        end
    end
endmodule
/* verilator lint_on DECLFILENAME */

`default_nettype wire
