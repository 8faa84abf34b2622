// maxpool: FINN Pool with Function=MaxPool after a depthwise sliding window (ir.MaxPool).
//
//   out[c] = max_k x[k][c]        (two's complement compare when SIGNED, else unsigned; on bits: OR)
//
// Input stream: per output pixel, for each channel fold cf = 0..C/PE-1, K consecutive beats (window
// element k = 0..K-1), each holding channels cf*PE .. cf*PE+PE-1 (channel cf*PE+p at [p*ELEM_W +: ELEM_W]).
// Output stream: one beat per (pixel, cf), element p at [p*ELEM_W +: ELEM_W] = max over those K beats.
// One input beat per cycle when not stalled: II = K input beats per output beat, C/PE*K per pixel.
//
// Datapath: a running-max register per PE lane and a window counter k; the K-th beat's maximum goes
// straight into the output register. One global enable (`adv`): a stalled output freezes the whole
// unit (input not accepted, counter and running max held), nothing is lost or duplicated.
`default_nettype none

module maxpool #(
    parameter integer PE = 2,               // channels per beat, divides C
    parameter integer K = 4,                // window elements per channel (kernel_elems, >= 1)
    parameter integer ELEM_W = 1,           // element width
    parameter integer SIGNED = 0,           // 1: elements are two's complement
    // Channels and output pixels per image: every channel fold and pixel is handled alike and the
    // unit is free-running, so both are kept only for the interface FINN's unit has.
    /* verilator lint_off UNUSEDPARAM */
    parameter integer C = 8,
    parameter integer NUM_PIXELS = 1
    /* verilator lint_on UNUSEDPARAM */
) (
    input  wire                  clk,
    input  wire                  rst,
    input  wire [PE*ELEM_W-1:0]  in_tdata,
    input  wire                  in_tvalid,
    output wire                  in_tready,
    output wire [PE*ELEM_W-1:0]  out_tdata,
    output wire                  out_tvalid,
    input  wire                  out_tready
);
    localparam integer K_W = (K > 1) ? $clog2(K) : 1;
    localparam integer K_M1 = K - 1;
    localparam [K_W-1:0] K_LAST = K_M1[K_W-1:0];

    reg out_valid_q;
    wire adv = ~out_valid_q | out_tready;
    wire issue = adv & in_tvalid;
    assign in_tready = adv;

    // ---- window element counter ----------------------------------------------------------------
    reg [K_W-1:0] k;
    wire k_first = (k == {K_W{1'b0}});
    wire k_last = (k == K_LAST);
    always @(posedge clk) begin
        if (rst) k <= {K_W{1'b0}};
        else if (issue) k <= k_last ? {K_W{1'b0}} : k + 1'b1;
    end

    // ---- running maximum -----------------------------------------------------------------------
    // max(a, b): both sign- (SIGNED) or zero-extended by one bit and compared as signed, which is
    // exact for unsigned values too because the top bit is then always 0.
    function [ELEM_W-1:0] max2;
        input [ELEM_W-1:0] a;
        input [ELEM_W-1:0] b;
        reg [ELEM_W:0] ae, be;
        begin
            ae = {(SIGNED != 0) & a[ELEM_W-1], a};
            be = {(SIGNED != 0) & b[ELEM_W-1], b};
            max2 = ($signed(ae) >= $signed(be)) ? a : b;
        end
    endfunction

    reg [PE*ELEM_W-1:0] acc_q;
    wire [PE*ELEM_W-1:0] cand;  // max of this window so far, this beat included
    genvar gp;
    generate
        for (gp = 0; gp < PE; gp = gp + 1) begin : g_pe
            assign cand[gp*ELEM_W +: ELEM_W] = k_first ? in_tdata[gp*ELEM_W +: ELEM_W]
                                                       : max2(acc_q[gp*ELEM_W +: ELEM_W],
                                                              in_tdata[gp*ELEM_W +: ELEM_W]);
        end
    endgenerate

    always @(posedge clk) begin
        if (issue) acc_q <= cand;
    end

    // ---- output register -----------------------------------------------------------------------
    reg [PE*ELEM_W-1:0] out_data_q;
    always @(posedge clk) begin
        if (rst) out_valid_q <= 1'b0;
        else if (adv) out_valid_q <= issue & k_last;
    end
    always @(posedge clk) begin
        if (issue & k_last) out_data_q <= cand;
    end

    assign out_tvalid = out_valid_q;
    assign out_tdata = out_data_q;
endmodule

`default_nettype wire
