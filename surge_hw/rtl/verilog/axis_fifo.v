// axis_fifo: synchronous AXI-Stream FIFO (first-word fall-through) between dataflow layers.
//
// DEPTH entries of WIDTH bits (any DEPTH >= 1). s_tready and m_tvalid come straight from registers
// (occupancy count), so the FIFO also cuts the ready/valid combinational paths between layers.
// Storage is written synchronously and read asynchronously: small FIFOs map to LUT-RAM.
// OUT_REG=1 adds an output register (a one-entry prefetch stage, still first-word fall-through): the memory's
// asynchronous read then ends in a flip-flop instead of in the consumer's logic (LFC: FIFO LUT-RAM -> the last
// MVAU's input buffer was the critical path). It holds one more beat (DEPTH + 1) and adds one cycle of
// latency; throughput stays one beat per cycle because the register refills in the cycle it is read.
// LUTRAM=1 asks synthesis for distributed (LUT) RAM: with OUT_REG, yosys would otherwise fold the output
// register into a block RAM's synchronous read and the RAM's clock-to-out (5.8 ns on ECP5) would again end in
// the consumer's logic (LFC: 98.7 MHz). The generator sets it for small FIFOs only.
// IN_REG=1 registers the input and makes s_tready a flip-flop that does not depend on the beat being offered:
// an accepted beat is written one cycle later from a register that loads every cycle (in_q; in_v is the
// registered accept), the occupancy counts written beats only, and s_tready = "at most DEPTH-1 written" is
// registered from that count. Nothing on the producer's side (s_tvalid, the accept) reaches the FIFO's flags
// in the same cycle: the path ready -> producer -> accept -> FIFO count that set the clock where producer and
// FIFO sit far apart (CNV: link 12's full flag -> the producer's accept -> the full flag, 9.5 ns, 8.2 of it
// routing; LFC's 1024-bit links: converter count -> accept -> converter count, 10.1 ns) is cut in two. With a
// beat in flight the memory holds one more (DEPTH + 1 entries), so the FIFO still takes DEPTH beats before
// s_tready falls. One more cycle of latency, same rate.
`default_nettype none

module axis_fifo #(
    parameter integer WIDTH = 8,
    parameter integer DEPTH = 32,
    parameter integer OUT_REG = 0,
    parameter integer LUTRAM = 0,
    parameter integer IN_REG = 0
) (
    input  wire             clk,
    input  wire             rst,
    input  wire [WIDTH-1:0] s_tdata,
    input  wire             s_tvalid,
    output wire             s_tready,
    output wire [WIDTH-1:0] m_tdata,
    output wire             m_tvalid,
    input  wire             m_tready
);
    localparam integer ME = DEPTH + ((IN_REG != 0) ? 1 : 0);  // memory entries
    localparam integer AW = (ME > 1) ? $clog2(ME) : 1;
    localparam integer CW = $clog2(ME + 1);
    localparam integer ME_M1 = ME - 1;
    localparam [AW-1:0] A_LAST = ME_M1[AW-1:0];
    localparam [CW-1:0] C_FULL = DEPTH[CW-1:0];
    localparam [CW-1:0] C_ONE = 1;

    reg [AW-1:0] wr_ptr, rd_ptr;
    reg empty_q;

    wire push;                       // a beat is accepted
    wire pop;                        // a beat leaves the memory
    wire wr;                         // a beat is written into the memory (IN_REG: one cycle after push)
    wire [WIDTH-1:0] wr_data;

    generate
        if (IN_REG != 0) begin : g_in_reg
            reg [WIDTH-1:0] in_q;
            reg in_v;
            reg rdy_q;                          // written beats (avail) <= DEPTH-1
            assign s_tready = rdy_q;
            assign push = s_tvalid & rdy_q;
            always @(posedge clk) in_q <= s_tdata;  // every cycle: no enable fans out over the WIDTH bits
            always @(posedge clk) begin
                if (rst) in_v <= 1'b0;
                else in_v <= push;
            end
            assign wr = in_v;
            assign wr_data = in_q;
            // the read side sees a beat once it is written; s_tready looks at the same count. The flags move
            // with the count's +-1 steps and compare the count before the step with constants (equalities),
            // no comparison of the stepped count: that was an adder and a magnitude compare in series (CNV's
            // 122- and 226-deep link FIFOs: 8.1-8.9 ns, the clock of all three seeds).
            reg [CW-1:0] avail;  // beats written and not yet popped (at most DEPTH + 1)
            always @(posedge clk) begin
                if (rst) begin
                    avail <= {CW{1'b0}};
                    empty_q <= 1'b1;
                    rdy_q <= 1'b1;
                end else if (wr & ~pop) begin
                    avail <= avail + 1'b1;
                    empty_q <= 1'b0;
                    if (avail == C_FULL - C_ONE) rdy_q <= 1'b0;  // DEPTH written now
                end else if (pop & ~wr) begin
                    avail <= avail - 1'b1;
                    empty_q <= (avail == C_ONE);
                    if (avail == C_FULL) rdy_q <= 1'b1;          // DEPTH - 1 written now
                end
            end
        end else begin : g_in_direct
            reg [CW-1:0] count;              // beats accepted and not yet popped
            reg full_q;
            assign s_tready = ~full_q;
            assign push = s_tvalid & ~full_q;
            assign wr = push;
            assign wr_data = s_tdata;
            always @(posedge clk) begin
                if (rst) begin
                    count <= {CW{1'b0}};
                    full_q <= 1'b0;
                end else if (push & ~pop) begin
                    count <= count + 1'b1;
                    full_q <= (count == C_FULL - 1'b1);
                end else if (pop & ~push) begin
                    count <= count - 1'b1;
                    full_q <= 1'b0;
                end
            end
            always @(posedge clk) begin
                if (rst) empty_q <= 1'b1;
                else if (push & ~pop) empty_q <= 1'b0;
                else if (pop & ~push) empty_q <= (count == C_ONE);
            end
        end
    endgenerate

    wire [WIDTH-1:0] rd_data;
    generate
        if (LUTRAM != 0) begin : g_lutram
            (* ram_style = "distributed" *) reg [WIDTH-1:0] mem [0:ME-1];
            always @(posedge clk) begin
                if (wr) mem[wr_ptr] <= wr_data;
            end
            assign rd_data = mem[rd_ptr];
        end else begin : g_ram
            reg [WIDTH-1:0] mem [0:ME-1];
            always @(posedge clk) begin
                if (wr) mem[wr_ptr] <= wr_data;
            end
            assign rd_data = mem[rd_ptr];
        end
    endgenerate

    generate
        if (OUT_REG != 0) begin : g_out_reg
            reg [WIDTH-1:0] q_data;
            reg q_valid;
            assign pop = ~empty_q & (~q_valid | m_tready);
            assign m_tvalid = q_valid;
            assign m_tdata = q_data;
            // q_data loads whenever it may (not only on pop): while the memory is empty it takes a word no one
            // reads (q_valid falls). Its enable then needs neither the occupancy nor the memory's flags, so
            // synthesis does not share one LUT between the OUT_W enables and the count: that LUT sat between
            // the register bits and the count, and the consumer's ready crossed the die twice (LFC 8.4 ns).
            always @(posedge clk) begin
                if (~q_valid | m_tready) q_data <= rd_data;
                if (rst) q_valid <= 1'b0;
                else if (pop) q_valid <= 1'b1;
                else if (m_tready) q_valid <= 1'b0;
            end
        end else begin : g_fwft
            assign pop = m_tready & ~empty_q;
            assign m_tvalid = ~empty_q;
            assign m_tdata = rd_data;
        end
    endgenerate

    always @(posedge clk) begin
        if (rst) begin
            wr_ptr <= {AW{1'b0}};
            rd_ptr <= {AW{1'b0}};
        end else begin
            if (wr) wr_ptr <= (wr_ptr == A_LAST) ? {AW{1'b0}} : wr_ptr + 1'b1;
            if (pop) rd_ptr <= (rd_ptr == A_LAST) ? {AW{1'b0}} : rd_ptr + 1'b1;
        end
    end
endmodule

`default_nettype wire
