// vvu: vector-vector unit, the arithmetic of depthwise convolutions.
//
// Consumes the sliding-window generator's stream: per output pixel, TAPS x CHANNELS window
// elements in the order (tap major, channel minor), PE channels per beat (channel cf*PE + p
// of a beat at s_axis_tdata[p*IN_BITS +: IN_BITS]).  Each channel has its own kernel:
//     acc[c] = BIAS[c] + sum_k win[k, c] * W[c, k]          (modulo 2^ACC_BITS)
// BIAS carries -zero_point * sum_k W[c, k]; ACC_BITS holds the exact result range, so the
// modulo arithmetic is exact on every output.  A frame is VECTORS pixels.  The CHANNELS
// accumulators of a pixel leave in CF = CHANNELS/PE beats of PE lanes (channel cf*PE + p at
// m_axis_tdata[p*ACC_BITS +: ACC_BITS]), during the pixel's last tap.
//
// One input beat per cycle, TAPS*CF cycles per pixel, no bubbles between pixels or frames.
//
// Weights: one memory word per (tap k, channel group cf) at address k*CF + cf, PE lanes of
// W_BITS, lane p holding W[cf*PE + p, k]; the constant WEIGHTS (WEIGHT_FILE == "") or a ROM
// loaded with $readmemh(WEIGHT_FILE).
//
// Operands: signed or unsigned of any width, or bipolar (1 bit: b means 2b-1); both bipolar:
// the product is +1 where the bits agree (XNOR), -1 elsewhere; one bipolar: +/- the other.
//
// Pipeline: issue -> operands (weight word read) -> products -> accumulate (one memory of CF
// partial sums, read-modify-write in one cycle) -> output register -> axis_skid.  All stages
// advance on one enable, low only while the output register holds a beat the skid buffer
// cannot take; s_axis_tready and the enable come from registers only.
`default_nettype none

module vvu #(
    parameter integer CHANNELS = 4,    // C: channels, a multiple of PE
    parameter integer TAPS = 9,        // K: kernel taps per channel, >= 1
    parameter integer PE = 1,          // channels per beat (input and output lanes), >= 1
    parameter integer VECTORS = 1,     // output pixels per frame, >= 1
    parameter integer IN_BITS = 8,     // input element bits, >= 1 (1 when IN_BIPOLAR)
    parameter integer IN_SIGNED = 1,   // 1: inputs are two's complement, 0: unsigned
    parameter integer IN_BIPOLAR = 0,  // 1: inputs are bipolar (IN_BITS = 1)
    parameter integer W_BITS = 8,      // weight bits, >= 1 (1 when W_BIPOLAR)
    parameter integer W_SIGNED = 1,    // 1: weights are two's complement, 0: unsigned
    parameter integer W_BIPOLAR = 0,   // 1: weights are bipolar (W_BITS = 1)
    parameter integer ACC_BITS = 16,   // accumulator (output element) bits, >= 1
    // per-channel constant added to each accumulator, channel c at [c*ACC_BITS +: ACC_BITS]
    parameter [CHANNELS*ACC_BITS-1:0] BIAS = 0,
    // the weight memory as a constant, word a at bits [a*PE*W_BITS +: PE*W_BITS]; used when
    // WEIGHT_FILE is ""
    parameter [TAPS*CHANNELS*W_BITS-1:0] WEIGHTS = 0,
    // where the weight ROM goes: "bram" (block RAM), "lutram" (LUTs as distributed ROM) or
    // "logic" (LUTs and registers); archgen decides it (the weight_memory option, "auto"
    // by size) and passes it here, to the HLS kernel and to the estimate alike
    parameter [8*6-1:0] WEIGHT_MEM = "logic",
    parameter WEIGHT_FILE = ""         // $readmemh file of the TAPS*CHANNELS/PE words, or ""
) (
    input  wire                     aclk,
    input  wire                     aresetn,
    input  wire [PE*IN_BITS-1:0]    s_axis_tdata,
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

    localparam integer CF = CHANNELS / PE;         // channel groups (beats per tap)
    localparam integer DEPTH = TAPS * CF;          // weight words
    localparam integer XW = PE * IN_BITS;          // input beat bits
    localparam integer WW = PE * W_BITS;           // weight word bits
    localparam integer AB = PE * ACC_BITS;         // output beat bits
    localparam [0:0]   XNOR = IN_BIPOLAR != 0 && W_BIPOLAR != 0;
    localparam integer XB = IN_BITS + (IN_SIGNED != 0 ? 0 : 1);  // input as a signed number
    localparam integer WB = W_BITS + (W_SIGNED != 0 ? 0 : 1);    // weight as a signed number
    // exact signed product width: +-1, +-weight, +-input, or a full product (unsigned x
    // unsigned needs a sign bit on top of IN_BITS + W_BITS, the others do not)
    localparam integer PW = XNOR ? 2 : IN_BIPOLAR != 0 ? W_BITS + 1 : W_BIPOLAR != 0 ? IN_BITS + 1 :
                            IN_BITS + W_BITS + (IN_SIGNED == 0 && W_SIGNED == 0 ? 1 : 0);
    localparam integer P0 = min2(PW, ACC_BITS);    // product bits kept (modulo 2^ACC_BITS)
    localparam integer CFW = cw(CF);
    localparam integer KW = cw(TAPS);
    localparam integer AW = cw(DEPTH);
    localparam integer VW = cw(VECTORS);
    localparam integer CF_LAST_I = CF - 1;
    localparam integer K_LAST_I = TAPS - 1;
    localparam integer VEC_LAST_I = VECTORS - 1;
    localparam integer DEPTH_LAST_I = DEPTH - 1;
    localparam [CFW-1:0] CF_LAST = CF_LAST_I[CFW-1:0];
    localparam [KW-1:0]  K_LAST = K_LAST_I[KW-1:0];
    localparam [VW-1:0]  VEC_LAST = VEC_LAST_I[VW-1:0];
    localparam [AW-1:0]  ADDR_LAST = DEPTH_LAST_I[AW-1:0];
    localparam integer CW = CFW + 3;               // control bits per stage: cf, first, last, tlast

    initial begin
        if (CHANNELS < 1 || TAPS < 1)
            $error("vvu %m: CHANNELS=%0d and TAPS=%0d must be >= 1", CHANNELS, TAPS);
        if (PE < 1 || CHANNELS % PE != 0) $error("vvu %m: PE=%0d must divide CHANNELS=%0d", PE, CHANNELS);
        if (VECTORS < 1) $error("vvu %m: VECTORS=%0d must be >= 1", VECTORS);
        if (IN_BITS < 1 || W_BITS < 1 || ACC_BITS < 1)
            $error("vvu %m: IN_BITS=%0d, W_BITS=%0d, ACC_BITS=%0d must be >= 1", IN_BITS, W_BITS, ACC_BITS);
        if (IN_BIPOLAR != 0 && IN_BITS != 1) $error("vvu %m: bipolar inputs need IN_BITS=1, not %0d", IN_BITS);
        if (W_BIPOLAR != 0 && W_BITS != 1) $error("vvu %m: bipolar weights need W_BITS=1, not %0d", W_BITS);
        if (WEIGHT_MEM != "bram" && WEIGHT_MEM != "lutram" && WEIGHT_MEM != "logic")
            $error("vvu %m: WEIGHT_MEM=\"%0s\" must be \"bram\", \"lutram\" or \"logic\"", WEIGHT_MEM);
    end

    // -- issue: walk (pixel, tap, channel group), one input beat each ------------------------
    reg  [CFW-1:0] cf;
    reg  [KW-1:0]  tap;
    reg  [AW-1:0]  addr;
    reg  [VW-1:0]  vec;
    wire           en;  // the whole pipeline advances
    wire           fire = en && s_axis_tvalid;
    wire           cf_end = cf == CF_LAST;
    wire           tap_end = tap == K_LAST;
    wire           vec_end = vec == VEC_LAST;

    assign s_axis_tready = en;

    always @(posedge aclk) begin
        if (!aresetn) begin
            cf   <= {CFW{1'b0}};
            tap  <= {KW{1'b0}};
            addr <= {AW{1'b0}};
            vec  <= {VW{1'b0}};
        end else if (fire) begin
            cf   <= cf_end ? {CFW{1'b0}} : cf + 1'b1;
            addr <= addr == ADDR_LAST ? {AW{1'b0}} : addr + 1'b1;
            if (cf_end) begin
                tap <= tap_end ? {KW{1'b0}} : tap + 1'b1;
                if (tap_end) vec <= vec_end ? {VW{1'b0}} : vec + 1'b1;
            end
        end
    end

    // -- stage 1: operands -------------------------------------------------------------------
    reg  [XW-1:0]   x1;
    wire [WW-1:0]   w1;
    reg  [2:1]      valid;      // valid[s]: stage s holds a beat
    reg  [2*CW-1:0] ctl;        // control of stages 1..2, stage s at [(s-1)*CW +: CW]
    wire [CW-1:0]   ctl0 = {cf, tap == 0, tap_end, tap_end && cf_end && vec_end};

    always @(posedge aclk) begin
        if (!aresetn) valid <= 2'b00;
        else if (en) valid <= {valid[1], fire};
    end

    always @(posedge aclk) begin
        if (en) begin
            ctl <= {ctl[CW-1:0], ctl0};
            x1  <= s_axis_tdata;
        end
    end

    // the weight ROM, as WEIGHT_MEM places it (hw/rtl/weight_rom.v)
    weight_rom #(
        .WIDTH(WW), .DEPTH(DEPTH), .AW(AW), .INIT(WEIGHTS), .FILE(WEIGHT_FILE),
        .STYLE(WEIGHT_MEM)
    ) u_weights (
        .aclk(aclk), .en(en), .addr(addr), .data(w1)
    );

    // -- stage 2: products, widened to ACC_BITS ----------------------------------------------
    reg  [AB-1:0] prods;  // lane p at [p*ACC_BITS +: ACC_BITS]
    genvar p;
    generate
        for (p = 0; p < PE; p = p + 1) begin : g_lane
            wire [IN_BITS-1:0]  xv = x1[p*IN_BITS +: IN_BITS];
            wire [W_BITS-1:0]   wv = w1[p*W_BITS +: W_BITS];
            // bits of prod above ACC_BITS are dropped on purpose: modulo 2^ACC_BITS
            /* verilator lint_off UNUSEDSIGNAL */
            wire [PW-1:0]       prod;
            /* verilator lint_on UNUSEDSIGNAL */
            wire [ACC_BITS-1:0] value;
            if (XNOR) begin : g_xnor
                assign prod = xv[0] == wv[0] ? 2'b01 : 2'b11;
            end else if (IN_BIPOLAR != 0) begin : g_sign_w  // +-weight
                wire [PW-1:0] wx;
                if (W_SIGNED != 0) begin : g_s
                    assign wx = {wv[W_BITS-1], wv};
                end else begin : g_u
                    assign wx = {1'b0, wv};
                end
                assign prod = xv[0] ? wx : -wx;
            end else if (W_BIPOLAR != 0) begin : g_sign_x  // +-input
                wire [PW-1:0] xx;
                if (IN_SIGNED != 0) begin : g_s
                    assign xx = {xv[IN_BITS-1], xv};
                end else begin : g_u
                    assign xx = {1'b0, xv};
                end
                assign prod = wv[0] ? xx : -xx;
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
            if (P0 < ACC_BITS) begin : g_widen
                assign value = {{(ACC_BITS - P0){prod[P0-1]}}, prod[P0-1:0]};
            end else begin : g_same
                assign value = prod[ACC_BITS-1:0];
            end
            always @(posedge aclk) begin
                if (en) prods[p*ACC_BITS +: ACC_BITS] <= value;
            end
        end
    endgenerate

    // -- stage 3: accumulate; the last tap's sums go to the output register -------------------
    wire [CW-1:0]  ctl2 = ctl[CW +: CW];
    wire [CFW-1:0] cf2 = ctl2[CW-1:3];
    wire           first2 = ctl2[2];
    wire           last2 = ctl2[1];
    wire           tlast2 = ctl2[0];
    reg  [AB-1:0]  partial [0:CF-1];  // running sums of the current pixel, per channel group
    wire [AB-1:0]  base;
    wire [AB-1:0]  sum;
    reg  [AB-1:0]  out_data;
    reg            out_valid;
    reg            out_tlast;
    wire           skid_ready;

    assign en = !out_valid || skid_ready;

    assign base = first2 ? BIAS[cf2*AB +: AB] : partial[cf2];
    generate
        for (p = 0; p < PE; p = p + 1) begin : g_acc
            assign sum[p*ACC_BITS +: ACC_BITS] = base[p*ACC_BITS +: ACC_BITS]
                                               + prods[p*ACC_BITS +: ACC_BITS];
        end
    endgenerate

    always @(posedge aclk) begin
        if (en && valid[2]) partial[cf2] <= sum;
        if (en && valid[2] && last2) begin
            out_data  <= sum;
            out_tlast <= tlast2;
        end
    end

    always @(posedge aclk) begin
        if (!aresetn) out_valid <= 1'b0;
        else if (en) out_valid <= valid[2] && last2;
    end

    axis_skid #(.WIDTH(AB)) u_out (
        .aclk(aclk), .aresetn(aresetn),
        .s_axis_tdata(out_data), .s_axis_tvalid(out_valid), .s_axis_tready(skid_ready),
        .s_axis_tlast(out_tlast),
        .m_axis_tdata(m_axis_tdata), .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready),
        .m_axis_tlast(m_axis_tlast)
    );
endmodule

`default_nettype wire
