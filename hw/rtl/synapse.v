// synapse: event-driven synaptic accumulation, the dense arithmetic of spiking layers,
// skipping the zero spikes.
//
// For every vector of COLS spike bits s[k] and every row n of the ROWS x COLS weight matrix W:
//     acc[n] = sum_k W[n, k] * s[k]                       (modulo 2^ACC_BITS)
// ACC_BITS holds the exact result range, so the modulo arithmetic is exact on every output.
// A frame (one time step) is VECTORS vectors: 1 for a dense synapse, one per output position
// for a convolution (each a window of the sliding-window generator); tlast marks the last
// beat of a frame.
//
// Three phases per vector:
//   receive: SF = COLS/SIMD beats of SIMD spike bits (spike s of a beat at s_axis_tdata[s])
//            are written into the receiving mask, one beat per cycle;
//   compute: once the engine is free the mask moves to the walked mask; a priority encoder
//            picks its lowest set bit k each NF = ROWS/PE cycles, and for each row group g
//            the weight word at address k*NF + g (PE lanes of W_BITS, lane p at bits
//            p*W_BITS holding W[g*PE + p, k]) is added to the group's PE accumulators;
//            then bit k is cleared.  Zero spikes cost no cycle;
//   emit:    when the walked mask is empty, NF beats of PE accumulators leave (row g*PE + p
//            at m_axis_tdata[p*ACC_BITS +: ACC_BITS], tlast on the last), each group cleared
//            as it is read.
// The receive of the next vector overlaps the compute and emit of this one, so in steady
// state a vector with nnz spikes takes max(SF, (nnz + 1) * NF) cycles (a vector without
// spikes: NF, the emit).  s_axis_tready falls only while a complete vector waits for the
// engine.
//
// Accumulators: one register of PE*ACC_BITS when NF = 1, else a memory of NF words of
// PE*ACC_BITS with an asynchronous read (distributed RAM): every step reads, adds and writes
// back one word in the same cycle, so back-to-back steps on one group see each other.
// After reset the engine first clears the NF words (NF cycles), the memory having no reset.
//
// Pipeline: issue (encoder -> address register) -> weight word (ROM read) -> accumulate /
// output register -> axis_skid.  All stages advance on one enable, low only while the output
// register holds a beat the skid buffer cannot take; s_axis_tready and the enable come from
// registers only.
//
// Weights: the constant WEIGHTS (WEIGHT_FILE == "") or a ROM loaded with
// $readmemh(WEIGHT_FILE), COLS*NF words; signed (two's complement), unsigned or bipolar
// (1 bit: b means the value 2b-1).
`default_nettype none

module synapse #(
    parameter integer ROWS = 4,        // N: rows of W, outputs per frame; a multiple of PE
    parameter integer COLS = 4,        // K: columns of W, spikes per frame; a multiple of SIMD
    parameter integer PE = 1,          // rows per output beat (accumulators updated per cycle), >= 1
    parameter integer SIMD = 1,        // spikes per input beat, >= 1
    parameter integer VECTORS = 1,     // vectors per frame, >= 1
    parameter integer W_BITS = 8,      // weight bits, >= 1 (1 when W_BIPOLAR)
    parameter integer W_SIGNED = 1,    // 1: weights are two's complement, 0: unsigned
    parameter integer W_BIPOLAR = 0,   // 1: weights are bipolar (W_BITS = 1)
    parameter integer ACC_BITS = 16,   // accumulator (output element) bits, >= 1 (>= 2 bipolar)
    // the weight memory as a constant, word a at bits [a*PE*W_BITS +: PE*W_BITS];
    // used when WEIGHT_FILE is ""
    parameter [ROWS*COLS*W_BITS-1:0] WEIGHTS = 0,
    // where the weight ROM goes: "bram" (block RAM), "lutram" (LUTs as distributed ROM) or
    // "logic" (LUTs and registers); archgen decides it (the weight_memory option, "auto"
    // by size) and passes it here, to the HLS kernel and to the estimate alike
    parameter [8*6-1:0] WEIGHT_MEM = "logic",
    parameter WEIGHT_FILE = ""         // $readmemh file of the COLS*ROWS/PE words, or ""
) (
    input  wire                     aclk,
    input  wire                     aresetn,
    input  wire [SIMD-1:0]          s_axis_tdata,
    input  wire                     s_axis_tvalid,
    output wire                     s_axis_tready,
    output wire [PE*ACC_BITS-1:0]   m_axis_tdata,
    output wire                     m_axis_tvalid,
    input  wire                     m_axis_tready,
    output wire                     m_axis_tlast
);
    function integer clog2;  // ceil(log2(v)), 0 for v <= 1
        input integer v;
        integer r;
        begin
            r = 0;
            while ((1 << r) < v) r = r + 1;
            clog2 = r;
        end
    endfunction

    function integer cw;  // bits of a counter over 0..v-1, at least 1
        input integer v;
        begin
            cw = clog2(v) < 1 ? 1 : clog2(v);
        end
    endfunction

    localparam integer NF = ROWS / PE;             // row groups (output beats per frame)
    localparam integer SF = COLS / SIMD;           // input beats per frame
    localparam integer DEPTH = COLS * NF;          // weight words
    localparam integer WW = PE * W_BITS;           // weight word bits
    localparam integer AB = PE * ACC_BITS;         // output beat (accumulator word) bits
    localparam integer SFW = cw(SF);
    localparam integer NFW = cw(NF);
    localparam integer AW = cw(DEPTH);             // >= the bits of a spike index
    localparam integer SF_LAST_I = SF - 1;
    localparam integer NF_LAST_I = NF - 1;
    localparam [SFW-1:0] SF_LAST = SF_LAST_I[SFW-1:0];
    localparam [NFW-1:0] NF_LAST = NF_LAST_I[NFW-1:0];
    localparam [AW-1:0]  NF_A = NF[AW-1:0];
    localparam integer VW = cw(VECTORS);
    localparam integer V_LAST_I = VECTORS - 1;
    localparam [VW-1:0]  V_LAST = V_LAST_I[VW-1:0];

    initial begin
        if (ROWS < 1 || COLS < 1) $error("synapse %m: ROWS=%0d and COLS=%0d must be >= 1", ROWS, COLS);
        if (PE < 1 || ROWS % PE != 0) $error("synapse %m: PE=%0d must divide ROWS=%0d", PE, ROWS);
        if (SIMD < 1 || COLS % SIMD != 0) $error("synapse %m: SIMD=%0d must divide COLS=%0d", SIMD, COLS);
        if (VECTORS < 1) $error("synapse %m: VECTORS=%0d must be >= 1", VECTORS);
        if (W_BITS < 1 || ACC_BITS < 1) $error("synapse %m: W_BITS=%0d, ACC_BITS=%0d must be >= 1", W_BITS, ACC_BITS);
        if (W_BIPOLAR != 0 && W_BITS != 1) $error("synapse %m: bipolar weights need W_BITS=1, not %0d", W_BITS);
        if (W_BIPOLAR != 0 && ACC_BITS < 2) $error("synapse %m: bipolar weights need ACC_BITS >= 2, not %0d", ACC_BITS);
        if (WEIGHT_MEM != "bram" && WEIGHT_MEM != "lutram" && WEIGHT_MEM != "logic")
            $error("synapse %m: WEIGHT_MEM=\"%0s\" must be \"bram\", \"lutram\" or \"logic\"", WEIGHT_MEM);
    end

    // -- receive: the spike bits of a frame into mask_in -----------------------------------------
    reg  [SFW-1:0]  sf;
    reg  [COLS-1:0] mask_in;
    reg             pend;       // mask_in holds a complete frame the engine has not taken
    wire            s_fire = s_axis_tvalid && !pend;
    wire            s_last = sf == SF_LAST;
    wire [COLS-1:0] mask_full;  // the complete frame: mask_in, or mask_in and the last beat

    assign s_axis_tready = !pend;

    always @(posedge aclk) begin
        if (!aresetn) sf <= {SFW{1'b0}};
        else if (s_fire) sf <= s_last ? {SFW{1'b0}} : sf + 1'b1;
    end

    generate
        if (SF > 1) begin : g_beats
            genvar j;
            for (j = 0; j < SF; j = j + 1) begin : g_beat  // a decoded enable per position
                localparam [SFW-1:0] J = j;
                always @(posedge aclk) begin
                    if (s_fire && sf == J) mask_in[j*SIMD +: SIMD] <= s_axis_tdata;
                end
            end
            assign mask_full = pend ? mask_in : {s_axis_tdata, mask_in[COLS-SIMD-1:0]};
        end else begin : g_one_beat
            always @(posedge aclk) begin
                if (s_fire) mask_in <= s_axis_tdata;
            end
            assign mask_full = pend ? mask_in : s_axis_tdata;
        end
    endgenerate

    // -- engine: walk the set bits of mask, NF row groups each, then emit NF groups -------------
    wire            en;          // the whole pipeline advances
    reg  [COLS-1:0] mask;        // the walked mask: spikes not yet accumulated
    reg             busy;        // mask (and its emit) belong to a frame
    reg             clearing;    // after reset: zero the NF accumulator words
    reg  [NFW-1:0]  g;           // row group
    wire            g_last = g == NF_LAST;
    wire            empty = mask == {COLS{1'b0}};
    wire [COLS-1:0] lowest = mask & (~mask + 1'b1);  // one-hot lowest set bit (0 when empty)
    wire            ready = pend || (s_fire && s_last);  // a complete frame to take
    wire            take = !clearing && (!busy || (en && empty && g_last));
    wire            issue = en && (clearing || busy);

    // the index of the lowest set bit: OR of the one-hot bits whose index has bit b set
    wire [AW-1:0]   k;
    genvar b, i;
    generate
        for (b = 0; b < AW; b = b + 1) begin : g_enc
            wire [COLS-1:0] hit;
            for (i = 0; i < COLS; i = i + 1) begin : g_bit
                if (((i >> b) & 1) != 0) begin : g_one
                    assign hit[i] = lowest[i];
                end else begin : g_zero
                    assign hit[i] = 1'b0;
                end
            end
            assign k[b] = |hit;
        end
    endgenerate

    wire [AW-1:0] g_a;  // g as an address term
    generate
        if (AW > NFW) begin : g_wide
            assign g_a = {{(AW - NFW){1'b0}}, g};
        end else begin : g_same
            assign g_a = g;
        end
    endgenerate

    always @(posedge aclk) begin
        if (!aresetn) begin
            pend     <= 1'b0;
            busy     <= 1'b0;
            clearing <= 1'b1;
            g        <= {NFW{1'b0}};
        end else begin
            if (issue) begin
                g <= g_last ? {NFW{1'b0}} : g + 1'b1;
                if (g_last && clearing) clearing <= 1'b0;
            end
            if (take) begin
                busy <= ready;
                pend <= 1'b0;
            end else if (s_fire && s_last) begin
                pend <= 1'b1;
            end
        end
    end

    always @(posedge aclk) begin
        if (take && ready) mask <= mask_full;
        else if (issue && !clearing && !empty && g_last) mask <= mask ^ lowest;
    end

    // -- stage 1: the weight address and the operation ---------------------------------------
    // an operation adds the weight word at a1 to group g1, or (zero) reads group g1 out and
    // clears it, emitting it unless clearing after reset
    reg             v1, zero1, out1, last1;
    reg  [AW-1:0]   a1;
    reg  [NFW-1:0]  g1;

    always @(posedge aclk) begin
        if (!aresetn) v1 <= 1'b0;
        else if (en) v1 <= issue;
    end

    always @(posedge aclk) begin
        if (en) begin
            zero1 <= clearing || empty;
            out1  <= !clearing;
            last1 <= g_last;
            g1    <= g;
            a1    <= k * NF_A + g_a;
        end
    end

    // -- stage 2: the weight word ---------------------------------------------------------------
    reg             v2, zero2, out2, last2;
    // the group addresses the accumulator memory; unused with NF = 1 (one register)
    /* verilator lint_off UNUSEDSIGNAL */
    reg  [NFW-1:0]  g2;
    /* verilator lint_on UNUSEDSIGNAL */
    wire [WW-1:0]   w2;

    always @(posedge aclk) begin
        if (!aresetn) v2 <= 1'b0;
        else if (en) v2 <= v1;
    end

    always @(posedge aclk) begin
        if (en) begin
            zero2 <= zero1;
            out2  <= out1;
            last2 <= last1;
            g2    <= g1;
        end
    end

    // the weight ROM, as WEIGHT_MEM places it (hw/rtl/weight_rom.v)
    weight_rom #(
        .WIDTH(WW), .DEPTH(DEPTH), .AW(AW), .INIT(WEIGHTS), .FILE(WEIGHT_FILE),
        .STYLE(WEIGHT_MEM)
    ) u_weights (
        .aclk(aclk), .en(en), .addr(a1), .data(w2)
    );

    // -- stage 3: accumulate, or read out and clear ----------------------------------------------
    wire [AB-1:0] acc_rd;    // group g2's accumulators
    wire [AB-1:0] acc_wr;    // their next value
    wire          acc_we = en && v2;
    reg  [AB-1:0] o_data;
    reg           o_valid, o_last;
    reg  [VW-1:0] ov;        // the emitted vector's index in its frame
    wire          skid_ready;
    wire          o_vec = v2 && zero2 && out2 && last2;  // the last beat of a vector

    assign en = !o_valid || skid_ready;

    genvar p;
    generate
        for (p = 0; p < PE; p = p + 1) begin : g_lane
            wire [W_BITS-1:0]   wv = w2[p*W_BITS +: W_BITS];
            wire [ACC_BITS-1:0] we;  // the weight at ACC_BITS (modulo 2^ACC_BITS)
            if (W_BIPOLAR != 0) begin : g_bip
                assign we = wv[0] ? {{(ACC_BITS - 1){1'b0}}, 1'b1} : {ACC_BITS{1'b1}};
            end else if (W_BITS >= ACC_BITS) begin : g_trunc
                // weight bits above ACC_BITS only repeat the sign: modulo 2^ACC_BITS
                /* verilator lint_off UNUSEDSIGNAL */
                wire [W_BITS-1:0] wt = wv;
                /* verilator lint_on UNUSEDSIGNAL */
                assign we = wt[ACC_BITS-1:0];
            end else if (W_SIGNED != 0) begin : g_sext
                assign we = {{(ACC_BITS - W_BITS){wv[W_BITS-1]}}, wv};
            end else begin : g_zext
                assign we = {{(ACC_BITS - W_BITS){1'b0}}, wv};
            end
            wire [ACC_BITS-1:0] a = acc_rd[p*ACC_BITS +: ACC_BITS];
            assign acc_wr[p*ACC_BITS +: ACC_BITS] = zero2 ? {ACC_BITS{1'b0}} : a + we;
        end

        if (NF > 1) begin : g_ram
            reg [AB-1:0] accm [0:NF-1];
            always @(posedge aclk) begin
                if (acc_we) accm[g2] <= acc_wr;
            end
            assign acc_rd = accm[g2];
        end else begin : g_reg
            reg [AB-1:0] acc;
            always @(posedge aclk) begin
                if (acc_we) acc <= acc_wr;
            end
            assign acc_rd = acc;
        end
    endgenerate

    always @(posedge aclk) begin
        if (!aresetn) begin
            o_valid <= 1'b0;
            ov      <= {VW{1'b0}};
        end else if (en) begin
            o_valid <= v2 && zero2 && out2;
            if (o_vec) ov <= ov == V_LAST ? {VW{1'b0}} : ov + 1'b1;
        end
    end

    always @(posedge aclk) begin
        if (en) begin
            o_data <= acc_rd;
            o_last <= last2 && ov == V_LAST;
        end
    end

    axis_skid #(.WIDTH(AB)) u_out (
        .aclk(aclk), .aresetn(aresetn),
        .s_axis_tdata(o_data), .s_axis_tvalid(o_valid), .s_axis_tready(skid_ready),
        .s_axis_tlast(o_last),
        .m_axis_tdata(m_axis_tdata), .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready),
        .m_axis_tlast(m_axis_tlast)
    );
endmodule

`default_nettype wire
