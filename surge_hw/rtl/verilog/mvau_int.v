// mvau_int: integer-input x bipolar-weight matrix-vector(-threshold) unit, FINN MVAU with
// binaryXnorMode=0 (ir.IntegerMVAU; CNV's first layer: INT8 pixels x +-1 weights).
//
//   acc[r] = sum_i (W[r, i] ? +x[i] : -x[i])      signed, ACC_W-bit two's complement (1 <-> +1, 0 <-> -1)
//   out[r] = #{t : acc[r] >= T[r][t]}             signed compare (N_THRES > 0), else out[r] = acc[r]
//
// Folding, input buffer (the fold sequencer, mvau_fold.v), pipeline and memories are those of
// mvau_binary.v; only the element width and the arithmetic differ. SIMD input elements of IN_W bits per
// cycle (element s of a beat at [s*IN_W +: IN_W], two's complement when IN_SIGNED, else unsigned), PE
// output neurons in parallel. One input vector arrives
// as SF = MW/SIMD beats and leaves as NF = MH/PE beats of PE*OUT_W bits (neuron nf*PE+p at
// [p*OUT_W +: OUT_W]). Fold nf = 0 reads the stream and fills the input buffer; folds nf > 0 replay it,
// so the initiation interval is NF*SF cycles per vector.
//
// Flow control without a global stall: the pipeline never stops. Results enter a small output FIFO
// (ODEPTH entries), and the fold sequencer (mvau_fold.v) only starts a fold group when an entry is free
// for its result (credits), so a stalled consumer stops the *input*.
//
// Pipeline (valid bits travel with the data; the data registers load every cycle):
//   S0 fold counters, credits, input select -> S1 weight ROM word (registered read: BRAM-inferable), x
//  [S1r W_REG = 1: second weight/input register (the BRAM output register), off the ROM's clk->out path]
//  [S2s SUM_REG = 1: per lane sum over SIMD of +-x, registered: -x and the accumulate were two carry chains
//       in series (CNV's first layer: input register -> negate -> accumulate, 8.1 ns, a seed's worst path)]
//   S2  per lane sum over SIMD of +-x (unless S2s), accumulate; threshold ROM read on the last fold step
//   S3  threshold compare -> output FIFO (first-word fall-through: out_tvalid/out_tdata are registered)
// W_REG and SUM_REG add one cycle of latency each; the initiation interval stays NF*SF cycles per vector.
//
// Memories (hex, $readmemh):
//   WEIGHT_FILE: NF*SF words of PE*SIMD bits; word nf*SF+sf, bit [p*SIMD+s] = W[nf*PE+p][sf*SIMD+s].
//   THRES_FILE : NF words of PE*N_THRES*TW bits; field [(p*N_THRES+t)*TW +: TW] = T[nf*PE+p][t],
//                TW-bit two's complement, clipped by the generator to [acc_lo, acc_hi+1] (which
//                preserves the semantics).
`default_nettype none

module mvau_int #(
    parameter integer MW = 16,              // input vector length (elements)
    parameter integer MH = 8,               // output vector length (neurons)
    parameter integer SIMD = 4,             // input elements per cycle, divides MW
    parameter integer PE = 2,               // neurons per cycle, divides MH
    parameter integer IN_W = 8,             // input element width
    parameter integer IN_SIGNED = 1,        // 1: inputs are two's complement, 0: unsigned
    parameter integer N_THRES = 1,          // thresholds per neuron; 0 = output the accumulator
    parameter integer ACC_W = 13,           // accumulator width (two's complement), > IN_W
    parameter integer OUT_W = 1,            // output element width (ACC_W when N_THRES = 0)
    parameter integer TW = 13,              // threshold width (two's complement)
    parameter integer W_REG = 0,            // 1: extra register after the weight ROM (BRAM output register)
    parameter integer SUM_REG = 0,          // 1: each lane's sum of +-x registered before the accumulate
    parameter WEIGHT_FILE = "weights.mem",
    parameter THRES_FILE = "thresholds.mem",
    // Vectors per image: the unit is free-running, kept for the interface FINN's MVAU has.
    /* verilator lint_off UNUSEDPARAM */
    parameter integer NUM_VECTORS = 1
    /* verilator lint_on UNUSEDPARAM */
) (
    input  wire                  clk,
    input  wire                  rst,
    input  wire [SIMD*IN_W-1:0]  in_tdata,
    input  wire                  in_tvalid,
    output wire                  in_tready,
    output wire [PE*OUT_W-1:0]   out_tdata,
    output wire                  out_tvalid,
    input  wire                  out_tready
);
    localparam integer SF = MW / SIMD;
    localparam integer NF = MH / PE;
    localparam integer NF_W = (NF > 1) ? $clog2(NF) : 1;
    localparam integer WDEPTH = NF * SF;
    localparam integer WA_W = (WDEPTH > 1) ? $clog2(WDEPTH) : 1;
    localparam [0:0] SIGNED_IN = (IN_SIGNED != 0) ? 1'b1 : 1'b0;
    // cycles from a group's first beat to its result leaving the FIFO (see mvau_binary.v)
    localparam integer LAT = SF + 3 + ((W_REG != 0) ? 1 : 0) + ((SUM_REG != 0) ? 1 : 0);
    localparam integer ODEPTH = (LAT + SF - 1) / SF + 1;

    // sum over the SIMD elements of (w[s] ? +x[s] : -x[s]), at accumulator width
    function [ACC_W-1:0] bipolar_sum;
        input [SIMD-1:0] w;
        input [SIMD*IN_W-1:0] x;
        integer s;
        reg [ACC_W-1:0] xe;
        begin
            bipolar_sum = {ACC_W{1'b0}};
            for (s = 0; s < SIMD; s = s + 1) begin
                xe = {ACC_W{SIGNED_IN & x[s*IN_W + IN_W - 1]}};
                xe[IN_W-1:0] = x[s*IN_W +: IN_W];
                bipolar_sum = w[s] ? bipolar_sum + xe : bipolar_sum - xe;
            end
        end
    endfunction

    // ---- S0: fold counters, credits, input select (mvau_fold.v) ---------------------------------------
    wire issue, group_start, sf_last;
    wire [NF_W-1:0] nf;
    wire [WA_W-1:0] waddr;                      // nf*SF + sf
    wire [SIMD*IN_W-1:0] x_sel;
    wire pop = out_tvalid & out_tready;
    mvau_fold #(.SF(SF), .NF(NF), .BEAT_W(SIMD*IN_W), .ODEPTH(ODEPTH)) u_fold (
        .clk(clk), .rst(rst), .in_tdata(in_tdata), .in_tvalid(in_tvalid), .in_tready(in_tready), .pop(pop),
        .issue(issue), .group_start(group_start), .sf_last(sf_last), .nf(nf), .waddr(waddr), .x_sel(x_sel)
    );

    // ---- S1: weight ROM (registered read), input elements, control -----------------------------------
    reg [PE*SIMD-1:0] wmem [0:WDEPTH-1];
    initial $readmemh(WEIGHT_FILE, wmem);

    reg [PE*SIMD-1:0] w_q;
    reg [SIMD*IN_W-1:0] x_q;
    reg v1, first1, last1;
    reg [NF_W-1:0] nf1;
    always @(posedge clk) begin
        w_q <= wmem[waddr];
        x_q <= x_sel;
        first1 <= group_start;
        last1 <= sf_last;
        nf1 <= nf;
    end
    always @(posedge clk) begin
        if (rst) v1 <= 1'b0;
        else v1 <= issue;
    end

    // ---- S1r (W_REG = 1): a second register after the ROM (BRAM output register) -------------------
    wire [PE*SIMD-1:0] w_a;
    wire [SIMD*IN_W-1:0] x_a;
    wire va, firsta, lasta;
    wire [NF_W-1:0] nfa;
    generate
        if (W_REG != 0) begin : g_wreg
            reg [PE*SIMD-1:0] w_r;
            reg [SIMD*IN_W-1:0] x_r;
            reg v_r, first_r, last_r;
            reg [NF_W-1:0] nf_r;
            always @(posedge clk) begin
                {w_r, x_r, first_r, last_r, nf_r} <= {w_q, x_q, first1, last1, nf1};
            end
            always @(posedge clk) begin
                if (rst) v_r <= 1'b0;
                else v_r <= v1;
            end
            assign {w_a, x_a, va, firsta, lasta, nfa} = {w_r, x_r, v_r, first_r, last_r, nf_r};
        end else begin : g_no_wreg
            assign {w_a, x_a, va, firsta, lasta, nfa} = {w_q, x_q, v1, first1, last1, nf1};
        end
    endgenerate

    // ---- S2s (SUM_REG = 1): each lane's sum of +-x, registered -------------------------------------
    wire [PE*ACC_W-1:0] sum_c;                  // each lane's sum of +-x
    wire [PE*ACC_W-1:0] sum_b;                  // ... as the accumulate sees it
    wire vb, firstb, lastb;
    wire [NF_W-1:0] nfb;
    genvar gq;
    generate
        for (gq = 0; gq < PE; gq = gq + 1) begin : g_lane
            assign sum_c[gq*ACC_W +: ACC_W] = bipolar_sum(w_a[gq*SIMD +: SIMD], x_a);
        end
        if (SUM_REG != 0) begin : g_sum_reg
            reg [PE*ACC_W-1:0] sum_q;
            reg v_s, first_s, last_s;
            reg [NF_W-1:0] nf_s;
            always @(posedge clk) {sum_q, first_s, last_s, nf_s} <= {sum_c, firsta, lasta, nfa};
            always @(posedge clk) begin
                if (rst) v_s <= 1'b0;
                else v_s <= va;
            end
            assign {sum_b, vb, firstb, lastb, nfb} = {sum_q, v_s, first_s, last_s, nf_s};
        end else begin : g_sum_comb
            assign {sum_b, vb, firstb, lastb, nfb} = {sum_c, va, firsta, lasta, nfa};
        end
    endgenerate

    // ---- S2: accumulate ----------------------------------------------------------------------------
    reg [PE*ACC_W-1:0] acc;
    reg v2;
    integer p;
    always @(posedge clk) begin
        if (vb) begin
            for (p = 0; p < PE; p = p + 1) begin
                acc[p*ACC_W +: ACC_W] <= (firstb ? {ACC_W{1'b0}} : acc[p*ACC_W +: ACC_W])
                                         + sum_b[p*ACC_W +: ACC_W];
            end
        end
    end
    always @(posedge clk) begin
        if (rst) v2 <= 1'b0;
        else v2 <= vb & lastb;
    end

    // ---- S3: activation (thresholds) into the output FIFO --------------------------------------------
    wire [PE*OUT_W-1:0] result;
    generate
        if (N_THRES > 0) begin : g_thres
            localparam integer CMP_W = (TW > ACC_W) ? TW : ACC_W;
            reg [PE*N_THRES*TW-1:0] tmem [0:NF-1];
            initial $readmemh(THRES_FILE, tmem);
            reg [PE*N_THRES*TW-1:0] thr_q;
            always @(posedge clk) begin
                if (vb & lastb) thr_q <= tmem[nfb];
            end

            // #{t : a >= T[t]}, both sign-extended to CMP_W bits; the flipped top bit (offset binary)
            // turns the signed compare into one unsigned compare
            localparam [CMP_W-1:0] FLIP = {1'b1, {(CMP_W-1){1'b0}}};
            function [OUT_W-1:0] count_ge;
                input [ACC_W-1:0] a;
                input [N_THRES*TW-1:0] thr;
                integer t;
                reg [CMP_W-1:0] ae, te;
                reg [OUT_W-1:0] one;
                begin
                    count_ge = {OUT_W{1'b0}};
                    ae = {CMP_W{a[ACC_W-1]}};
                    ae[ACC_W-1:0] = a;
                    ae = ae ^ FLIP;
                    for (t = 0; t < N_THRES; t = t + 1) begin
                        te = {CMP_W{thr[t*TW + TW - 1]}};
                        te[TW-1:0] = thr[t*TW +: TW];
                        one = {OUT_W{1'b0}};
                        one[0] = ((te ^ FLIP) <= ae);
                        count_ge = count_ge + one;
                    end
                end
            endfunction

            genvar gp;
            for (gp = 0; gp < PE; gp = gp + 1) begin : g_pe
                assign result[gp*OUT_W +: OUT_W] =
                    count_ge(acc[gp*ACC_W +: ACC_W], thr_q[gp*N_THRES*TW +: N_THRES*TW]);
            end
        end else begin : g_no_thres
            // no activation: the accumulator is the output (OUT_W == ACC_W)
            assign result = acc;
            wire unused_nfb = &{1'b0, nfb};
        end
    endgenerate

    // never full: a group only starts with a credit for its entry
    /* verilator lint_off UNUSEDSIGNAL */
    wire ofifo_ready;
    /* verilator lint_on UNUSEDSIGNAL */
    axis_fifo #(.WIDTH(PE*OUT_W), .DEPTH(ODEPTH)) ofifo (
        .clk(clk), .rst(rst),
        .s_tdata(result), .s_tvalid(v2), .s_tready(ofifo_ready),
        .m_tdata(out_tdata), .m_tvalid(out_tvalid), .m_tready(out_tready)
    );
endmodule

`default_nettype wire
