// mvau_fold: the fold sequencer of both MVAUs (mvau_binary.v, mvau_int.v), their pipeline stage S0.
//
// One input vector arrives as SF beats of BEAT_W bits and is used NF times (NF neuron folds): during fold
// nf = 0 the beats come from the stream and are kept in an input buffer, folds nf > 0 replay the buffer, so a
// vector takes NF*SF cycles. Each cycle with `issue` high, one beat (x_sel) enters the MVAU's pipeline with its
// place in the fold: sf (group_start: sf = 0, sf_last: sf = SF-1), nf, and the weight-ROM word waddr = nf*SF+sf.
//
// Flow control without a global stall: a fold group (the SF beats of one output beat) only starts when the
// MVAU's output FIFO has an entry free for its result. `credits` counts the entries not promised to a group:
// taken when a group starts, returned by `pop` (an output beat leaves the FIFO). A stalled consumer therefore
// stops the *input*, and no enable fans out to the pipeline registers (on ECP5 that net alone cost ~9 ns of
// routing).
`default_nettype none

module mvau_fold #(
    parameter integer SF = 4,               // input beats per vector (MW / SIMD)
    parameter integer NF = 2,               // neuron folds (MH / PE)
    parameter integer BEAT_W = 4,           // bits of one input beat (SIMD x element width)
    parameter integer ODEPTH = 2            // output-FIFO entries of the MVAU: the credits
) (
    input  wire                                              clk,
    input  wire                                              rst,
    input  wire [BEAT_W-1:0]                                 in_tdata,
    input  wire                                              in_tvalid,
    output wire                                              in_tready,
    input  wire                                              pop,          // an output beat leaves
    output wire                                              issue,        // a beat enters the pipeline
    output wire                                              group_start,  // it is its group's first (sf = 0)
    output wire                                              sf_last,      // it is its group's last
    output reg  [((NF > 1) ? $clog2(NF) : 1)-1:0]            nf,           // its neuron fold
    output reg  [((NF * SF > 1) ? $clog2(NF * SF) : 1)-1:0]  waddr,        // its weight word, nf*SF + sf
    output wire [BEAT_W-1:0]                                 x_sel         // its input beat
);
    localparam integer SF_W = (SF > 1) ? $clog2(SF) : 1;
    localparam integer NF_W = (NF > 1) ? $clog2(NF) : 1;
    localparam integer WA_W = (NF * SF > 1) ? $clog2(NF * SF) : 1;
    localparam integer SF_M1 = SF - 1;
    localparam integer NF_M1 = NF - 1;
    localparam integer WD_M1 = NF * SF - 1;
    localparam [SF_W-1:0] SF_LAST = SF_M1[SF_W-1:0];
    localparam [NF_W-1:0] NF_LAST = NF_M1[NF_W-1:0];
    localparam [WA_W-1:0] WA_LAST = WD_M1[WA_W-1:0];
    localparam integer CR_W = $clog2(ODEPTH + 1);
    localparam [CR_W-1:0] CR_FULL = ODEPTH[CR_W-1:0];
    localparam [CR_W-1:0] C_ONE = 1;

    reg [SF_W-1:0] sf;
    reg [CR_W-1:0] credits;                     // free output-FIFO entries not promised to a group
    // Flags of the counters, kept as registers beside them (set from the counters' next values) so that
    // in_tready is one LUT of flip-flops: decoding sf, nf and credits in front of it put two or three LUT levels
    // before the link FIFO's wide output register enable (LFC: fold counter -> in_tready -> the 1024-bit FIFO
    // output register, 9.1 ns).
    (* keep = "true" *) reg sf0_q;              // sf == 0 (keep on the reg too: the form Vivado honours)
    (* keep = "true" *) reg nf0_q;              // nf == 0
    (* keep = "true" *) reg cr_q;               // credits != 0
    wire sf_last_c = (sf == SF_LAST);
    wire nf_last = (nf == NF_LAST);
    // issue_l moves the fold's own state (sf, nf, credits and their flags); `issue`, which the pipeline and the
    // weight address counters load (tens to hundreds of enables spread over the ROM), is a second copy of the
    // same function of a second copy of the flags (nf0_o, sf0_o, cr_o). With one shared LUT, placement pulled it
    // towards those enables and the fold's loop (nf0_q -> issue -> nf0_q) crossed the die twice (LFC layer 2,
    // 8.0 ns, 6.8 of it routing).
    wire issue_l = (~sf0_q | cr_q) & (~nf0_q | in_tvalid);
    wire take_credit = issue_l & sf0_q;
    wire sf0_next = rst | (issue_l ? sf_last_c : sf0_q);
    wire nf0_next = rst | ((issue_l & sf_last_c) ? nf_last : nf0_q);  // also loads the input buffer's fs copies
    wire cr_next = rst ? (ODEPTH > 0)
                 : (take_credit & ~pop) ? (credits != C_ONE)
                 : (~take_credit & pop) ? 1'b1 : cr_q;

    assign sf_last = sf_last_c;
    assign in_tready = (~sf0_q | cr_q) & nf0_q;

    always @(posedge clk) begin
        if (rst) begin
            sf <= {SF_W{1'b0}};
            nf <= {NF_W{1'b0}};
        end else if (issue_l & sf_last_c) begin
            sf <= {SF_W{1'b0}};
            nf <= nf_last ? {NF_W{1'b0}} : nf + 1'b1;
        end else if (issue_l) begin
            sf <= sf + 1'b1;
        end
    end
    // the flags and their copies below: one flip-flop per always block with the keep attribute on the block,
    // the form in which yosys keeps equal flip-flops apart (a keep on the reg alone, or one vector of copies,
    // is merged, and so is a plain flip-flop into a kept copy)
    (* keep = "true" *) always @(posedge clk) sf0_q <= sf0_next;
    (* keep = "true" *) always @(posedge clk) nf0_q <= nf0_next;
    (* keep = "true" *) always @(posedge clk) cr_q <= cr_next;
    always @(posedge clk) begin
        if (rst) credits <= CR_FULL;
        else if (take_credit & ~pop) credits <= credits - 1'b1;
        else if (~take_credit & pop) credits <= credits + 1'b1;
    end

    (* keep = "true" *) reg sf0_o, nf0_o, cr_o;
    (* keep = "true" *) always @(posedge clk) sf0_o <= sf0_next;
    (* keep = "true" *) always @(posedge clk) nf0_o <= nf0_next;
    (* keep = "true" *) always @(posedge clk) cr_o <= cr_next;
    assign issue = (~sf0_o | cr_o) & (~nf0_o | in_tvalid);
    assign group_start = sf0_o;                 // read with `issue`, so from the same copies
    always @(posedge clk) begin
        if (rst) waddr <= {WA_W{1'b0}};
        else if (issue) waddr <= (waddr == WA_LAST) ? {WA_W{1'b0}} : waddr + 1'b1;
    end

    generate
        if (NF > 1) begin : g_ibuf
            // the input vector, kept during fold nf = 0 and replayed for nf > 0. ibuf[sf] is written on every
            // nf = 0 cycle, not only on accepted beats: sf only moves on an accepted beat, so the last write at
            // each sf is the accepted one. The write enable and the select are then "nf == 0" alone, registered
            // once per IBUF_SLICE bits (kept apart: synthesis must not merge them) so no single net fans out to
            // all BEAT_W bits; for a 784-bit beat that net was the critical path (7.5 ns of routing on ECP5).
            localparam integer IBUF_SLICE = 64;
            localparam integer NSL = (BEAT_W + IBUF_SLICE - 1) / IBUF_SLICE;
            genvar gs;
            for (gs = 0; gs < NSL; gs = gs + 1) begin : g_slice
                localparam integer LO = gs * IBUF_SLICE;
                localparam integer W = (LO + IBUF_SLICE <= BEAT_W) ? IBUF_SLICE : BEAT_W - LO;
                (* keep = "true" *) reg fs;         // this slice's copy of nf0_q, kept apart as the flags
                (* keep = "true" *) always @(posedge clk) fs <= nf0_next;  // above (a vector was merged)
                reg [W-1:0] ibuf [0:SF-1];
                always @(posedge clk) begin
                    if (fs) ibuf[sf] <= in_tdata[LO +: W];
                end
                assign x_sel[LO +: W] = fs ? in_tdata[LO +: W] : ibuf[sf];
            end
        end else begin : g_no_ibuf
            assign x_sel = in_tdata;
        end
    endgenerate
endmodule

`default_nettype wire
