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
// Thresholds are ascending per channel (the IR checks it), so the compare bits ge[t] = (x >= T[t]) are a
// thermometer code (ones, then zeros) and the count is where the ones end. It is encoded directly, not summed:
// bit b of the count is OR_j ge[j*2^(b+1) + 2^b - 1] & ~ge[(j+1)*2^(b+1) - 1] (ge[t] = 0 past N_THRES), a
// shallow AND-OR per bit where an adder tree over N_THRES bits would be ~log2(N_THRES) adders deep (CNV's 255
// thresholds set the whole CNV's clock that way: benchmarks/results/pnr/).
//
// Pipeline: S0 accept beat, registered threshold ROM read -> [CMP_REG: compare bits registered] -> compare /
// encode into the output register. One global enable (`adv`): a stalled output freezes every stage, nothing
// is lost or duplicated.
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
    parameter integer CMP_REG = 0,          // 1: register the PE*N_THRES compare bits before encoding (+1 cycle)
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

    // ---- S1: compare (offset binary) -> [CMP_REG] -> thermometer encode + bias into the output register -----
    // Both operands are extended to CMP_W bits (sign- or zero-) and their top bit is flipped when signed, so
    // one unsigned compare is exact for both cases.
    localparam integer SIGNED = (IN_SIGNED != 0) ? 1 : 0;
    localparam [CMP_W-1:0] FLIP = {SIGNED[0], {(CMP_W-1){1'b0}}};
    localparam integer CNT_W = $clog2(N_THRES + 1);  // count bits; OUT_W >= CNT_W
    localparam integer NP = 1 << CNT_W;              // code length padded with zeros (NP > N_THRES)
    function [N_THRES-1:0] compare_ge;
        input [IN_W-1:0] x;
        input [N_THRES*TW-1:0] thr;
        integer t;
        reg [CMP_W-1:0] xe, te;
        begin
            xe = {{(CMP_W-IN_W){x[IN_W-1] & SIGNED[0]}}, x} ^ FLIP;
            for (t = 0; t < N_THRES; t = t + 1) begin
                te = {{(CMP_W-TW){thr[t*TW+TW-1] & SIGNED[0]}}, thr[t*TW +: TW]} ^ FLIP;
                compare_ge[t] = (xe >= te);
            end
        end
    endfunction
    function [OUT_W-1:0] therm_count;                // #ones of a thermometer code (see header)
        input [N_THRES-1:0] ge;
        integer b, j;
        reg [NP-1:0] code;
        reg bit_b;
        begin
            code = {NP{1'b0}};
            code[N_THRES-1:0] = ge;
            therm_count = {OUT_W{1'b0}};
            for (b = 0; b < CNT_W; b = b + 1) begin
                bit_b = 1'b0;
                for (j = 0; j < NP / (2 << b); j = j + 1)
                    bit_b = bit_b | (code[j * (2 << b) + (1 << b) - 1] & ~code[(j + 1) * (2 << b) - 1]);
                therm_count[b] = bit_b;
            end
        end
    endfunction

    // count + bias modulo 2^OUT_W: exact, since OUT_W holds the biased range and 2^OUT_W > N_THRES
    localparam integer BIAS_I = OUT_BIAS;
    localparam [OUT_W-1:0] BIAS = BIAS_I[OUT_W-1:0];
    reg [PE*OUT_W-1:0] out_data_q;
    generate
        if (CMP_REG != 0) begin : g_cmp_reg
            reg [PE*N_THRES-1:0] ge_q;
            reg v2;
            integer p;
            always @(posedge clk) begin
                if (rst) begin
                    v2 <= 1'b0;
                    out_valid_q <= 1'b0;
                end else if (adv) begin
                    v2 <= v1;
                    out_valid_q <= v2;
                end
            end
            always @(posedge clk) begin
                // computed only for a valid beat (in hardware: the same logic, with an enable)
                if (adv & v1)
                    for (p = 0; p < PE; p = p + 1)
                        ge_q[p*N_THRES +: N_THRES] <= compare_ge(x_q[p*IN_W +: IN_W],
                                                                 thr_q[p*N_THRES*TW +: N_THRES*TW]);
                if (adv & v2)
                    for (p = 0; p < PE; p = p + 1)
                        out_data_q[p*OUT_W +: OUT_W] <= therm_count(ge_q[p*N_THRES +: N_THRES]) + BIAS;
            end
        end else begin : g_cmp_comb
            integer p;
            always @(posedge clk) begin
                if (rst) out_valid_q <= 1'b0;
                else if (adv) out_valid_q <= v1;
            end
            always @(posedge clk) begin
                if (adv & v1)
                    for (p = 0; p < PE; p = p + 1)
                        out_data_q[p*OUT_W +: OUT_W] <= therm_count(compare_ge(x_q[p*IN_W +: IN_W],
                                                                   thr_q[p*N_THRES*TW +: N_THRES*TW])) + BIAS;
            end
        end
    endgenerate

    assign out_tvalid = out_valid_q;
    assign out_tdata = out_data_q;
endmodule

`default_nettype wire
