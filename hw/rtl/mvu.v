// mvu: matrix-vector unit, the arithmetic of dense layers and (after the sliding-window
// generator) of convolutions.
//
// For every input vector x of COLS elements and every row n of the ROWS x COLS matrix W:
//     acc[n] = BIAS[n] + sum_k x[k] * W[n, k]            (modulo 2^ACC_BITS)
// BIAS carries -zero_point * sum_k W[n, k]; ACC_BITS holds the exact result range, so the
// modulo arithmetic of the pipeline is exact on every output.  A frame is VECTORS vectors.
//
// Folding: each vector arrives in SF = COLS/SIMD beats of SIMD elements (element s of a beat
// at s_axis_tdata[s*IN_BITS +: IN_BITS]) and leaves in NF = ROWS/PE beats of PE accumulators
// (row nf*PE + p at m_axis_tdata[p*ACC_BITS +: ACC_BITS]).  A vector takes NF*SF cycles: the
// first row group consumes the input beats and keeps them in a buffer, the other NF-1 row
// groups replay them (FINN MVAU style); there are no bubbles between vectors or frames.
//
// Weights: one memory word per (nf, sf) at address nf*SF + sf, PE*SIMD lanes of W_BITS, lane
// (p, s) at bits (p*SIMD + s)*W_BITS holding W[nf*PE + p, sf*SIMD + s]; the memory is the
// constant WEIGHTS (WEIGHT_FILE == "") or a ROM loaded with $readmemh(WEIGHT_FILE).
//
// Operands: signed (two's complement) or unsigned of any width, or bipolar (1 bit: b means
// the value 2b-1).  Both bipolar: XNOR-popcount, each SIMD group adds 2*popcount(xnor) - SIMD,
// the popcount by a compressor tree: level 0 counts the agreeing lanes of each group of 3
// (the XNORs inside those LUTs), each level above adds 3 counts (hw/rtl/add3.v, a LUT per
// bit on Xilinx carry chains), every level registered, and registers of the root make up
// the binary tree's latency.  Bipolar inputs: the product is +/- the weight.  Bipolar
// weights (SIGNX): each PE sums the inputs its +1 weights select (a -1 weight clears the
// product register), one more tree sums the inputs, and the accumulator adds
// 2 * selected - all (add3).
//
// Pipeline: issue -> operands (weight word read) -> products -> clog2(SIMD) registered adder
// tree levels (XNOR mode: the compressor tree's levels and the root's registers) ->
// accumulator -> axis_skid.  All stages advance on one enable, low only while
// the accumulator holds a finished beat the skid buffer cannot take; s_axis_tready and the
// enable come from registers only (no combinational path from m_axis_tready).
`default_nettype none

module mvu #(
    parameter integer ROWS = 4,        // N: rows of W, outputs per vector; a multiple of PE
    parameter integer COLS = 4,        // K: columns of W, inputs per vector; a multiple of SIMD
    parameter integer PE = 1,          // rows computed in parallel (output lanes), >= 1
    parameter integer SIMD = 1,        // columns per beat (input lanes), >= 1
    parameter integer VECTORS = 1,     // vectors per frame, >= 1
    parameter integer IN_BITS = 8,     // input element bits, >= 1 (1 when IN_BIPOLAR)
    parameter integer IN_SIGNED = 1,   // 1: inputs are two's complement, 0: unsigned
    parameter integer IN_BIPOLAR = 0,  // 1: inputs are bipolar (IN_BITS = 1)
    parameter integer W_BITS = 8,      // weight bits, >= 1 (1 when W_BIPOLAR)
    parameter integer W_SIGNED = 1,    // 1: weights are two's complement, 0: unsigned
    parameter integer W_BIPOLAR = 0,   // 1: weights are bipolar (W_BITS = 1)
    parameter integer ACC_BITS = 16,   // accumulator (output element) bits, >= 1
    // per-row constant added to each accumulator, row n at bits [n*ACC_BITS +: ACC_BITS]
    parameter [ROWS*ACC_BITS-1:0] BIAS = 0,
    // the weight memory as a constant, word a at bits [a*PE*SIMD*W_BITS +: PE*SIMD*W_BITS];
    // used when WEIGHT_FILE is ""
    parameter [ROWS*COLS*W_BITS-1:0] WEIGHTS = 0,
    // where the weight ROM goes: "bram" (block RAM), "lutram" (LUTs as distributed ROM) or
    // "logic" (LUTs and registers); archgen decides it (the weight_memory option, "auto"
    // by size) and passes it here, to the HLS kernel and to the estimate alike
    parameter [8*6-1:0] WEIGHT_MEM = "logic",
    parameter WEIGHT_FILE = ""         // $readmemh file of the ROWS/PE*COLS/SIMD words, or ""
) (
    input  wire                     aclk,
    input  wire                     aresetn,
    input  wire [SIMD*IN_BITS-1:0]  s_axis_tdata,
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

    function integer min2;
        input integer a, b;
        begin
            min2 = a < b ? a : b;
        end
    endfunction

    // XNOR mode's compressor tree: XG groups of 3 lanes, XL levels of 3 children
    localparam integer XG = (SIMD + 2) / 3;

    function integer xcount;  // counts per PE at compressor level l
        input integer l;
        integer j, c;
        begin
            c = XG;
            for (j = 0; j < l; j = j + 1) c = (c + 2) / 3;
            xcount = c;
        end
    endfunction

    function integer xbits;  // bits of a count at compressor level l: up to 3^(l+1) lanes
        input integer l;
        integer j, m;
        begin
            m = 3;
            for (j = 0; j < l && m < SIMD; j = j + 1) m = m * 3;
            xbits = clog2((m < SIMD ? m : SIMD) + 1);
        end
    endfunction

    function integer xlevels;  // compressor levels above level 0
        input integer v;
        integer c;
        begin
            xlevels = 0;
            for (c = v; c > 1; c = (c + 2) / 3) xlevels = xlevels + 1;
        end
    endfunction

    localparam integer NF = ROWS / PE;             // row groups (output beats per vector)
    localparam integer SF = COLS / SIMD;           // input beats per vector
    localparam integer DEPTH = NF * SF;            // weight words
    localparam integer XW = SIMD * IN_BITS;        // input beat bits
    localparam integer WW = PE * SIMD * W_BITS;    // weight word bits
    localparam integer AB = PE * ACC_BITS;         // output beat bits
    localparam [0:0]   XNOR = IN_BIPOLAR != 0 && W_BIPOLAR != 0;
    // +-1 weights, multi-bit inputs: each PE sums the inputs its weights select, and one
    // more tree ("PE" number PE) the inputs themselves
    localparam [0:0]   SIGNX = W_BIPOLAR != 0 && IN_BIPOLAR == 0;
    localparam integer TP = PE + (SIGNX ? 1 : 0);  // trees
    localparam integer XB = IN_BITS + (IN_SIGNED != 0 ? 0 : 1);  // input as a signed number
    localparam integer WB = W_BITS + (W_SIGNED != 0 ? 0 : 1);    // weight as a signed number
    // exact product width: 1 (unsigned xnor bit), +-weight, +-input, or a full product
    // (unsigned x unsigned needs a sign bit on top of IN_BITS + W_BITS, the others do not)
    localparam integer PW = XNOR ? 1 : IN_BIPOLAR != 0 ? W_BITS + 1 : W_BIPOLAR != 0 ? IN_BITS + 1 :
                            IN_BITS + W_BITS + (IN_SIGNED == 0 && W_SIGNED == 0 ? 1 : 0);
    localparam integer P0 = min2(PW, ACC_BITS);    // product bits kept (modulo 2^ACC_BITS)
    localparam integer LEVELS = clog2(SIMD);       // adder tree levels
    localparam integer XL = xlevels(XG);           // XNOR mode's compressor levels (<= LEVELS)
    localparam integer TW = min2(P0 + LEVELS, ACC_BITS);  // adder tree result bits
    localparam integer SFW = cw(SF);
    localparam integer NFW = cw(NF);
    localparam integer AW = cw(DEPTH);
    localparam integer VW = cw(VECTORS);
    localparam integer SF_LAST_I = SF - 1;
    localparam integer NF_LAST_I = NF - 1;
    localparam integer VEC_LAST_I = VECTORS - 1;
    localparam [SFW-1:0] SF_LAST = SF_LAST_I[SFW-1:0];
    localparam [NFW-1:0] NF_LAST = NF_LAST_I[NFW-1:0];
    localparam [VW-1:0]  VEC_LAST = VEC_LAST_I[VW-1:0];
    localparam integer D = LEVELS + 2;            // stages from issue to the tree's root
    localparam integer CW = NFW + 3;              // control bits per stage: nf, first, last, tlast

    initial begin
        if (ROWS < 1 || COLS < 1) $error("mvu %m: ROWS=%0d and COLS=%0d must be >= 1", ROWS, COLS);
        if (PE < 1 || ROWS % PE != 0) $error("mvu %m: PE=%0d must divide ROWS=%0d", PE, ROWS);
        if (SIMD < 1 || COLS % SIMD != 0) $error("mvu %m: SIMD=%0d must divide COLS=%0d", SIMD, COLS);
        if (VECTORS < 1) $error("mvu %m: VECTORS=%0d must be >= 1", VECTORS);
        if (IN_BITS < 1 || W_BITS < 1 || ACC_BITS < 1)
            $error("mvu %m: IN_BITS=%0d, W_BITS=%0d, ACC_BITS=%0d must be >= 1", IN_BITS, W_BITS, ACC_BITS);
        if (IN_BIPOLAR != 0 && IN_BITS != 1) $error("mvu %m: bipolar inputs need IN_BITS=1, not %0d", IN_BITS);
        if (W_BIPOLAR != 0 && W_BITS != 1) $error("mvu %m: bipolar weights need W_BITS=1, not %0d", W_BITS);
        if (XNOR && (ACC_BITS < 2 || ACC_BITS < xbits(XL)))
            $error("mvu %m: XNOR mode needs ACC_BITS >= 2 and >= %0d (a popcount of SIMD), not %0d",
                   xbits(XL), ACC_BITS);
        if (WEIGHT_MEM != "bram" && WEIGHT_MEM != "lutram" && WEIGHT_MEM != "logic")
            $error("mvu %m: WEIGHT_MEM=\"%0s\" must be \"bram\", \"lutram\" or \"logic\"", WEIGHT_MEM);
    end

    // -- issue: walk (vector, nf, sf); the input is read in row group 0 only ------------------
    reg  [SFW-1:0] sf;
    reg  [NFW-1:0] nf;
    reg  [AW-1:0]  addr;
    reg  [VW-1:0]  vec;
    wire           en;  // the whole pipeline advances
    wire           need_x = nf == 0;
    wire           fire = en && (!need_x || s_axis_tvalid);
    wire           sf_end = sf == SF_LAST;
    wire           nf_end = nf == NF_LAST;
    wire           vec_end = vec == VEC_LAST;
    wire [XW-1:0]  x_replay;

    assign s_axis_tready = en && need_x;

    always @(posedge aclk) begin
        if (!aresetn) begin
            sf   <= {SFW{1'b0}};
            nf   <= {NFW{1'b0}};
            addr <= {AW{1'b0}};
            vec  <= {VW{1'b0}};
        end else if (fire) begin
            sf   <= sf_end ? {SFW{1'b0}} : sf + 1'b1;
            addr <= sf_end && nf_end ? {AW{1'b0}} : addr + 1'b1;
            if (sf_end) begin
                nf <= nf_end ? {NFW{1'b0}} : nf + 1'b1;
                if (nf_end) vec <= vec_end ? {VW{1'b0}} : vec + 1'b1;
            end
        end
    end

    generate
        if (NF > 1) begin : g_buffer
            // the current vector's beats, written in row group 0, replayed in the others
            reg [XW-1:0] xbuf [0:SF-1];
            always @(posedge aclk) begin
                if (fire && need_x) xbuf[sf] <= s_axis_tdata;
            end
            assign x_replay = xbuf[sf];
        end else begin : g_no_buffer
            assign x_replay = s_axis_tdata;
        end
    endgenerate

    // -- stage 1: operands -----------------------------------------------------------------
    reg  [XW-1:0] x1;
    wire [WW-1:0] w1;
    reg  [D:1]    valid;        // valid[s]: stage s holds a beat
    reg  [D*CW-1:0] ctl;        // control of stages 1..D, stage s at [(s-1)*CW +: CW]
    wire [CW-1:0] ctl0 = {nf, sf == 0, sf_end, sf_end && nf_end && vec_end};

    always @(posedge aclk) begin
        if (!aresetn) valid <= {D{1'b0}};
        else if (en) valid <= {valid[D-1:1], fire};
    end

    always @(posedge aclk) begin
        if (en) begin
            ctl <= {ctl[(D-1)*CW-1:0], ctl0};
            x1  <= need_x ? s_axis_tdata : x_replay;
        end
    end

    // the weight ROM, as WEIGHT_MEM places it (hw/rtl/weight_rom.v)
    weight_rom #(
        .WIDTH(WW), .DEPTH(DEPTH), .AW(AW), .INIT(WEIGHTS), .FILE(WEIGHT_FILE),
        .STYLE(WEIGHT_MEM)
    ) u_weights (
        .aclk(aclk), .en(en), .addr(addr), .data(w1)
    );

    // -- stage 2 (tree level 0): products; stages 3.. : adder tree levels --------------------
    // (XNOR mode: the compressor tree below instead)
    wire [PE*TW-1:0] root;  // the tree's sums, D stages after issue (PE p's at p*TW)
    /* verilator lint_off UNUSEDSIGNAL */  // read in SIGNX mode only
    wire [TW-1:0]    xsum;  // SIGNX: the inputs' sum, alongside (its own tree, "PE" PE)
    /* verilator lint_on UNUSEDSIGNAL */
    genvar p, s, l, l2;
    generate
        if (!XNOR) begin : g_tree
            for (l = 0; l <= LEVELS; l = l + 1) begin : g_lvl
                localparam integer N = (SIMD + (1 << l) - 1) >> l;  // sums per PE at this level
                localparam integer W = min2(P0 + l, ACC_BITS);         // their bits
                reg [TP*N*W-1:0] sums;  // PE p's sum i at [(p*N + i)*W +: W]
                for (p = 0; p < TP; p = p + 1) begin : g_pe
                    for (s = 0; s < N; s = s + 1) begin : g_sum
                        wire [W-1:0] value;
                        // SIGNX level 0: a -1 weight clears the product register (its
                        // synchronous reset, one LUT per lane), else it takes the input
                        wire clr;
                        always @(posedge aclk) begin
                            if (clr) sums[(p*N + s)*W +: W] <= {W{1'b0}};
                            else if (en) sums[(p*N + s)*W +: W] <= value;
                        end
                        if (l == 0 && SIGNX && p < PE) begin : g_clr
                            assign clr = en && !w1[p*SIMD + s];
                        end else begin : g_keep
                            assign clr = 1'b0;
                        end
                        if (l == 0) begin : g_product
                            wire [IN_BITS-1:0] xv = x1[s*IN_BITS +: IN_BITS];
                            // (tree p = PE, the inputs' sum, exists in SIGNX mode only,
                            // which reads clr, not wv)
                            /* verilator lint_off UNUSEDSIGNAL */
                            wire [W_BITS-1:0]  wv;
                            /* verilator lint_on UNUSEDSIGNAL */
                            if (p < PE) begin : g_w
                                assign wv = w1[(p*SIMD + s)*W_BITS +: W_BITS];
                            end else begin : g_xsum
                                assign wv = {W_BITS{1'b0}};
                            end
                            // bits of prod above W are dropped on purpose: modulo 2^ACC_BITS
                            /* verilator lint_off UNUSEDSIGNAL */
                            wire [PW-1:0]      prod;
                            /* verilator lint_on UNUSEDSIGNAL */
                            if (IN_BIPOLAR != 0) begin : g_sign_w  // +-weight
                                wire [PW-1:0] wx;
                                if (W_SIGNED != 0) begin : g_s
                                    assign wx = {wv[W_BITS-1], wv};
                                end else begin : g_u
                                    assign wx = {1'b0, wv};
                                end
                                assign prod = xv[0] ? wx : -wx;
                            end else if (W_BIPOLAR != 0) begin : g_sign_x  // +-input
                                // the input where the weight is +1, else 0 (clr above):
                                // the sum is 2 * that - xsum
                                wire [PW-1:0] xx;
                                if (IN_SIGNED != 0) begin : g_s
                                    assign xx = {xv[IN_BITS-1], xv};
                                end else begin : g_u
                                    assign xx = {1'b0, xv};
                                end
                                assign prod = xx;  // cleared where the weight is -1 (clr)
                            end else begin : g_mul
                                wire [XB-1:0] xe;  // both as signed numbers
                                wire [WB-1:0] we;
                                if (IN_SIGNED != 0) begin : g_xs
                                    assign xe = xv;
                                end else begin : g_xu
                                    assign xe = {1'b0, xv};
                                end
                                if (W_SIGNED != 0) begin : g_ws
                                    assign we = wv;
                                end else begin : g_wu
                                    assign we = {1'b0, wv};
                                end
                                // the product fits PW bits; the rest is sign extension
                                /* verilator lint_off UNUSEDSIGNAL */
                                wire [XB+WB-1:0] full = $signed(xe) * $signed(we);
                                /* verilator lint_on UNUSEDSIGNAL */
                                assign prod = full[PW-1:0];
                            end
                            assign value = prod[W-1:0];
                        end else begin : g_add
                            localparam integer NP = (SIMD + (1 << (l - 1)) - 1) >> (l - 1);
                            localparam integer WP = min2(P0 + l - 1, ACC_BITS);
                            wire [WP-1:0] a = g_lvl[l-1].sums[(p*NP + 2*s)*WP +: WP];
                            wire [W-1:0]  ae, be;
                            if (W > WP) begin : g_wider  // one more bit: sign or zero extension
                                assign ae = {a[WP-1], a};
                            end else begin : g_same
                                assign ae = a;
                            end
                            if (2*s + 1 < NP) begin : g_pair
                                wire [WP-1:0] b = g_lvl[l-1].sums[(p*NP + 2*s + 1)*WP +: WP];
                                if (W > WP) begin : g_wider
                                    assign be = {b[WP-1], b};
                                end else begin : g_same
                                    assign be = b;
                                end
                            end else begin : g_odd  // the last sum of an odd count passes through
                                assign be = {W{1'b0}};
                            end
                            assign value = ae + be;
                        end
                    end
                end
            end
            for (p = 0; p < PE; p = p + 1) begin : g_root
                assign root[p*TW +: TW] = g_lvl[LEVELS].sums[p*TW +: TW];
            end
            if (SIGNX) begin : g_xsum
                assign xsum = g_lvl[LEVELS].sums[PE*TW +: TW];
            end else begin : g_no_xsum
                assign xsum = {TW{1'b0}};
            end
        end else begin : g_xtree
            assign xsum = {TW{1'b0}};
            // XNOR mode: level 0 counts the agreeing lanes of each group of 3 (a LUT per
            // output bit, the XNORs inside), levels 1 .. XL add 3 counts each (add3, a LUT
            // per bit), then LEVELS - XL registers keep the binary tree's latency
            for (l = 0; l <= XL; l = l + 1) begin : g_xl
                localparam integer N = xcount(l);  // counts per PE at this level
                localparam integer W = xbits(l);   // their bits
                reg [PE*N*W-1:0] sums;  // PE p's count i at [(p*N + i)*W +: W]
                for (p = 0; p < PE; p = p + 1) begin : g_pe
                    for (s = 0; s < N; s = s + 1) begin : g_sum
                        wire [W-1:0] value;
                        always @(posedge aclk) begin
                            if (en) sums[(p*N + s)*W +: W] <= value;
                        end
                        if (l == 0) begin : g_count  // lanes 3s .. 3s + NL - 1
                            localparam integer NL = SIMD - 3*s < 3 ? SIMD - 3*s : 3;
                            wire [2:0] agree;
                            for (l2 = 0; l2 < 3; l2 = l2 + 1) begin : g_lane
                                if (l2 < NL) begin : g_on
                                    assign agree[l2] = ~(x1[3*s + l2] ^ w1[p*SIMD + 3*s + l2]);
                                end else begin : g_off
                                    assign agree[l2] = 1'b0;
                                end
                            end
                            /* verilator lint_off UNUSEDSIGNAL */  // bit 1 with W = 1
                            wire [1:0] cnt = {1'b0, agree[0]} + {1'b0, agree[1]} + {1'b0, agree[2]};
                            /* verilator lint_on UNUSEDSIGNAL */
                            assign value = cnt[W-1:0];
                        end else begin : g_add  // children 3s .. 3s + NC - 1 of level l - 1
                            localparam integer NP = xcount(l - 1), WP = xbits(l - 1);
                            localparam integer NC = NP - 3*s < 3 ? NP - 3*s : 3;
                            wire [3*W-1:0] ch;  // zero-extended, absent ones zero
                            for (l2 = 0; l2 < 3; l2 = l2 + 1) begin : g_ch
                                if (l2 < NC) begin : g_on
                                    wire [WP-1:0] cv = g_xl[l-1].sums[(p*NP + 3*s + l2)*WP +: WP];
                                    if (W > WP) begin : g_wider
                                        assign ch[l2*W +: W] = {{(W-WP){1'b0}}, cv};
                                    end else begin : g_same
                                        assign ch[l2*W +: W] = cv;
                                    end
                                end else begin : g_off
                                    assign ch[l2*W +: W] = {W{1'b0}};
                                end
                            end
                            if (NC == 3) begin : g_three
                                add3 #(.W(W)) u_add (.a(ch[0 +: W]), .b(ch[W +: W]),
                                                     .c(ch[2*W +: W]), .y(value));
                            end else begin : g_two
                                /* verilator lint_off UNUSEDSIGNAL */  // c is zero
                                wire [3*W-1:0] chu = ch;
                                /* verilator lint_on UNUSEDSIGNAL */
                                assign value = chu[0 +: W] + chu[W +: W];
                            end
                        end
                    end
                end
            end
            // the binary tree's latency: LEVELS - XL more registers of the counts
            localparam integer XTW = xbits(XL);
            wire [(LEVELS-XL+1)*PE*XTW-1:0] pad;
            assign pad[0 +: PE*XTW] = g_xl[XL].sums;
            for (l = 1; l <= LEVELS - XL; l = l + 1) begin : g_pad
                reg [PE*XTW-1:0] q;
                always @(posedge aclk) if (en) q <= pad[(l-1)*PE*XTW +: PE*XTW];
                assign pad[l*PE*XTW +: PE*XTW] = q;
            end
            for (p = 0; p < PE; p = p + 1) begin : g_root
                wire [XTW-1:0] rc = pad[((LEVELS-XL)*PE + p)*XTW +: XTW];
                if (TW > XTW) begin : g_wider
                    assign root[p*TW +: TW] = {{(TW-XTW){1'b0}}, rc};
                end else begin : g_same  // TW = XTW: a popcount fits 1 + clog2(SIMD) bits
                    assign root[p*TW +: TW] = rc;
                end
            end
        end
    endgenerate

    // -- accumulator ---------------------------------------------------------------------------
    wire [CW-1:0]         ctl_d = ctl[(D-1)*CW +: CW];
    wire [NFW-1:0]        nf_d = ctl_d[CW-1:3];
    wire                  first_d = ctl_d[2];
    wire                  last_d = ctl_d[1];
    wire                  tlast_d = ctl_d[0];
    wire [AB-1:0]         bias_d = BIAS[nf_d*AB +: AB];  // the row group's biases
    reg  [AB-1:0]         acc;
    reg                   acc_valid;  // acc holds a finished output beat
    reg                   acc_tlast;
    wire                  skid_ready;

    assign en = !acc_valid || skid_ready;

    // the tree sum widened to ACC_BITS; doubled in XNOR mode, whose groups add 2*popcount
    localparam integer KNEG_I = -COLS;  // XNOR mode adds -COLS once per vector
    generate
        for (p = 0; p < PE; p = p + 1) begin : g_acc
            wire [TW-1:0]       t = root[p*TW +: TW];
            wire [ACC_BITS-1:0] te;
            wire [ACC_BITS-1:0] bias = bias_d[p*ACC_BITS +: ACC_BITS];
            wire [ACC_BITS-1:0] base;
            if (TW < ACC_BITS) begin : g_widen
                assign te = {{(ACC_BITS - TW){XNOR ? 1'b0 : t[TW-1]}}, t};
            end else begin : g_same
                assign te = t;
            end
            if (XNOR) begin : g_popcount
                wire [ACC_BITS-1:0] kneg;  // -COLS modulo 2^ACC_BITS
                if (ACC_BITS <= 32) begin : g_kneg
                    assign kneg = KNEG_I[ACC_BITS-1:0];
                end else begin : g_kneg_wide
                    assign kneg = {{(ACC_BITS - 32){1'b1}}, KNEG_I};
                end
                assign base = first_d ? bias + kneg : acc[p*ACC_BITS +: ACC_BITS];
                always @(posedge aclk) begin
                    if (en && valid[D]) acc[p*ACC_BITS +: ACC_BITS] <= base + (te << 1);
                end
            end else if (SIGNX) begin : g_signx  // base + 2 * (masked sum) - xsum
                wire [ACC_BITS-1:0] xs;
                wire [ACC_BITS-1:0] nxt;
                if (TW < ACC_BITS) begin : g_widen
                    assign xs = {{(ACC_BITS - TW){xsum[TW-1]}}, xsum};
                end else begin : g_same
                    assign xs = xsum;
                end
                assign base = first_d ? bias : acc[p*ACC_BITS +: ACC_BITS];
                add3 #(.W(ACC_BITS), .SUB_C(1)) u_add (.a(base), .b(te << 1), .c(xs), .y(nxt));
                always @(posedge aclk) begin
                    if (en && valid[D]) acc[p*ACC_BITS +: ACC_BITS] <= nxt;
                end
            end else begin : g_sum
                assign base = first_d ? bias : acc[p*ACC_BITS +: ACC_BITS];
                always @(posedge aclk) begin
                    if (en && valid[D]) acc[p*ACC_BITS +: ACC_BITS] <= base + te;
                end
            end
        end
    endgenerate

    always @(posedge aclk) begin
        if (!aresetn) begin
            acc_valid <= 1'b0;
        end else if (en) begin
            acc_valid <= valid[D] && last_d;
        end
    end

    always @(posedge aclk) begin
        if (en) acc_tlast <= tlast_d;
    end

    axis_skid #(.WIDTH(AB)) u_out (
        .aclk(aclk), .aresetn(aresetn),
        .s_axis_tdata(acc), .s_axis_tvalid(acc_valid), .s_axis_tready(skid_ready),
        .s_axis_tlast(acc_tlast),
        .m_axis_tdata(m_axis_tdata), .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready),
        .m_axis_tlast(m_axis_tlast)
    );
endmodule

`default_nettype wire
