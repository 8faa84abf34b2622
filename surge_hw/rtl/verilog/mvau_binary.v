// mvau_binary: XNOR-popcount matrix-vector(-threshold) unit, FINN MVAU semantics (ir.BinaryMVAU).
//
//   acc[r] = popcount(XNOR(W[r, :], x))            over the MW input bits (1 <-> +1, 0 <-> -1)
//   out[r] = #{t : acc[r] >= T[r][t]}              (N_THRES > 0), else out[r] = acc[r]
//
// Folding: SIMD input bits per cycle, PE output neurons in parallel. One input vector arrives as
// SF = MW/SIMD beats of SIMD bits (element i of a beat at bit i) and leaves as NF = MH/PE beats of
// PE*OUT_W bits (neuron nf*PE+p at [p*OUT_W +: OUT_W]). During the first neuron fold (nf = 0) the
// input beats come from the stream and are kept in an input buffer; folds nf > 0 replay the buffer,
// as FINN does, so the initiation interval is NF*SF cycles per vector.
//
// Flow control without a global stall: the pipeline never stops. Results enter a small output FIFO
// (ODEPTH entries), and the fold sequencer (mvau_fold.v) only starts a fold group when an entry is free
// for its result (credits), so a stalled consumer stops the *input*.
//
// Pipeline (valid bits travel with the data; the ROM/input registers load every cycle, the count
// registers with their stage's valid bit):
//   S0 fold counters, credits, input select -> S1 weight ROM word (registered read: BRAM-inferable), x
//  [S1r W_REG >= 1: W_REG more weight/input registers (the first: the BRAM output register), off the
//       ROM's clk->out path; a second one lets the first sit beside a wide ROM's block RAMs]
//  [S1m W_BANK > 0: the ROM in banks of W_BANK words, S1r per bank, the bank selected into a register]
//  (W_SLICE > 0: S1's ROM in LUTs, read in W_SLICE-bit slices, each by its own copy of the address)
//  [S2p POP_CHUNK < SIMD: XNOR + popcounts of POP_CHUNK-bit chunks, registered (pipelined adder tree)]
//  [S2g SUM_GROUP < chunks: registered levels of SUM_GROUP-input sums, until <= SUM_GROUP values remain]
//  [S2s SUM_REG = 1: their sum, registered; the accumulate is then one short add]
//   S2  XNOR + (sum of partial) popcounts, accumulate; threshold ROM read on the last fold step
//  [S2t THR_REG = 1: accumulator and threshold word registered again (the threshold ROM's BRAM output
//       register: a BRAM read straight into the compare set LFC's clock); THR_REG = 2: once more, so that
//       one register stays in the fabric beside the compare when `surge-hw pnr` moves the first into the RAM]
//   S3  threshold compare -> output FIFO (first-word fall-through: out_tvalid/out_tdata are registered)
// Each optional stage (and each of the W_REG registers) adds one cycle of latency; the initiation
// interval stays NF*SF cycles per vector.
//
// Memories (hex, $readmemh):
//   WEIGHT_FILE: NF*SF words of PE*SIMD bits; word nf*SF+sf, bit [p*SIMD+s] = W[nf*PE+p][sf*SIMD+s].
//                With W_BANK, instead NB <= 100 files <WEIGHT_BANK_PREFIX>00.mem .. of W_BANK words each:
//                words b*W_BANK .. of that image (the last one zero-padded).
//   THRES_FILE : NF words of PE*N_THRES*TW bits; field [(p*N_THRES+t)*TW +: TW] = T[nf*PE+p][t],
//                unsigned, clipped by the generator to [0, MW+1] (which preserves the semantics).
`default_nettype none

module mvau_binary #(
    parameter integer MW = 16,              // input vector length (bits)
    parameter integer MH = 8,               // output vector length (neurons)
    parameter integer SIMD = 4,             // input bits per cycle, divides MW
    parameter integer PE = 2,               // neurons per cycle, divides MH
    parameter integer N_THRES = 1,          // thresholds per neuron; 0 = output the popcount
    parameter integer ACC_W = 5,            // popcount width, holds 0..MW
    parameter integer OUT_W = 1,            // output element width (ACC_W when N_THRES = 0)
    parameter integer TW = 5,               // threshold width, holds 0..MW+1
    parameter integer W_REG = 0,            // >= 1: registers after the weight ROM (the BRAM output register..)
    parameter integer W_BANK = 0,           // > 0 (a power of two < MW*MH/(SIMD*PE), with W_REG >= 1): the ROM
                                            //    in banks of this many words, each registered, then selected
    parameter integer W_SLICE = 0,          // > 0 and < PE*SIMD (no W_BANK): the ROM in LUTs, read in slices
                                            //    of this many bits, each with its own address register
    parameter integer POP_CHUNK = 0,        // > 0 and < SIMD: registered partial popcounts of this many bits
    parameter integer SUM_REG = 0,          // 1: the sum of the partial popcounts is registered before the
                                            //    accumulate (with POP_CHUNK: a two-level pipelined adder tree)
    parameter integer THR_REG = 0,          // 1 or 2 (with N_THRES > 0): register acc and the threshold word
                                            //    before the compare, once or twice
    parameter integer SUM_GROUP = 0,        // > 1 and < SIMD/POP_CHUNK: the partial counts are summed in
                                            //    registered levels of this fan-in first (784: 98 -> 25 -> 7 -> 2)
    parameter WEIGHT_FILE = "weights.mem",
    parameter WEIGHT_BANK_PREFIX = "weights_b",  // W_BANK: bank b's words in <prefix><b, 2 digits>.mem
    parameter THRES_FILE = "thresholds.mem",
    // Vectors per image: the unit is free-running, kept for the interface FINN's MVAU has.
    /* verilator lint_off UNUSEDPARAM */
    parameter integer NUM_VECTORS = 1
    /* verilator lint_on UNUSEDPARAM */
) (
    input  wire                  clk,
    input  wire                  rst,
    input  wire [SIMD-1:0]       in_tdata,
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
    localparam integer WD_M1 = WDEPTH - 1;
    localparam [WA_W-1:0] WA_LAST = WD_M1[WA_W-1:0];  // W_SLICE's address copies count like waddr

    // W_BANK (with W_REG, a power of two below NF*SF): the weight ROM in banks, one more cycle (S1m)
    localparam integer BANKED = (W_REG != 0 && W_BANK > 0 && W_BANK < WDEPTH) ? 1 : 0;
    localparam integer BK_W = (BANKED != 0) ? $clog2(W_BANK) : 0;
    localparam integer NB = (BANKED != 0) ? (WDEPTH + W_BANK - 1) / W_BANK : 1;
    // a + 1 as XORs and ANDs, so that synthesis builds it in LUTs, not on a carry chain: abc9 sees through
    // ECP5's carry cells and fed a slice's ROM from the address counter's sum outputs, which put the chain
    // (0.9 ns and a route to it) on CNV's worst path (layer 4: address copy -> chain -> ROM -> slice, 8.1 ns)
    function [WA_W-1:0] inc_lut;
        input [WA_W-1:0] a;
        integer i;
        reg c;
        begin
            c = 1'b1;
            for (i = 0; i < WA_W; i = i + 1) begin
                inc_lut[i] = a[i] ^ c;
                c = c & a[i];
            end
        end
    endfunction

    // W_SLICE (without W_BANK, below PE*SIMD): the weight ROM in LUTs, in slices with their own address
    localparam integer SLICED = (BANKED == 0 && W_SLICE > 0 && W_SLICE < PE * SIMD) ? 1 : 0;
    localparam integer NRS = (SLICED != 0) ? (PE * SIMD + W_SLICE - 1) / W_SLICE : 1;

    localparam integer CH = (POP_CHUNK > 0 && POP_CHUNK < SIMD) ? POP_CHUNK : SIMD;
    localparam integer NCH = (SIMD + CH - 1) / CH;    // chunks per neuron; the last may be shorter
    localparam integer PW = $clog2(CH + 1);           // width of one partial count
    localparam integer POP_REG = (CH < SIMD) ? 1 : 0;
    localparam integer GRP = (SUM_GROUP > 1 && SUM_GROUP < NCH) ? SUM_GROUP : 1;  // fan-in of a level
    // S2g reduction levels: level 0 = the NCH partial counts, level k+1 = sums of GRP values of level k
    function integer lvl_n;                           // values at level k
        input integer k;
        integer i;
        begin
            lvl_n = NCH;
            for (i = 0; i < k; i = i + 1) lvl_n = (lvl_n + GRP - 1) / GRP;
        end
    endfunction
    function integer lvl_w;                           // bits of one value at level k (a count <= SIMD)
        input integer k;
        integer i, b;
        begin
            b = CH;
            for (i = 0; i < k; i = i + 1) b = (b * GRP > SIMD) ? SIMD : b * GRP;
            lvl_w = $clog2(b + 1);
        end
    endfunction
    function integer n_levels;                        // levels until <= GRP values remain
        input integer unused;
        integer i, n;
        begin
            n_levels = 0;
            n = NCH;
            for (i = 0; i < 32; i = i + 1)
                if (GRP > 1 && n > GRP) begin
                    n = (n + GRP - 1) / GRP;
                    n_levels = n_levels + 1;
                end
            n_levels = n_levels + 0 * unused;
        end
    endfunction
    localparam integer NLV = n_levels(0);
    localparam integer NG = lvl_n(NLV);               // values the final sum adds
    localparam integer GW = lvl_w(NLV);               // width of one of them
    localparam integer SL = NCH + GRP;                // slots per level (a short last group reads zeros)
    // cycles from a group's first beat to its result leaving the FIFO when nothing stalls: the SF beats,
    // S1, the optional stages, S2, S3 (FIFO write) and the FIFO's output; one entry per SF cycles of that
    // is in flight, plus one so that a credit returned this cycle is not yet needed
    localparam integer LAT = SF + 3 + W_REG + BANKED + POP_REG + NLV + ((SUM_REG != 0) ? 1 : 0)
                             + ((THR_REG != 0 && N_THRES > 0) ? THR_REG : 0);
    localparam integer ODEPTH = (LAT + SF - 1) / SF + 1;

    // ---- S0: fold counters, credits, input select (mvau_fold.v) ---------------------------------------
    wire issue, group_start, sf_last;
    wire [NF_W-1:0] nf;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [WA_W-1:0] waddr;                      // nf*SF + sf (W_SLICE: unused, the slices count their own copies)
    /* verilator lint_on UNUSEDSIGNAL */
    wire [SIMD-1:0] x_sel;
    wire pop = out_tvalid & out_tready;
    mvau_fold #(.SF(SF), .NF(NF), .BEAT_W(SIMD), .ODEPTH(ODEPTH)) u_fold (
        .clk(clk), .rst(rst), .in_tdata(in_tdata), .in_tvalid(in_tvalid), .in_tready(in_tready), .pop(pop),
        .issue(issue), .group_start(group_start), .sf_last(sf_last), .nf(nf), .waddr(waddr), .x_sel(x_sel)
    );

    // ---- S1: weight ROM (registered read), input bits, control -----------------------------------
    wire [PE*SIMD-1:0] w_q;  // the ROM word (W_BANK: unused, the banks have their own, see g_wbank)
    generate
        if (SLICED != 0) begin : g_wrom_sliced
            // W_SLICE: a shallow, wide ROM in LUTs, read in slices of W_SLICE bits, each by its own copy of the
            // address counter. One address register decoding all bits fanned out over the die: CNV's
            // 36 x 1024-bit ROM (layer MVAU_hls_1) then set the clock at 95.5 MHz (10.5 ns, 8.8 ns routing).
            genvar gs;
            for (gs = 0; gs < NRS; gs = gs + 1) begin : g_rs
                localparam integer LO = gs * W_SLICE;
                localparam integer W = (LO + W_SLICE <= PE * SIMD) ? W_SLICE : PE * SIMD - LO;
                (* keep = "true" *) reg [WA_W-1:0] wa;  // = waddr
                always @(posedge clk) begin
                    if (rst) wa <= {WA_W{1'b0}};
                    else if (issue) wa <= (wa == WA_LAST) ? {WA_W{1'b0}} : inc_lut(wa);
                end
                (* ram_style = "logic" *)
                reg [PE*SIMD-1:0] wmem [0:WDEPTH-1];
                initial $readmemh(WEIGHT_FILE, wmem);
                reg [W-1:0] w_q_slice;
                always @(posedge clk) w_q_slice <= wmem[wa][LO +: W];
                assign w_q[LO +: W] = w_q_slice;
            end
        end else if (BANKED == 0) begin : g_wrom
            reg [PE*SIMD-1:0] wmem [0:WDEPTH-1];
            initial $readmemh(WEIGHT_FILE, wmem);
            reg [PE*SIMD-1:0] w_q_reg;
            always @(posedge clk) w_q_reg <= wmem[waddr];
            assign w_q = w_q_reg;
        end else begin : g_no_wrom
            assign w_q = {PE*SIMD{1'b0}};
        end
    endgenerate

    reg [SIMD-1:0] x_q;
    reg v1, first1, last1;
    reg [NF_W-1:0] nf1;
    always @(posedge clk) begin
        x_q <= x_sel;
        first1 <= group_start;
        last1 <= sf_last;
        nf1 <= nf;
    end
    always @(posedge clk) begin
        if (rst) v1 <= 1'b0;
        else v1 <= issue;
    end

    // ---- S1r (W_REG >= 1): registers after the ROM (the BRAM output register, and more) ---------------
    // The weight word passes W_REG registers w_r (per bank with W_BANK, then the bank select w_m); the
    // input bits and the control travel beside it through DLY registers.
    localparam integer DLY = W_REG + BANKED;
    localparam integer CW = SIMD + 2 + NF_W;          // x, first, last, nf
    wire [PE*SIMD-1:0] w_a;
    wire [SIMD-1:0] x_a;
    wire va, firsta, lasta;
    wire [NF_W-1:0] nfa;
    generate
        if (DLY > 0) begin : g_ctl_dly
            reg [DLY*CW-1:0] c_r;                     // stage k at [k*CW +: CW]
            reg [DLY-1:0] v_r;
            if (DLY == 1) begin : g_one
                always @(posedge clk) c_r <= {x_q, first1, last1, nf1};
                always @(posedge clk) begin
                    if (rst) v_r <= 1'b0;
                    else v_r <= v1;
                end
            end else begin : g_chain
                always @(posedge clk) c_r <= {c_r[(DLY-1)*CW-1:0], x_q, first1, last1, nf1};
                always @(posedge clk) begin
                    if (rst) v_r <= {DLY{1'b0}};
                    else v_r <= {v_r[DLY-2:0], v1};
                end
            end
            assign {x_a, firsta, lasta, nfa} = c_r[(DLY-1)*CW +: CW];
            assign va = v_r[DLY-1];
        end else begin : g_no_ctl_dly
            assign {x_a, va, firsta, lasta, nfa} = {x_q, v1, first1, last1, nf1};
        end

        if (BANKED != 0) begin : g_wbank
            // W_BANK: NB banks of W_BANK words (bank b = words b*W_BANK .., from its own file), each its own
            // block RAM(s) read by the low address bits and its own W_REG output registers w_r, placed beside
            // its RAM, then the bank selected into w_m. A deep ROM read through the RAMs' output mux straight
            // into a register set the CNV's clock (32 EBRs, 12.2 ns on ECP5, most of it routing from RAMs
            // spread over the die); with one register per bank (W_REG = 1), the route from a RAM to it did
            // (9.3 ns, 3.7 ns routing: the placer put the register halfway to the select).
            wire [NB*PE*SIMD-1:0] bank_w;
            genvar gb;
            for (gb = 0; gb < NB; gb = gb + 1) begin : g_bank
                localparam [7:0] D1 = 8'd48 + gb / 10;  // "<WEIGHT_BANK_PREFIX>07.mem"
                localparam [7:0] D0 = 8'd48 + gb % 10;
                reg [PE*SIMD-1:0] wmem [0:W_BANK-1];
                initial $readmemh({WEIGHT_BANK_PREFIX, D1, D0, ".mem"}, wmem);
                reg [PE*SIMD-1:0] w_q_bank;
                reg [W_REG*PE*SIMD-1:0] w_r;
                always @(posedge clk) w_q_bank <= wmem[waddr[BK_W-1:0]];
                if (W_REG == 1) begin : g_one
                    always @(posedge clk) w_r <= w_q_bank;
                end else begin : g_chain
                    always @(posedge clk) w_r <= {w_r[(W_REG-1)*PE*SIMD-1:0], w_q_bank};
                end
                assign bank_w[gb*PE*SIMD +: PE*SIMD] = w_r[(W_REG-1)*PE*SIMD +: PE*SIMD];
            end
            reg [DLY*(WA_W-BK_W)-1:0] bank_r;         // the bank number, beside the words
            reg [PE*SIMD-1:0] w_m;
            always @(posedge clk) begin
                bank_r <= {bank_r[(DLY-1)*(WA_W-BK_W)-1:0], waddr[WA_W-1:BK_W]};
                w_m <= bank_w[bank_r[(DLY-1)*(WA_W-BK_W) +: WA_W-BK_W]*PE*SIMD +: PE*SIMD];
            end
            assign w_a = w_m;
            /* verilator lint_off UNUSEDSIGNAL */
            wire unused_w_q = ^w_q;
            /* verilator lint_on UNUSEDSIGNAL */
        end else if (W_REG != 0) begin : g_wreg
            reg [W_REG*PE*SIMD-1:0] w_r;
            if (W_REG == 1) begin : g_one
                always @(posedge clk) w_r <= w_q;
            end else begin : g_chain
                always @(posedge clk) w_r <= {w_r[(W_REG-1)*PE*SIMD-1:0], w_q};
            end
            assign w_a = w_r[(W_REG-1)*PE*SIMD +: PE*SIMD];
        end else begin : g_no_wreg
            assign w_a = w_q;
        end
    endgenerate

    // ---- S2p: XNOR and partial popcounts of POP_CHUNK bits (registered when POP_CHUNK < SIMD) ------
    // popcount of one CH-bit chunk. Synthesis (and Icarus) get a balanced adder tree, log2(CH) adders deep
    // (a running sum in a loop would synthesize as a chain); Verilator gets $countones, the same function
    // as one host popcount instruction: the tree cost ~30 operations per chunk per cycle and halved the
    // CNV simulation speed. The block benches check both forms against the golden model (Verilator and
    // Icarus runs of rtl_tests/test_mvau_binary.py).
    function [PW-1:0] popcount;
        input [CH-1:0] v;
`ifdef VERILATOR
        /* verilator lint_off UNUSEDSIGNAL */
        integer n;                              // $countones is 32 bits wide
        /* verilator lint_on UNUSEDSIGNAL */
        begin
            n = $countones(v);
            popcount = n[PW-1:0];
        end
`else
        integer i, n;
        reg [CH*PW-1:0] lane;                   // CH lanes of PW bits, reduced in place level by level
        begin
            lane = {CH*PW{1'b0}};
            for (i = 0; i < CH; i = i + 1)
                lane[i*PW] = v[i];
            for (n = CH; n > 1; n = (n + 1) / 2)
                for (i = 0; i < (n + 1) / 2; i = i + 1)
                    lane[i*PW +: PW] = (2*i + 1 < n) ? lane[2*i*PW +: PW] + lane[(2*i+1)*PW +: PW]
                                                     : lane[2*i*PW +: PW];
            popcount = lane[PW-1:0];
        end
`endif
    endfunction

    // The counts are computed inside registers' enables (the stage's own valid bit, not a global stall):
    // the same logic in hardware, and a simulator then evaluates them only for valid beats.
    wire [PE*NCH*PW-1:0] part_b;
    genvar gp, gc;
    generate
        for (gp = 0; gp < PE; gp = gp + 1) begin : g_xnor
            wire [SIMD-1:0] xn = ~(w_a[gp*SIMD +: SIMD] ^ x_a);
            for (gc = 0; gc < NCH; gc = gc + 1) begin : g_chunk
                localparam integer LO = gc * CH;
                wire [CH-1:0] bits;
                if (LO + CH <= SIMD) begin : g_full
                    assign bits = xn[LO +: CH];
                end else begin : g_short     // last chunk of SIMD - LO < CH bits, zero-padded
                    assign bits = {{(LO + CH - SIMD){1'b0}}, xn[SIMD-1:LO]};
                end
                if (POP_REG != 0) begin : g_reg
                    reg [PW-1:0] part_q;
                    always @(posedge clk) begin
                        if (va) part_q <= popcount(bits);
                    end
                    assign part_b[(gp*NCH+gc)*PW +: PW] = part_q;
                end else begin : g_comb
                    assign part_b[(gp*NCH+gc)*PW +: PW] = popcount(bits);
                end
            end
        end
    endgenerate

    wire vb, firstb, lastb;
    wire [NF_W-1:0] nfb;
    generate
        if (POP_REG != 0) begin : g_pop_pipe
            reg v_p, first_p, last_p;
            reg [NF_W-1:0] nf_p;
            always @(posedge clk) begin
                {first_p, last_p, nf_p} <= {firsta, lasta, nfa};
            end
            always @(posedge clk) begin
                if (rst) v_p <= 1'b0;
                else v_p <= va;
            end
            assign {vb, firstb, lastb, nfb} = {v_p, first_p, last_p, nf_p};
        end else begin : g_no_pop_pipe
            assign {vb, firstb, lastb, nfb} = {va, firsta, lasta, nfa};
        end
    endgenerate

    // ---- S2g (SUM_GROUP): NLV registered reduction levels ---------------------------------------------
    // Values sit in ACC_W-bit slots (SL per level, unused ones zero); a level's registers hold its own width.
    wire [PE*NG*GW-1:0] grp_b;                    // per lane the NG values of GW bits the final sum adds
    wire [NLV:0] vlv, flv, llv;                   // valid / first / last per level (level 0: the chunks)
    wire [(NLV+1)*NF_W-1:0] nlv;
    assign {vlv[0], flv[0], llv[0], nlv[NF_W-1:0]} = {vb, firstb, lastb, nfb};
    genvar gk, gg;
    generate
        for (gk = 1; gk <= NLV; gk = gk + 1) begin : g_lvl_ctl
            reg v_q, f_q, l_q;
            reg [NF_W-1:0] n_q;
            always @(posedge clk) begin
                {f_q, l_q, n_q} <= {flv[gk-1], llv[gk-1], nlv[(gk-1)*NF_W +: NF_W]};
            end
            always @(posedge clk) begin
                if (rst) v_q <= 1'b0;
                else v_q <= vlv[gk-1];
            end
            assign {vlv[gk], flv[gk], llv[gk], nlv[gk*NF_W +: NF_W]} = {v_q, f_q, l_q, n_q};
        end
        for (gp = 0; gp < PE; gp = gp + 1) begin : g_lvl_lane
            /* verilator lint_off UNUSEDSIGNAL */     // zero slots and zero upper bits: read by no sum
            wire [(NLV+1)*SL*ACC_W-1:0] lv;
            /* verilator lint_on UNUSEDSIGNAL */
            for (gg = 0; gg < SL; gg = gg + 1) begin : g_l0
                if (gg < NCH) begin : g_chunk
                    wire [ACC_W-1:0] part_slot;
                    assign part_slot[PW-1:0] = part_b[(gp*NCH+gg)*PW +: PW];
                    if (ACC_W > PW) begin : g_ext
                        assign part_slot[ACC_W-1:PW] = {(ACC_W-PW){1'b0}};
                    end
                    assign lv[gg*ACC_W +: ACC_W] = part_slot;
                end else begin : g_zero
                    assign lv[gg*ACC_W +: ACC_W] = {ACC_W{1'b0}};
                end
            end
            for (gk = 1; gk <= NLV; gk = gk + 1) begin : g_lvl
                localparam integer W = lvl_w(gk);
                localparam integer WI = lvl_w(gk - 1);
                // sum of GRP slots of the level below (each WI bits wide), at this level's width
                function [W-1:0] sum_fan;
                    input [GRP*ACC_W-1:0] v;
                    integer c, n;
                    reg [GRP*W-1:0] lane;
                    begin
                        lane = {GRP*W{1'b0}};
                        for (c = 0; c < GRP; c = c + 1)
                            lane[c*W +: WI] = v[c*ACC_W +: WI];
                        for (n = GRP; n > 1; n = (n + 1) / 2)
                            for (c = 0; c < (n + 1) / 2; c = c + 1)
                                lane[c*W +: W] = (2*c + 1 < n) ? lane[2*c*W +: W] + lane[(2*c+1)*W +: W]
                                                               : lane[2*c*W +: W];
                        sum_fan = lane[W-1:0];
                    end
                endfunction
                for (gg = 0; gg < SL; gg = gg + 1) begin : g_slot
                    if (gg < lvl_n(gk)) begin : g_sum
                        reg [W-1:0] grp_q;
                        wire [ACC_W-1:0] grp_slot;  // synthesis names grp_q's flip-flops after this wire
                        always @(posedge clk) begin
                            if (vlv[gk-1]) grp_q <= sum_fan(lv[(gk-1)*SL*ACC_W + gg*GRP*ACC_W +: GRP*ACC_W]);
                        end
                        assign grp_slot[W-1:0] = grp_q;
                        if (ACC_W > W) begin : g_ext
                            assign grp_slot[ACC_W-1:W] = {(ACC_W-W){1'b0}};
                        end
                        assign lv[gk*SL*ACC_W + gg*ACC_W +: ACC_W] = grp_slot;
                    end else begin : g_zero
                        assign lv[gk*SL*ACC_W + gg*ACC_W +: ACC_W] = {ACC_W{1'b0}};
                    end
                end
            end
            for (gg = 0; gg < NG; gg = gg + 1) begin : g_out
                assign grp_b[(gp*NG+gg)*GW +: GW] = lv[NLV*SL*ACC_W + gg*ACC_W +: GW];
            end
        end
    endgenerate
    wire vg = vlv[NLV], firstg = flv[NLV], lastg = llv[NLV];
    wire [NF_W-1:0] nfg = nlv[NLV*NF_W +: NF_W];

    // sum of one neuron's NG values at accumulator width (<= SIMD <= MW): a balanced adder tree
    // for synthesis, a running sum (the same number, fewer operations) in Verilator
    function [ACC_W-1:0] sum_parts;
        input [NG*GW-1:0] parts;
`ifdef VERILATOR
        integer c;
        reg [ACC_W-1:0] e;
        begin
            sum_parts = {ACC_W{1'b0}};
            for (c = 0; c < NG; c = c + 1) begin
                e = {ACC_W{1'b0}};
                e[GW-1:0] = parts[c*GW +: GW];
                sum_parts = sum_parts + e;
            end
        end
`else
        integer c, n;
        reg [NG*ACC_W-1:0] lane;
        begin
            lane = {NG*ACC_W{1'b0}};
            for (c = 0; c < NG; c = c + 1)
                lane[c*ACC_W +: GW] = parts[c*GW +: GW];
            for (n = NG; n > 1; n = (n + 1) / 2)
                for (c = 0; c < (n + 1) / 2; c = c + 1)
                    lane[c*ACC_W +: ACC_W] = (2*c + 1 < n) ? lane[2*c*ACC_W +: ACC_W] + lane[(2*c+1)*ACC_W +: ACC_W]
                                                           : lane[2*c*ACC_W +: ACC_W];
            sum_parts = lane[ACC_W-1:0];
        end
`endif
    endfunction

    // ---- S2s (SUM_REG = 1): the sum of the partial counts, registered -------------------------------
    wire [PE*ACC_W-1:0] sum_c;
    wire vc, firstc, lastc;
    wire [NF_W-1:0] nfc;
    generate
        for (gp = 0; gp < PE; gp = gp + 1) begin : g_sum
            if (SUM_REG != 0) begin : g_reg
                reg [ACC_W-1:0] sum_q;
                always @(posedge clk) begin
                    if (vg) sum_q <= sum_parts(grp_b[gp*NG*GW +: NG*GW]);
                end
                assign sum_c[gp*ACC_W +: ACC_W] = sum_q;
            end else begin : g_comb
                assign sum_c[gp*ACC_W +: ACC_W] = sum_parts(grp_b[gp*NG*GW +: NG*GW]);
            end
        end
        if (SUM_REG != 0) begin : g_sum_pipe
            reg v_s, first_s, last_s;
            reg [NF_W-1:0] nf_s;
            always @(posedge clk) begin
                {first_s, last_s, nf_s} <= {firstg, lastg, nfg};
            end
            always @(posedge clk) begin
                if (rst) v_s <= 1'b0;
                else v_s <= vg;
            end
            assign {vc, firstc, lastc, nfc} = {v_s, first_s, last_s, nf_s};
        end else begin : g_no_sum_pipe
            assign {vc, firstc, lastc, nfc} = {vg, firstg, lastg, nfg};
        end
    endgenerate

    // ---- S2: accumulate ---------------------------------------------------------------------------
    reg [PE*ACC_W-1:0] acc;
    reg v2;
    integer p;
    always @(posedge clk) begin
        if (vc) begin
            for (p = 0; p < PE; p = p + 1) begin
                acc[p*ACC_W +: ACC_W] <= (firstc ? {ACC_W{1'b0}} : acc[p*ACC_W +: ACC_W])
                                         + sum_c[p*ACC_W +: ACC_W];
            end
        end
    end
    always @(posedge clk) begin
        if (rst) v2 <= 1'b0;
        else v2 <= vc & lastc;
    end

    // ---- S3: activation (thresholds) into the output FIFO --------------------------------------------
    wire [PE*OUT_W-1:0] result;
    wire v_res;                                  // result valid: the output FIFO's write
    generate
        if (N_THRES > 0) begin : g_thres
            localparam integer CMP_W = (TW > ACC_W) ? TW : ACC_W;
            reg [PE*N_THRES*TW-1:0] tmem [0:NF-1];
            initial $readmemh(THRES_FILE, tmem);
            reg [PE*N_THRES*TW-1:0] thr_q;
            always @(posedge clk) begin
                if (vc & lastc) thr_q <= tmem[nfc];
            end

            // #{t : a >= T[t]}, both zero-extended to CMP_W bits (thresholds are unsigned)
            function [OUT_W-1:0] count_ge;
                input [ACC_W-1:0] a;
                input [N_THRES*TW-1:0] thr;
                integer t;
                reg [CMP_W-1:0] ae, te;
                reg [OUT_W-1:0] one;
                begin
                    count_ge = {OUT_W{1'b0}};
                    ae = {CMP_W{1'b0}};
                    ae[ACC_W-1:0] = a;
                    for (t = 0; t < N_THRES; t = t + 1) begin
                        te = {CMP_W{1'b0}};
                        te[TW-1:0] = thr[t*TW +: TW];
                        one = {OUT_W{1'b0}};
                        one[0] = (ae >= te);
                        count_ge = count_ge + one;
                    end
                end
            endfunction

            wire [PE*ACC_W-1:0] acc_c;
            wire [PE*N_THRES*TW-1:0] thr_c;
            if (THR_REG != 0) begin : g_thr_reg
                // THR_REG stages of {acc, threshold word} with their valid. Stage 0 becomes the block RAM's
                // output register (surge-hw pnr); with THR_REG = 2, stage 1 stays beside the compare. With stage 0
                // alone, absorbed, the RAM drove the compare across the die (LFC's MVAU_hls_2: 5.0 ns of routing
                // from the RAM, 9.1 ns in all)
                localparam integer STW = PE * ACC_W + PE * N_THRES * TW;  // one stage: {acc, thr}
                wire [(THR_REG + 1) * STW - 1:0] st;                     // stage k's input at st[k*STW +: STW]
                wire [THR_REG:0] sv;
                assign st[0 +: STW] = {acc, thr_q};
                assign sv[0] = v2;
                genvar gt;
                for (gt = 0; gt < THR_REG; gt = gt + 1) begin : g_stage
                    reg [STW-1:0] cmp_in;
                    reg cmp_v;
                    always @(posedge clk) begin
                        if (sv[gt]) cmp_in <= st[gt*STW +: STW];
                    end
                    always @(posedge clk) begin
                        if (rst) cmp_v <= 1'b0;
                        else cmp_v <= sv[gt];
                    end
                    assign st[(gt + 1)*STW +: STW] = cmp_in;
                    assign sv[gt + 1] = cmp_v;
                end
                assign {acc_c, thr_c} = st[THR_REG*STW +: STW];
                assign v_res = sv[THR_REG];
            end else begin : g_thr_comb
                assign {acc_c, thr_c, v_res} = {acc, thr_q, v2};
            end
            for (gp = 0; gp < PE; gp = gp + 1) begin : g_pe
                assign result[gp*OUT_W +: OUT_W] =
                    count_ge(acc_c[gp*ACC_W +: ACC_W], thr_c[gp*N_THRES*TW +: N_THRES*TW]);
            end
        end else begin : g_no_thres
            // no activation: the popcount is the output (OUT_W == ACC_W)
            assign result = acc;
            assign v_res = v2;
            wire unused_nfc = &{1'b0, nfc};
        end
    endgenerate

    // never full: a group only starts with a credit for its entry
    /* verilator lint_off UNUSEDSIGNAL */
    wire ofifo_ready;
    /* verilator lint_on UNUSEDSIGNAL */
    axis_fifo #(.WIDTH(PE*OUT_W), .DEPTH(ODEPTH)) ofifo (
        .clk(clk), .rst(rst),
        .s_tdata(result), .s_tvalid(v_res), .s_tready(ofifo_ready),
        .m_tdata(out_tdata), .m_tvalid(out_tvalid), .m_tready(out_tready)
    );
endmodule

`default_nettype wire
