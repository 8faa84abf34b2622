// DP16KD: a behavioural model of the ECP5 block RAM, for gate-level simulation of synth_ecp5 netlists
// (yosys ships the cell as a blackbox only). It covers what yosys' memory mapping (share/lattice/brams_16kd.txt,
// brams_map_16kd.v) makes of our ROMs and of a RAM written on one port and read on the other:
//
// - Widths: 1, 2, 4, 9 or 18 bits ($__DP16KD_, true dual port: port A and port B each read and port A may
//   write; port B in port A's width, or never enabled, as in yosys' single-port mapping that leaves port B at
//   its default 18 bits), or 36 bits ($__PDPW16KD_, pseudo dual port: port A writes, port B reads the 36-bit
//   word {DOB17..0, DOA17..0}). Word address ADx[13:s], s = 0, 1, 2, 3, 4, 5 for 1, 2, 4, 9, 18, 36 bits; the
//   address bits below s are ignored on reads; data on DIx/DOx from pin 0 up (DOx pins above the width read
//   X).
// - Writes on port A when CEA & WEA on CLKA. Byte enables as yosys drives them: 18-bit mode ADA1..0 enable the
//   9-bit bytes DIA17..9 / DIA8..0 (yosys: ADA0/1 = WR_BE[0/1], WEA = WR_EN); 36-bit mode ADA3..0 enable the
//   bytes of {DIB17..0, DIA17..0} (yosys: WEA = 1, ADA0..3 = WR_EN[0..3]); narrower modes write the whole
//   word (yosys: WEA = WR_EN | WR_BE[0]). An unknown write enable makes the bits it may write X; an unknown
//   address does that in every word, so a netlist that relies on either cannot pass.
// - Port A's own read while it writes (true dual port), as yosys declares WRITEMODE_A: NORMAL holds the read
//   register (rdwr no_change), READBEFOREWRITE reads the old word (rdwr old), WRITETHROUGH the new one (rdwr
//   new; bytes not enabled read X).
// - Read on port B while port A writes the same word on the same clock edge: brams_16kd.txt declares nothing
//   between the two ports (no wrtrans), i.e. undefined read data, and where the RTL needs defined data yosys
//   builds its own bypass around the RAM (read-first emulation: the write delayed a cycle through flip-flops,
//   an address compare, and a mux per read bit after the RAM that takes the delayed write data). The model's
//   choice: the read returns X in the bits being written (those whose byte is enabled, or may be), the other
//   bits of the word read normally. That is what yosys' emulation assumes (its bypass covers only the bytes
//   written; a whole-word X fails its netlist of an RTL RAM with byte enables, checked in
//   test_ecp5_netlist_swg.py); Lattice only documents such a read as undefined. So a netlist whose outputs
//   depend on a colliding read fails. A write with an unknown address collides with any read on that edge.
//   Ports on two different clocks are not modelled once port A has written and port B read (or in 36-bit
//   mode with output registers): CLKA and CLKB must then be the same waveform, checked 1 ps after every
//   clock change.
// - The memory starts from INITVAL_00..3F (64 x 16 slots of 20 bits, 18 used: yosys' init_slice) laid out as
//   yosys' memory mapping fills them: in 9-, 18- and 36-bit mode the slots' 18 bits are one bit stream, word
//   w its bits [w*width +: width] (a 36-bit word: the low 18 bits, DOA, from slot 2w, the high, DOB, from
//   2w+1); in 1-, 2- and 4-bit mode (16 Kbit) the stream is the low 8 bits of each 9-bit half slot. Checked
//   against RTL ROMs in test_ecp5_netlist_swg.py; that the silicon agrees is yosys' claim, not the model's.
// - CEx gates the read register (the synchronous read); REGMODE_x "OUTREG": a second register, loaded from
//   the read register on the port's clock when OCEx is high (Lattice TN1264, "Output register"); in 36-bit
//   mode the DOA half goes through pin group A's register (REGMODE_A, OCEA, CLKA) and the DOB half through
//   group B's (REGMODE_B, OCEB, CLKB), both loaded from port B's read register, and REGMODE_A must equal
//   REGMODE_B. An unknown CEx/OCEx loads X. Read and output registers start at X (the existing ROM test's
//   choice: pessimistic; hardware and yosys' "rdinit zero" say 0).
//
// Anything else (port B writes, port B enabled in another width, chip-select decoding, resets, inverted clocks,
// other REGMODEs) stops the simulation with $fatal, so a netlist this model cannot stand for fails loudly instead
// of passing.
`timescale 1ns/1ps
module DP16KD #(
    parameter DATA_WIDTH_A = 18, parameter DATA_WIDTH_B = 18,
    parameter REGMODE_A = "NOREG", parameter REGMODE_B = "NOREG",
    parameter RESETMODE = "SYNC", parameter ASYNC_RESET_RELEASE = "SYNC",
    parameter CSDECODE_A = "0b000", parameter CSDECODE_B = "0b000",
    parameter WRITEMODE_A = "NORMAL", parameter WRITEMODE_B = "NORMAL",
    parameter CLKAMUX = "CLKA", parameter CLKBMUX = "CLKB", parameter GSR = "ENABLED",
    parameter [319:0] INITVAL_00 = 0, INITVAL_01 = 0, INITVAL_02 = 0, INITVAL_03 = 0, INITVAL_04 = 0,
    INITVAL_05 = 0, INITVAL_06 = 0, INITVAL_07 = 0, INITVAL_08 = 0, INITVAL_09 = 0, INITVAL_0A = 0,
    INITVAL_0B = 0, INITVAL_0C = 0, INITVAL_0D = 0, INITVAL_0E = 0, INITVAL_0F = 0, INITVAL_10 = 0,
    INITVAL_11 = 0, INITVAL_12 = 0, INITVAL_13 = 0, INITVAL_14 = 0, INITVAL_15 = 0, INITVAL_16 = 0,
    INITVAL_17 = 0, INITVAL_18 = 0, INITVAL_19 = 0, INITVAL_1A = 0, INITVAL_1B = 0, INITVAL_1C = 0,
    INITVAL_1D = 0, INITVAL_1E = 0, INITVAL_1F = 0, INITVAL_20 = 0, INITVAL_21 = 0, INITVAL_22 = 0,
    INITVAL_23 = 0, INITVAL_24 = 0, INITVAL_25 = 0, INITVAL_26 = 0, INITVAL_27 = 0, INITVAL_28 = 0,
    INITVAL_29 = 0, INITVAL_2A = 0, INITVAL_2B = 0, INITVAL_2C = 0, INITVAL_2D = 0, INITVAL_2E = 0,
    INITVAL_2F = 0, INITVAL_30 = 0, INITVAL_31 = 0, INITVAL_32 = 0, INITVAL_33 = 0, INITVAL_34 = 0,
    INITVAL_35 = 0, INITVAL_36 = 0, INITVAL_37 = 0, INITVAL_38 = 0, INITVAL_39 = 0, INITVAL_3A = 0,
    INITVAL_3B = 0, INITVAL_3C = 0, INITVAL_3D = 0, INITVAL_3E = 0, INITVAL_3F = 0
) (
    input DIA17, DIA16, DIA15, DIA14, DIA13, DIA12, DIA11, DIA10, DIA9, DIA8, DIA7, DIA6, DIA5, DIA4, DIA3, DIA2, DIA1, DIA0,
    input ADA13, ADA12, ADA11, ADA10, ADA9, ADA8, ADA7, ADA6, ADA5, ADA4, ADA3, ADA2, ADA1, ADA0,
    input CEA, OCEA, CLKA, WEA, RSTA, CSA2, CSA1, CSA0,
    output DOA17, DOA16, DOA15, DOA14, DOA13, DOA12, DOA11, DOA10, DOA9, DOA8, DOA7, DOA6, DOA5, DOA4, DOA3, DOA2, DOA1, DOA0,
    input DIB17, DIB16, DIB15, DIB14, DIB13, DIB12, DIB11, DIB10, DIB9, DIB8, DIB7, DIB6, DIB5, DIB4, DIB3, DIB2, DIB1, DIB0,
    input ADB13, ADB12, ADB11, ADB10, ADB9, ADB8, ADB7, ADB6, ADB5, ADB4, ADB3, ADB2, ADB1, ADB0,
    input CEB, OCEB, CLKB, WEB, RSTB, CSB2, CSB1, CSB0,
    output DOB17, DOB16, DOB15, DOB14, DOB13, DOB12, DOB11, DOB10, DOB9, DOB8, DOB7, DOB6, DOB5, DOB4, DOB3, DOB2, DOB1, DOB0
);
    localparam [64*320-1:0] INIT = {INITVAL_3F, INITVAL_3E, INITVAL_3D, INITVAL_3C, INITVAL_3B, INITVAL_3A,
        INITVAL_39, INITVAL_38, INITVAL_37, INITVAL_36, INITVAL_35, INITVAL_34, INITVAL_33, INITVAL_32, INITVAL_31,
        INITVAL_30, INITVAL_2F, INITVAL_2E, INITVAL_2D, INITVAL_2C, INITVAL_2B, INITVAL_2A, INITVAL_29, INITVAL_28,
        INITVAL_27, INITVAL_26, INITVAL_25, INITVAL_24, INITVAL_23, INITVAL_22, INITVAL_21, INITVAL_20, INITVAL_1F,
        INITVAL_1E, INITVAL_1D, INITVAL_1C, INITVAL_1B, INITVAL_1A, INITVAL_19, INITVAL_18, INITVAL_17, INITVAL_16,
        INITVAL_15, INITVAL_14, INITVAL_13, INITVAL_12, INITVAL_11, INITVAL_10, INITVAL_0F, INITVAL_0E, INITVAL_0D,
        INITVAL_0C, INITVAL_0B, INITVAL_0A, INITVAL_09, INITVAL_08, INITVAL_07, INITVAL_06, INITVAL_05, INITVAL_04,
        INITVAL_03, INITVAL_02, INITVAL_01, INITVAL_00};

    // ---- geometry ------------------------------------------------------------------------------------------
    localparam integer W = DATA_WIDTH_A;                      // the memory's width; port B's must equal it
    localparam VALID_W = (W == 1 || W == 2 || W == 4 || W == 9 || W == 18 || W == 36);
    localparam integer MW = VALID_W ? W : 18;                 // the modelled width (checked below)
    localparam PDP = (MW == 36);                              // 36-bit pseudo-dual-port mode
    localparam integer AS = (MW == 36) ? 5 : (MW == 18) ? 4 : (MW == 9) ? 3 : (MW == 4) ? 2 : (MW == 2) ? 1 : 0;
    localparam integer DEPTH = 1 << (14 - AS);                // 512 x 36 .. 16384 x 1
    localparam OUTREG_A = (REGMODE_A == "OUTREG");
    localparam OUTREG_B = (REGMODE_B == "OUTREG");

    reg [MW-1:0] mem [0:DEPTH-1];
    integer k;
    // initial contents, laid out as yosys' mapping writes them (see the header)
    integer b, pos;
    reg [64*320-1:0] init_bits;                               // (indexing the localparam itself is slow in Icarus)
    initial begin
        init_bits = INIT;
        for (k = 0; k < DEPTH; k = k + 1)
            for (b = 0; b < MW; b = b + 1) begin
                pos = k * MW + b;
                if (MW >= 9) mem[k][b] = init_bits[(pos / 18) * 20 + pos % 18];
                else mem[k][b] = init_bits[(pos / 16) * 20 + ((pos / 8) % 2) * 9 + pos % 8];
            end
    end

    wire [13:0] ada = {ADA13, ADA12, ADA11, ADA10, ADA9, ADA8, ADA7, ADA6, ADA5, ADA4, ADA3, ADA2, ADA1, ADA0};
    wire [13:0] adb = {ADB13, ADB12, ADB11, ADB10, ADB9, ADB8, ADB7, ADB6, ADB5, ADB4, ADB3, ADB2, ADB1, ADB0};
    wire [17:0] dia = {DIA17, DIA16, DIA15, DIA14, DIA13, DIA12, DIA11, DIA10, DIA9, DIA8, DIA7, DIA6, DIA5, DIA4,
                       DIA3, DIA2, DIA1, DIA0};
    wire [17:0] dib = {DIB17, DIB16, DIB15, DIB14, DIB13, DIB12, DIB11, DIB10, DIB9, DIB8, DIB7, DIB6, DIB5, DIB4,
                       DIB3, DIB2, DIB1, DIB0};
    wire [35:0] di = {dib, dia};
    wire [13-AS:0] wa = ada[13:AS];                           // word addresses
    wire [13-AS:0] wb = adb[13:AS];
    // byte enables of a port A write: 18-bit ADA1..0, 36-bit ADA3..0, narrower modes the whole word
    wire [3:0] be = (MW == 36) ? ada[3:0] : (MW == 18) ? {2'b00, ada[1:0]} : 4'b0001;
    wire [35:0] bmask36 = {{9{be[3]}}, {9{be[2]}}, {9{be[1]}}, {9{be[0]}}};
    wire [MW-1:0] bmask = bmask36[MW-1:0];
    wire [MW-1:0] wdata = di[MW-1:0];

    // a read: the word, X above the width
    function [35:0] rd;
        input [MW-1:0] word;
        begin
            rd = {36{1'bx}};
            rd[MW-1:0] = word;
        end
    endfunction

    reg [35:0] qa, qb, ra, rb;                                // read registers, output registers
    // what each port did on its last edge, for the read-during-write check on a shared edge
    realtime t_wr = -1.0, t_rd = -1.0;
    reg [13-AS:0] wr_word, rd_word;
    reg [MW-1:0] wr_bits;                                     // bits port A wrote (X: maybe)
    reg [35:0] rd_val;                                        // what port B's read register loads
    reg rd_on, wrote, b_used;
    integer i, j;
    initial begin
        wrote = 1'b0;
        b_used = 1'b0;
    end

    // a read that collides with a write of the same word: X in the bits written (1 or X in wbits)
    function [35:0] collide;
        input [35:0] v;
        input [MW-1:0] wbits;
        integer n;
        begin
            collide = v;
            for (n = 0; n < MW; n = n + 1) if (wbits[n] !== 1'b0) collide[n] = 1'bx;
        end
    endfunction

    // ---- port A: writes (and, in true dual port, its own reads) ------------------------------------------
    always @(posedge CLKA) begin : port_a
        reg [MW-1:0] old, nw, wm, wt;
        old = mem[wa];
        wm = bmask & {MW{CEA & WEA}};                         // bits written: 1, 0, or X (unknown enable)
        for (i = 0; i < MW; i = i + 1)
            nw[i] = (wm[i] === 1'b1) ? wdata[i] : (wm[i] === 1'b0) ? old[i] : 1'bx;
        if (|wm !== 1'b0) begin
            wrote = 1'b1;
            t_wr = $realtime;
            wr_word = wa;
            wr_bits = wm;
            if (^wa === 1'bx) begin
                for (j = 0; j < DEPTH; j = j + 1) mem[j] <= collide(rd(mem[j]), wm);
            end else begin
                mem[wa] <= nw;
            end
            // port B read on this same edge (it ran first): undefined data in the bits written
            if (t_rd == $realtime && rd_on !== 1'b0 && (rd_word === wa || ^wa === 1'bx))
                qb <= collide(rd_val, wm);
        end
        if (!PDP) begin  // port A's own read register
            if (CEA === 1'b1 && WEA === 1'b0) qa <= rd(old);
            else if (CEA === 1'b1 && WEA === 1'b1) begin
                if (WRITEMODE_A == "READBEFOREWRITE") qa <= rd(old);
                else if (WRITEMODE_A == "WRITETHROUGH") begin
                    wt = nw;
                    for (i = 0; i < MW; i = i + 1) if (wm[i] !== 1'b1) wt[i] = 1'bx;
                    qa <= rd(wt);
                end
                // NORMAL: the read register holds
            end else if (CEA !== 1'b0) qa <= {36{1'bx}};
        end
        if (!PDP) begin
            if (OCEA === 1'b1) ra <= qa;
            else if (OCEA !== 1'b0) ra <= {36{1'bx}};
        end else begin   // 36-bit mode: pin group A's output register holds the low half of port B's read
            if (OCEA === 1'b1) ra <= qb;
            else if (OCEA !== 1'b0) ra <= {36{1'bx}};
        end
        if (CSA2 !== 1'b0 || CSA1 !== 1'b0 || CSA0 !== 1'b0) $fatal(1, "DP16KD model: chip selects must be 0");
        if (RSTA === 1'b1) $fatal(1, "DP16KD model: resets are not modelled");
    end

    // ---- port B: reads -------------------------------------------------------------------------------------
    always @(posedge CLKB) begin
        if (WEB !== 1'b0 && CEB !== 1'b0) $fatal(1, "DP16KD model: port B writes are not modelled");
        if (CEB !== 1'b0 && DATA_WIDTH_B != MW)
            $fatal(1, "DP16KD model: port B used in another width (%0d) than port A (%0d)", DATA_WIDTH_B, MW);
        if (CEB !== 1'b0) b_used = 1'b1;
        t_rd = $realtime;
        rd_word = wb;
        rd_on = CEB;
        rd_val = (CEB === 1'b1) ? rd(mem[wb]) : {36{1'bx}};
        // port A wrote on this same edge (it ran first): undefined data in the bits written
        if (t_wr == $realtime && CEB !== 1'b0 && (wr_word === wb || ^wr_word === 1'bx))
            rd_val = collide(rd_val, wr_bits);
        if (CEB !== 1'b0) qb <= rd_val;
        if (OCEB === 1'b1) rb <= qb;
        else if (OCEB !== 1'b0) rb <= {36{1'bx}};
        if (CSB2 !== 1'b0 || CSB1 !== 1'b0 || CSB0 !== 1'b0) $fatal(1, "DP16KD model: chip selects must be 0");
        if (RSTB === 1'b1) $fatal(1, "DP16KD model: resets are not modelled");
    end

    wire [17:0] doa = PDP ? (OUTREG_A ? ra[17:0] : qb[17:0]) : (OUTREG_A ? ra[17:0] : qa[17:0]);
    wire [17:0] dob = PDP ? (OUTREG_B ? rb[35:18] : qb[35:18]) : (OUTREG_B ? rb[17:0] : qb[17:0]);
    assign {DOA17, DOA16, DOA15, DOA14, DOA13, DOA12, DOA11, DOA10, DOA9, DOA8, DOA7, DOA6, DOA5, DOA4, DOA3, DOA2,
            DOA1, DOA0} = doa;
    assign {DOB17, DOB16, DOB15, DOB14, DOB13, DOB12, DOB11, DOB10, DOB9, DOB8, DOB7, DOB6, DOB5, DOB4, DOB3, DOB2,
            DOB1, DOB0} = dob;

    // ---- what is not modelled ------------------------------------------------------------------------------
    initial begin
        #0;
        if (!VALID_W) $fatal(1, "DP16KD model: width %0d not modelled (1, 2, 4, 9, 18 or 36)", DATA_WIDTH_A);
        if (CSDECODE_A != "0b000" || CSDECODE_B != "0b000") $fatal(1, "DP16KD model: chip-select decoding is not modelled");
        if (CLKAMUX != "CLKA" || CLKBMUX != "CLKB") $fatal(1, "DP16KD model: inverted clocks are not modelled");
        if ((REGMODE_A != "NOREG" && !OUTREG_A) || (REGMODE_B != "NOREG" && !OUTREG_B))
            $fatal(1, "DP16KD model: REGMODE %0s/%0s not modelled", REGMODE_A, REGMODE_B);
        if (PDP && OUTREG_A != OUTREG_B) $fatal(1, "DP16KD model: 36-bit mode with REGMODE_A != REGMODE_B");
        if (!PDP && WRITEMODE_A != "NORMAL" && WRITEMODE_A != "READBEFOREWRITE" && WRITEMODE_A != "WRITETHROUGH")
            $fatal(1, "DP16KD model: WRITEMODE_A %0s not modelled", WRITEMODE_A);
    end
    always @(posedge RSTA) if (RESETMODE == "ASYNC") $fatal(1, "DP16KD model: resets are not modelled");
    always @(posedge RSTB) if (RESETMODE == "ASYNC") $fatal(1, "DP16KD model: resets are not modelled");
    // one clock for both ports once port A has written and port B read (and for 36-bit output registers):
    // the read-during-write check above and pin group A's register in 36-bit mode assume both see the same
    // edges (a 36-bit ROM without output registers may leave its write port's clock tied off, as yosys does)
    always @(CLKA or CLKB) begin
        #0.001;
        if (((wrote && b_used) || (PDP && OUTREG_A)) && CLKA !== CLKB)
            $fatal(1, "DP16KD model: ports on different clocks are not modelled (CLKA %b, CLKB %b)", CLKA, CLKB);
    end
endmodule
