// axis_dwc: AXI-Stream data width converter IN_W -> OUT_W where one divides the other (FINN's
// StreamingDataWidthConverter). Elements are packed LSB-first: when widening, the first input beat
// lands in the output's least significant bits; when narrowing, the input's least significant
// OUT_W bits leave first. Equal widths pass straight through (no register).
// OUT_REG=1 (widening only): every enable and flag on the wide side comes from a flip-flop. An accepted beat is
// registered before it is shifted in, the completed output beat sits in an output register, and s_tready is one
// LUT of the converter's own flags. Without it the consumer's ready and the beat count ran through the converter
// into the producer's handshake and onto the wide registers' enables: LFC's 2 -> 1024-bit links (converter count
// -> ready -> the MVAU's output FIFO -> its credits, 10.1 ns; -> the 1024-bit output register's enable, 10.5 ns,
// 9 of it routing across the die) set the clock. Same rate (one input beat per cycle with a ready consumer; a
// group's last beat waits only while the output register holds an unread beat), one cycle more latency, OUT_W
// + IN_W more flip-flops than without.
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
            reg [CW-1:0] count;
            wire take = s_tvalid & s_tready;
            if (OUT_REG != 0) begin : g_out_reg
                // Every wide enable comes from a flip-flop: an accepted beat is first registered (in_q, loaded
                // every cycle, and in_v), then shifted into sr_lo (enable in_v); the beat that completes a group
                // goes with sr_lo straight into out_q (enable in_last). The producer's ready is one LUT of flops:
                // the last beat of a group waits while out_q still holds an unread beat.
                localparam integer SR_W = OUT_W - IN_W;            // the first K-1 beats of a group
                localparam [CW-1:0] C_LAST = C_FULL - C_ONE;        // count of the beat that completes a group
                reg [IN_W-1:0] in_q;
                reg in_v, in_last;
                reg last_q;                                        // count == K-1: the next beat completes a group
                reg [SR_W-1:0] sr_lo;
                reg [OUT_W-1:0] out_q;
                reg out_v;
                if (K == 2) begin : g_k2
                    // a group every 2 cycles: waiting for out_q to empty first would cost a cycle per group
                    assign s_tready = ~(last_q & out_v & ~m_tready);
                    always @(posedge clk) if (in_v) sr_lo <= in_q;
                end else begin : g_k3
                    // with a ready consumer out_q has emptied before the next group's last beat
                    assign s_tready = ~(last_q & out_v);
                    always @(posedge clk) if (in_v) sr_lo <= {in_q, sr_lo[SR_W-1:IN_W]};
                end
                assign m_tvalid = out_v;
                assign m_tdata = out_q;
                always @(posedge clk) in_q <= s_tdata;  // every cycle: no enable fans out over IN_W bits
                always @(posedge clk) if (in_last) out_q <= {in_q, sr_lo};
                always @(posedge clk) begin
                    if (rst) begin
                        in_v <= 1'b0;
                        in_last <= 1'b0;
                        out_v <= 1'b0;
                        count <= {CW{1'b0}};
                        last_q <= 1'b0;
                    end else begin
                        in_v <= take;
                        in_last <= take & last_q;
                        if (in_last) out_v <= 1'b1;
                        else if (m_tready) out_v <= 1'b0;
                        if (take) begin
                            count <= last_q ? {CW{1'b0}} : count + 1'b1;
                            last_q <= ~last_q & (count == C_LAST - C_ONE);
                        end
                    end
                end
            end else begin : g_direct
                reg [OUT_W-1:0] sr;
                wire full = (count == C_FULL);
                always @(posedge clk) begin
                    if (take) sr <= {s_tdata, sr[OUT_W-1:IN_W]};
                end
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
