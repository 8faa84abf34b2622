// axis_fifo: synchronous AXI-Stream FIFO (first-word fall-through) between dataflow layers.
//
// DEPTH entries of WIDTH bits (any DEPTH >= 1). s_tready and m_tvalid come straight from registers
// (occupancy count), so the FIFO also cuts the ready/valid combinational paths between layers.
// Storage is written synchronously and read asynchronously (small FIFOs map to LUT RAM), or, with RD_REGS, through
// registers (block RAM).
// OUT_REG=1 adds a registered-ready output buffer (still first-word fall-through): the memory's read ends in
// flip-flops instead of in the consumer's logic, and the consumer's ready never reaches the memory side. The
// buffer holds OB = RD_REGS + 2 beats; a beat leaves the memory (pop) when it is not empty and the buffer has a
// free slot not yet claimed by a read in flight: a credit flag, a flip-flop. So pop, the pointers and the
// occupancy depend on the FIFO's own flip-flops only, and m_tready goes only to the buffer's read pointer and
// flags, all local to the buffer. With one output register whose refill followed m_tready,
// the consumer's ready -> pop -> the count crossed the die twice when the two sat far apart (LFC: the next
// MVAU's fold flag -> a LUT shared by pop and the 1024-bit register's enable -> link 2's count, 9.8 ns, 8.3
// of it routing). The buffer is a ring: slots are written without looking at m_tready, and the consumer
// reads the slot a read pointer selects. OB slots keep one beat per cycle: a slot comes back OB cycles after
// its read. Capacity DEPTH + OB; one cycle of latency (+ RD_REGS).
// LUTRAM=1 asks synthesis for distributed (LUT) RAM, read asynchronously (RD_REGS = 0). A deep FIFO in LUT
// RAM reads through a wide multiplexer of LUT-RAM blocks spread over the die (CNV's 1 x 1024 link FIFO: 64
// blocks, 7.9 ns to the output register), so the generator keeps only small, shallow FIFOs there; the others
// go to block RAM.
// RD_REGS (with OUT_REG=1, block RAM): registers after the memory read. 1: a synchronous read (the RAM's read
// register); 2: one more, which `surge-hw pnr` moves into the block RAM's output register (on ECP5 5.6 ns ->
// about 1 ns clock-to-out; Vivado does the same on Xilinx parts), so the RAM's clock-to-out does not reach the
// output buffer. A read is never of the entry being written in the same cycle (a beat is popped only once it is
// written), so the memory carries no_rw_check and synthesis adds no collision logic after it.
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
    parameter integer IN_REG = 0,
    parameter integer RD_REGS = 0
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

    localparam integer OB = RD_REGS + 2;  // output-buffer slots (OUT_REG)

    wire [WIDTH-1:0] rd_data;            // the popped beat, RD_REGS cycles after pop
    /* verilator lint_off UNUSEDSIGNAL */
    wire rd_v;                           // rd_data is a popped beat (used by the output buffer)
    /* verilator lint_on UNUSEDSIGNAL */
    generate
        if ((RD_REGS != 0 && OUT_REG == 0) || RD_REGS < 0 || RD_REGS > 2) begin : g_bad_rd_regs
            // a read pipeline needs the output buffer's credits (OUT_REG=1) to know when a beat arrives
            initial begin
                $display("axis_fifo: RD_REGS must be 0, 1 or 2, and RD_REGS > 0 needs OUT_REG = 1");
                $finish;
            end
        end
        // g_lutram and g_ram differ only in ram_style: yosys rejects an attribute whose value depends on a
        // parameter ("non-constant value" under chparam), so the choice is made by the generate branch
        if (LUTRAM != 0 && RD_REGS == 0) begin : g_lutram
            (* ram_style = "distributed" *) reg [WIDTH-1:0] mem [0:ME-1];
            always @(posedge clk) begin
                if (wr) mem[wr_ptr] <= wr_data;
            end
            assign rd_data = mem[rd_ptr];
            assign rd_v = pop;
        end else if (RD_REGS == 0) begin : g_ram
            reg [WIDTH-1:0] mem [0:ME-1];
            always @(posedge clk) begin
                if (wr) mem[wr_ptr] <= wr_data;
            end
            assign rd_data = mem[rd_ptr];
            assign rd_v = pop;
        end else begin : g_bram
            (* ram_style = "block", no_rw_check *) reg [WIDTH-1:0] mem [0:ME-1];
            reg [WIDTH-1:0] rd_q;            // the RAM's read register
            reg [RD_REGS-1:0] rv;            // a read in flight, per stage
            always @(posedge clk) begin
                if (wr) mem[wr_ptr] <= wr_data;
            end
            always @(posedge clk) begin
                if (pop) rd_q <= mem[rd_ptr];
            end
            if (RD_REGS == 1) begin : g_r1
                always @(posedge clk) rv <= rst ? 1'b0 : pop;
                assign rd_data = rd_q;
            end else begin : g_r2
                reg [WIDTH-1:0] rd_q2;       // -> the block RAM's output register (surge-hw pnr)
                always @(posedge clk) rd_q2 <= rd_q;
                always @(posedge clk) rv <= rst ? 2'b00 : {rv[0], pop};
                assign rd_data = rd_q2;
            end
            assign rd_v = rv[RD_REGS-1];
        end
    endgenerate

    generate
        if (OUT_REG != 0) begin : g_out_reg
            // A ring of OB slots: a popped beat is caught in slot wp when it arrives (the enable is the slot's
            // own "held" flag), the consumer reads slot rp (m_tdata: a multiplexer whose select is a
            // flip-flop). m_tready moves only rp and the flags: ob_th[k] = more than k beats held,
            // ob_cr[k] = more than k slots free and not claimed by a read in flight (credits, all ones at
            // reset); each steps by one per cycle at most in each direction. A shifting buffer (head = ob[0])
            // put m_tready on the enables of every slot bit, and synthesis shared that LUT with the flags'
            // update: LFC's first MVAU's ready -> a LUT placed among 2 x 1024 slot bits -> the buffer's
            // count, 9.1 ns.
            localparam integer PW = (OB > 2) ? $clog2(OB) : 1;
            localparam integer OB_M1 = OB - 1;
            localparam [PW-1:0] P_LAST = OB_M1[PW-1:0];
            reg [WIDTH-1:0] ob [0:OB-1];
            reg [OB-1:0] ob_th, ob_cr;
            reg [PW-1:0] wp, rp;
            localparam [OB-1:0] ONE = 1;
            wire take = ob_th[0] & m_tready;
            assign pop = ~empty_q & ob_cr[0];
            assign m_tvalid = ob_th[0];
            assign m_tdata = ob[rp];
            genvar k;
            reg [OB-1:0] held;  // slot k holds a beat not yet taken
            for (k = 0; k < OB; k = k + 1) begin : g_slot
                localparam integer KI = k;
                localparam [PW-1:0] KP = KI[PW-1:0];
                // a free slot loads whatever is read (no one reads it), so its enable is one flip-flop
                // and the beat is caught in the cycle it arrives; the slot then holds it until it is taken.
                // With "rd_v and wp = k" as the enable, LFC's link 2 ran empty flag -> pop -> that LUT ->
                // 1,024 enables (8.3 ns)
                always @(posedge clk) begin
                    if (~held[k]) ob[k] <= rd_data;
                end
                always @(posedge clk) begin
                    if (rst) held[k] <= 1'b0;
                    else if (rd_v && wp == KP) held[k] <= 1'b1;
                    else if (take && rp == KP) held[k] <= 1'b0;
                end
            end
            always @(posedge clk) begin
                if (rst) begin
                    wp <= {PW{1'b0}};
                    rp <= {PW{1'b0}};
                end else begin
                    if (rd_v) wp <= (wp == P_LAST) ? {PW{1'b0}} : wp + 1'b1;
                    if (take) rp <= (rp == P_LAST) ? {PW{1'b0}} : rp + 1'b1;
                end
            end
            always @(posedge clk) begin
                if (rst) begin
                    ob_th <= {OB{1'b0}};
                    ob_cr <= {OB{1'b1}};
                end else begin
                    if (rd_v & ~take) ob_th <= (ob_th << 1) | ONE;
                    else if (take & ~rd_v) ob_th <= ob_th >> 1;
                    if (take & ~pop) ob_cr <= (ob_cr << 1) | ONE;
                    else if (pop & ~take) ob_cr <= ob_cr >> 1;
                end
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
