// axis_dwc: AXI-Stream data width converter IN_W -> OUT_W where one divides the other (FINN's
// StreamingDataWidthConverter). Elements are packed LSB-first: when widening, the first input beat
// lands in the output's least significant bits; when narrowing, the input's least significant
// OUT_W bits leave first. Equal widths pass straight through (no register).
// OUT_REG=1 (widening only): a completed output beat moves into an output register, and s_tready comes from
// the converter's own registers instead of passing m_tready through. Without it the consumer's ready ran
// through the converter into the producer's handshake: LFC's 2 -> 1024-bit link (converter count -> ready ->
// the MVAU's output FIFO -> its count, 9.7 ns, 6.3 of it routing across the die) set the clock. Same rate (the
// next beat is collected while one waits) and no added latency (the register loads on the edge that
// completes the beat), OUT_W more flip-flops.
`default_nettype none

module axis_dwc #(
    parameter integer IN_W = 8,
    parameter integer OUT_W = 16,
    parameter integer OUT_REG = 0
) (
    input  wire             clk,
    input  wire             rst,
    input  wire [IN_W-1:0]  s_tdata,
    input  wire             s_tvalid,
    output wire             s_tready,
    output wire [OUT_W-1:0] m_tdata,
    output wire             m_tvalid,
    input  wire             m_tready
);
    generate
        if (OUT_W > IN_W) begin : g_up
            // collect K input beats, shifting in from the top so beat 0 ends in the LSBs
            localparam integer K = OUT_W / IN_W;
            localparam integer CW = $clog2(K + 1);
            localparam [CW-1:0] C_FULL = K[CW-1:0];
            localparam [CW-1:0] C_ONE = 1;
            reg [OUT_W-1:0] sr;
            reg [CW-1:0] count;
            wire full = (count == C_FULL);
            wire take = s_tvalid & s_tready;
            always @(posedge clk) begin
                if (take) sr <= {s_tdata, sr[OUT_W-1:IN_W]};
            end
            if (OUT_REG != 0) begin : g_out_reg
                // sr holds a completed beat (full) only while the output register is still occupied
                reg [OUT_W-1:0] out_q;
                reg out_v;
                wire out_free = ~out_v | m_tready;           // the output register can load this cycle
                wire done = take & (count == C_FULL - C_ONE);  // the beat that completes sr arrives
                wire move = (done | full) & out_free;        // sr (with that beat) -> the output register
                assign s_tready = ~full;
                assign m_tvalid = out_v;
                assign m_tdata = out_q;
                always @(posedge clk) begin
                    if (move) out_q <= full ? sr : {s_tdata, sr[OUT_W-1:IN_W]};
                end
                always @(posedge clk) begin
                    if (rst) begin
                        out_v <= 1'b0;
                        count <= {CW{1'b0}};
                    end else begin
                        if (move) out_v <= 1'b1;
                        else if (m_tready) out_v <= 1'b0;
                        if (move) count <= {CW{1'b0}};  // full: no take this cycle (s_tready low)
                        else if (take) count <= count + 1'b1;
                    end
                end
            end else begin : g_direct
                assign s_tready = ~full | m_tready;
                assign m_tvalid = full;
                assign m_tdata = sr;
                always @(posedge clk) begin
                    if (rst) count <= {CW{1'b0}};
                    else if (full & m_tready) count <= take ? C_ONE : {CW{1'b0}};
                    else if (take) count <= count + 1'b1;
                end
            end
        end else if (OUT_W < IN_W) begin : g_down
            // hold one input beat, emit its K slices lowest first
            localparam integer K = IN_W / OUT_W;
            localparam integer CW = $clog2(K + 1);
            localparam [CW-1:0] C_FULL = K[CW-1:0];
            localparam [CW-1:0] C_ONE = 1;
            reg [IN_W-1:0] sr;
            reg [CW-1:0] left;                     // output beats still to emit from sr
            wire give = (left != {CW{1'b0}}) & m_tready;
            assign s_tready = (left == {CW{1'b0}}) | (left == C_ONE & m_tready);
            assign m_tvalid = (left != {CW{1'b0}});
            assign m_tdata = sr[OUT_W-1:0];
            always @(posedge clk) begin
                if (s_tvalid & s_tready) sr <= s_tdata;
                else if (give) sr <= {{OUT_W{1'b0}}, sr[IN_W-1:OUT_W]};
            end
            always @(posedge clk) begin
                if (rst) left <= {CW{1'b0}};
                else if (s_tvalid & s_tready) left <= C_FULL;
                else if (give) left <= left - 1'b1;
            end
        end else begin : g_pass
            assign s_tready = m_tready;
            assign m_tvalid = s_tvalid;
            assign m_tdata = s_tdata;
            wire unused_clk_rst = &{1'b0, clk, rst};
        end
    endgenerate
endmodule

`default_nettype wire
