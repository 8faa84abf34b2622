// axis_frame_in: DMA words -> accelerator input beats, one image (frame) at a time.
//
// Frame format (surge_hw.rtl.packing.pack_frames): an image's IN_BEATS beats of IN_W bits are concatenated
// LSB first (beat 0 in the lowest bits of word 0, beats cross word boundaries freely) and zero-padded to
// WORDS_IN = ceil(IN_BEATS*IN_W / DMA_W) whole words. The block takes exactly WORDS_IN words per image,
// emits exactly IN_BEATS beats and drops the padding bits of each image's last word, so the next image
// starts on a word boundary again. Per image it also emits one frame flag: whether that image's last word
// carried s_tlast (tlast on any other word is ignored); it leaves when the image's last word is taken.
//
// Datapath: words shift in from the top of a shift register (a constant shift: by DMA_W, or by the last
// word's valid bits); the valid bits are its top S - pos*G bits and the next beat is read at pos. All bit
// positions inside an image are multiples of G = gcd(IN_W, DMA_W), and a complete beat can only sit at
// one of DMA_W/G offsets, so the read is a (DMA_W/G):1 mux per output bit, not a full barrel shifter
// (cost: IN_W + DMA_W - G flip-flops and IN_W such muxes; a 784-bit beat on a 64-bit DMA: G = 16, 4:1).
// Throughput: one word per cycle when IN_W >= DMA_W, one beat per cycle when IN_W < DMA_W (output
// ready). m_tdata/m_tvalid depend on registers only; s_tready looks at m_tready and flag_tready (never at a
// valid), so there is no combinational valid->ready loop.
`default_nettype none

module axis_frame_in #(
    parameter integer DMA_W = 64,
    parameter integer IN_W = 112,
    parameter integer IN_BEATS = 7
) (
    input  wire             clk,
    input  wire             rst,
    input  wire [DMA_W-1:0] s_tdata,
    input  wire             s_tvalid,
    output wire             s_tready,
    input  wire             s_tlast,
    output wire [IN_W-1:0]  m_tdata,
    output wire             m_tvalid,
    input  wire             m_tready,
    output wire             flag_tdata,   // 1: this image's last word carried s_tlast
    output wire             flag_tvalid,
    input  wire             flag_tready
);
    function integer gcd;
        input integer a;
        input integer b;
        integer x, y, t;
        begin
            x = a;
            y = b;
            while (y != 0) begin
                t = x % y;
                x = y;
                y = t;
            end
            gcd = x;
        end
    endfunction

    // everything is counted in chunks of G bits (all beat and word boundaries of an image are multiples of G)
    localparam integer G = gcd(IN_W, DMA_W);
    localparam integer CH_W = DMA_W / G;                      // chunks per word
    localparam integer CH_IN = IN_W / G;                      // chunks per beat
    localparam integer WORDS_IN = (IN_BEATS * IN_W + DMA_W - 1) / DMA_W;
    localparam integer LAST_BITS = IN_BEATS * IN_W - (WORDS_IN - 1) * DMA_W;  // valid bits of the last word
    localparam integer CH_LAST = LAST_BITS / G;
    localparam integer S = IN_W + DMA_W - G;                 // shift register: a beat plus a word, less a chunk
    localparam integer S_CH = S / G;
    localparam integer PW = $clog2(S_CH + 1);
    localparam integer IW = (CH_W > 1) ? $clog2(CH_W) : 1;
    localparam integer WCW = (WORDS_IN > 1) ? $clog2(WORDS_IN) : 1;
    localparam integer WL = WORDS_IN - 1;
    localparam [PW-1:0] P_EMPTY = S_CH[PW-1:0];
    localparam [PW-1:0] P_IN = CH_IN[PW-1:0];
    localparam [PW-1:0] P_W = CH_W[PW-1:0];
    localparam [PW-1:0] P_LAST = CH_LAST[PW-1:0];
    localparam [WCW-1:0] W_LAST = WL[WCW-1:0];

    reg [S-1:0] sr;
    reg [PW-1:0] pos;            // lowest valid chunk of sr; S_CH = empty
    reg [WCW-1:0] word_idx;      // word of the current image that s_tdata is
    reg flag_q, flag_valid_q;

    wire last_word = (word_idx == W_LAST);
    wire have_beat = (pos < P_W);  // at least IN_W valid bits
    wire take = have_beat & m_tready;
    // room for the word's valid chunks once this cycle's beat (if any) has left
    wire [PW-1:0] pos_after_take = take ? pos + P_IN : pos;
    wire [PW-1:0] word_chunks = last_word ? P_LAST : P_W;
    wire flag_free = ~flag_valid_q | flag_tready;
    assign s_tready = (pos_after_take >= word_chunks) & (~last_word | flag_free);
    wire acc = s_tvalid & s_tready;

    // ---- beat read: one of CH_W chunk offsets ----
    wire [IN_W-1:0] beat_at [0:CH_W-1];
    genvar k;
    generate
        for (k = 0; k < CH_W; k = k + 1) begin : g_offset
            assign beat_at[k] = sr[k * G +: IN_W];
        end
    endgenerate
    wire [IW-1:0] offset = pos[IW-1:0];  // pos < CH_W whenever m_tvalid
    assign m_tdata = beat_at[offset];
    assign m_tvalid = have_beat;
    assign flag_tdata = flag_q;
    assign flag_tvalid = flag_valid_q;

    // ---- word shift-in: the last word brings only its LAST_BITS valid bits ----
    wire [S+DMA_W-1:0] cat = {s_tdata, sr};
    always @(posedge clk) begin
        if (acc) sr <= last_word ? cat[LAST_BITS +: S] : cat[DMA_W +: S];
    end

    always @(posedge clk) begin
        if (rst) begin
            pos <= P_EMPTY;
            word_idx <= {WCW{1'b0}};
            flag_valid_q <= 1'b0;
        end else begin
            pos <= pos_after_take - (acc ? word_chunks : {PW{1'b0}});
            if (acc) word_idx <= last_word ? {WCW{1'b0}} : word_idx + 1'b1;
            if (acc & last_word) flag_valid_q <= 1'b1;
            else if (flag_tready) flag_valid_q <= 1'b0;
        end
    end

    always @(posedge clk) begin
        if (acc & last_word) flag_q <= s_tlast;
    end

    // sr's lowest bits only ever fall out (they belong to beats already taken)
    wire unused_shifted_out = &{1'b0, cat[LAST_BITS-1:0]};
    generate
        if (IW < PW) begin : g_unused_pos
            wire unused_pos_hi = &{1'b0, pos[PW-1:IW]};
        end
    endgenerate
endmodule

`default_nettype wire
