// thresholding: FINN Thresholding on an integer stream (ir.ThresholdLayer), e.g. uint8 pixels -> bits.
//
//   out[c] = #{t : x[c] >= T[c][t]} + OUT_BIAS      (OUT_BIAS = FINN's ActVal, e.g. -128 for an INT8 output)
//
// Folding: PE channels per beat, C/PE beats per vector (channel c = cf*PE + p at [p*IN_W +: IN_W]
// of beat cf; output element p at [p*OUT_W +: OUT_W]).
//
// Threshold memory THRES_FILE (hex, $readmemh): C/PE words of PE*N_THRES*TW bits, field
// [(p*N_THRES+t)*TW +: TW] = T[cf*PE+p][t], two's complement when IN_SIGNED. The generator clips the
// thresholds to the input range plus one ([0, 2^IN_W] unsigned), so TW = IN_W + 1 is always enough.
//
// Pipeline: S0 accept beat, registered threshold ROM read -> S1 compare into the output register.
// One global enable (`adv`): a stalled output freezes both stages, nothing is lost or duplicated.
`default_nettype none

module thresholding #(
    parameter integer C = 8,                // channels per vector
    parameter integer PE = 2,               // channels per beat, divides C
    parameter integer IN_W = 8,             // input element width
    parameter integer IN_SIGNED = 0,        // 1: inputs and thresholds are two's complement
    parameter integer N_THRES = 1,          // thresholds per channel (>= 1)
    parameter integer OUT_W = 1,            // output width, holds OUT_BIAS..OUT_BIAS+N_THRES (2's complement
                                            // when OUT_BIAS < 0)
    parameter integer OUT_BIAS = 0,         // added to the count (FINN ActVal)
    parameter integer TW = 9,               // threshold width (>= IN_W + 1)
    parameter THRES_FILE = "thresholds.mem",
    // Vectors per image: the unit is free-running, kept for the interface FINN's unit has.
    /* verilator lint_off UNUSEDPARAM */
    parameter integer NUM_VECTORS = 1
    /* verilator lint_on UNUSEDPARAM */
) (
    input  wire                  clk,
    input  wire                  rst,
    input  wire [PE*IN_W-1:0]    in_tdata,
    input  wire                  in_tvalid,
    output wire                  in_tready,
    output wire [PE*OUT_W-1:0]   out_tdata,
    output wire                  out_tvalid,
    input  wire                  out_tready
);
    localparam integer CF = C / PE;
    localparam integer CF_W = (CF > 1) ? $clog2(CF) : 1;
    localparam integer CF_M1 = CF - 1;
    localparam [CF_W-1:0] CF_LAST = CF_M1[CF_W-1:0];
    // compare width: one bit more than both operands so signed and unsigned compares share a form
    localparam integer CMP_W = ((TW > IN_W) ? TW : IN_W) + 1;

    reg out_valid_q;
    wire adv = ~out_valid_q | out_tready;
    wire issue = adv & in_tvalid;
    assign in_tready = adv;

    // ---- S0: channel fold counter, threshold ROM (registered read) ------------------------------
    reg [PE*N_THRES*TW-1:0] tmem [0:CF-1];
    initial $readmemh(THRES_FILE, tmem);

    reg [CF_W-1:0] cf;
    always @(posedge clk) begin
        if (rst) cf <= {CF_W{1'b0}};
        else if (issue) cf <= (cf == CF_LAST) ? {CF_W{1'b0}} : cf + 1'b1;
    end

    reg [PE*N_THRES*TW-1:0] thr_q;
    reg [PE*IN_W-1:0] x_q;
    reg v1;
    always @(posedge clk) begin
        if (issue) begin                  // loaded only with a beat: idle cycles move no data
            thr_q <= tmem[cf];
            x_q <= in_tdata;
        end
    end
    always @(posedge clk) begin
        if (rst) v1 <= 1'b0;
        else if (adv) v1 <= issue;
    end

    // ---- S1: compare into the output register ---------------------------------------------------
    // #{t : x >= T[t]}. Both operands are extended to CMP_W bits (sign- or zero-) and their top bit is
    // flipped when signed, so one unsigned compare is exact for both cases (offset binary).
    localparam integer SIGNED = (IN_SIGNED != 0) ? 1 : 0;
    localparam [CMP_W-1:0] FLIP = {SIGNED[0], {(CMP_W-1){1'b0}}};
    function [OUT_W-1:0] count_ge;
        input [IN_W-1:0] x;
        input [N_THRES*TW-1:0] thr;
        integer t, n;
        reg [CMP_W-1:0] xe, te;
        reg [N_THRES*OUT_W-1:0] lane;           // the compare bits, summed as a balanced adder tree
        begin
            lane = {N_THRES*OUT_W{1'b0}};
            xe = {{(CMP_W-IN_W){x[IN_W-1] & SIGNED[0]}}, x} ^ FLIP;
            for (t = 0; t < N_THRES; t = t + 1) begin
                te = {{(CMP_W-TW){thr[t*TW+TW-1] & SIGNED[0]}}, thr[t*TW +: TW]} ^ FLIP;
                lane[t*OUT_W] = (xe >= te);
            end
            for (n = N_THRES; n > 1; n = (n + 1) / 2)
                for (t = 0; t < (n + 1) / 2; t = t + 1)
                    lane[t*OUT_W +: OUT_W] = (2*t + 1 < n) ? lane[2*t*OUT_W +: OUT_W] + lane[(2*t+1)*OUT_W +: OUT_W]
                                                           : lane[2*t*OUT_W +: OUT_W];
            count_ge = lane[OUT_W-1:0];
        end
    endfunction

    // count + bias modulo 2^OUT_W: exact, since OUT_W holds the biased range and 2^OUT_W > N_THRES
    localparam integer BIAS_I = OUT_BIAS;
    localparam [OUT_W-1:0] BIAS = BIAS_I[OUT_W-1:0];
    reg [PE*OUT_W-1:0] out_data_q;
    integer p;
    always @(posedge clk) begin
        if (rst) out_valid_q <= 1'b0;
        else if (adv) out_valid_q <= v1;
    end
    always @(posedge clk) begin
        // computed only when a result is taken (in hardware: the same compare, with an enable)
        if (adv & v1)
            for (p = 0; p < PE; p = p + 1)
                out_data_q[p*OUT_W +: OUT_W] <= count_ge(x_q[p*IN_W +: IN_W], thr_q[p*N_THRES*TW +: N_THRES*TW])
                                                + BIAS;
    end

    assign out_tvalid = out_valid_q;
    assign out_tdata = out_data_q;
endmodule

`default_nettype wire
