// requant: multiply-shift requantizer on PE lanes per beat.
//
//   out = clamp((M[c]*x + B[c]) >>> SHIFT, LO, HI)
//
// with convergent rounding (ties to even) when ROUNDING == 1: the generator adds
// 2**(SHIFT-1) to every bias, so the shift rounds half up, and a tie (dropped bits all
// zero after that offset) clears the result's last bit.  ROUNDING == 0 is a floor.
// Lane l of beat j carries channel c = (j*PE + l) mod C; the cell tracks the group
// g = j mod GROUPS (GROUPS = C/PE) and reads lane l's constants from row g*PE + l
// (row 0 for every lane when SHARED).
//
// Pipeline (one beat per cycle), laid out for a DSP slice: 1 registered input and
// multiplier (A/B registers), 2 registered product (M) and bias (C), 3 registered sum
// (P), 4 rounding, clamp and the registered output.  Frames are counted:
// m_axis_tlast marks beat FRAME_BEATS-1 of each frame.  s_axis_tready is combinational
// from m_axis_tready (the stages collapse bubbles).
`default_nettype none

module requant #(
    parameter integer PE          = 1,   // lanes (elements) per beat, >= 1
    parameter integer IN_BITS     = 8,   // input element bits, >= 1 (1 when IN_BIPOLAR)
    parameter integer IN_SIGNED   = 1,   // 1: input is two's complement, 0: unsigned
    parameter integer IN_BIPOLAR  = 0,   // 1: input bit b is the code 2b-1 (IN_BITS == 1)
    parameter integer X_BITS      = 9,   // signed width of x, >= 2, >= IN_BITS (+1 unsigned)
    parameter integer M_BITS      = 8,   // signed width of the multipliers, >= 2
    parameter integer ACC_BITS    = 17,  // signed width of M*x + B, >= X_BITS + M_BITS and
                                         // >= SHIFT + 2; holds every bias and every sum
    parameter integer SHIFT       = 0,   // right shift, 0 <= SHIFT <= ACC_BITS - 2
    parameter integer ROUNDING    = 0,   // 0: floor, 1: half to even (needs SHIFT >= 1)
    parameter integer OUT_BITS    = 8,   // output element bits, 1 <= OUT_BITS <= ACC_BITS - SHIFT
    parameter integer CLAMP_LO    = 1,   // 1: results below LO occur and become LO
    parameter integer CLAMP_HI    = 1,   // 1: results above HI occur and become HI
    parameter integer GROUPS      = 1,   // beats before the lane channels repeat (C/PE), >= 1
    parameter integer SHARED      = 0,   // 1: one row (M, B) for every lane; then GROUPS == 1
    parameter integer FRAME_BEATS = 1,   // beats per frame, a multiple of GROUPS
    // GROUPS*(SHARED ? 1 : PE) fields, row g*ROWS + r at bit (g*ROWS + r)*width
    parameter [GROUPS*(SHARED != 0 ? 1 : PE)*M_BITS-1:0]   MULT = 0,
    parameter [GROUPS*(SHARED != 0 ? 1 : PE)*ACC_BITS-1:0] BIAS = 0,  // rounding offset included
    parameter [ACC_BITS-SHIFT-1:0] LO = 0,  // clamp bounds, two's complement; the output
    parameter [ACC_BITS-SHIFT-1:0] HI = 0   // codes are their low OUT_BITS bits
) (
    input  wire                   aclk,
    input  wire                   aresetn,
    input  wire [PE*IN_BITS-1:0]  s_axis_tdata,
    input  wire                   s_axis_tvalid,
    output wire                   s_axis_tready,
    output wire [PE*OUT_BITS-1:0] m_axis_tdata,
    output wire                   m_axis_tvalid,
    input  wire                   m_axis_tready,
    output wire                   m_axis_tlast
);
    localparam integer ROWS = SHARED != 0 ? 1 : PE;
    localparam integer P_BITS = X_BITS + M_BITS;
    localparam integer Q_BITS = ACC_BITS - SHIFT;
    localparam integer GW = GROUPS > 1 ? $clog2(GROUPS) : 1;
    localparam integer FW = FRAME_BEATS > 1 ? $clog2(FRAME_BEATS) : 1;
    localparam [31:0] G_LAST32 = GROUPS - 1;
    localparam [31:0] F_LAST32 = FRAME_BEATS - 1;
    localparam [GW-1:0] G_LAST = G_LAST32[GW-1:0];
    localparam [FW-1:0] F_LAST = F_LAST32[FW-1:0];

    initial begin
        if (PE < 1) $error("requant %m: PE=%0d must be >= 1", PE);
        if (IN_BITS < 1) $error("requant %m: IN_BITS=%0d must be >= 1", IN_BITS);
        if (IN_BIPOLAR != 0 && IN_BITS != 1)
            $error("requant %m: a bipolar input has IN_BITS=1, not %0d", IN_BITS);
        if (X_BITS < 2 || (IN_BIPOLAR == 0 && X_BITS < IN_BITS + (IN_SIGNED != 0 ? 0 : 1)))
            $error("requant %m: X_BITS=%0d cannot hold the %0d-bit input", X_BITS, IN_BITS);
        if (M_BITS < 2) $error("requant %m: M_BITS=%0d must be >= 2", M_BITS);
        if (ACC_BITS < P_BITS || ACC_BITS < SHIFT + 2)
            $error("requant %m: ACC_BITS=%0d must be >= X_BITS+M_BITS=%0d and >= SHIFT+2=%0d",
                   ACC_BITS, P_BITS, SHIFT + 2);
        if (SHIFT < 0) $error("requant %m: SHIFT=%0d must be >= 0", SHIFT);
        if (ROUNDING != 0 && (ROUNDING != 1 || SHIFT < 1))
            $error("requant %m: ROUNDING=%0d must be 0, or 1 with SHIFT >= 1", ROUNDING);
        if (OUT_BITS < 1 || OUT_BITS > Q_BITS)
            $error("requant %m: OUT_BITS=%0d must be in 1..ACC_BITS-SHIFT=%0d", OUT_BITS, Q_BITS);
        if (GROUPS < 1 || (SHARED != 0 && GROUPS != 1))
            $error("requant %m: GROUPS=%0d must be >= 1 (1 when SHARED)", GROUPS);
        if (FRAME_BEATS < 1 || FRAME_BEATS % GROUPS != 0)
            $error("requant %m: FRAME_BEATS=%0d must be a multiple of GROUPS=%0d",
                   FRAME_BEATS, GROUPS);
    end

    // -- flow control: valid per stage, a stage loads when its successor can take it
    reg  v1, v2, v3, v4;
    wire r4 = !v4 || m_axis_tready;
    wire r3 = !v3 || r4;
    wire r2 = !v2 || r3;
    wire r1 = !v1 || r2;
    wire take = s_axis_tvalid && r1;
    wire e2 = v1 && r2;
    wire e3 = v2 && r3;
    wire e4 = v3 && r4;
    assign s_axis_tready = r1;
    assign m_axis_tvalid = v4;

    always @(posedge aclk) begin
        if (!aresetn) begin
            v1 <= 1'b0;
            v2 <= 1'b0;
            v3 <= 1'b0;
            v4 <= 1'b0;
        end else begin
            if (r1) v1 <= s_axis_tvalid;
            if (r2) v2 <= v1;
            if (r3) v3 <= v2;
            if (r4) v4 <= v3;
        end
    end

    // -- channel group and frame position of the accepted beat
    reg [GW-1:0] grp, grp1;
    reg [FW-1:0] beat;
    reg          last1, last2, last3, last4;
    always @(posedge aclk) begin
        if (!aresetn) begin
            grp  <= {GW{1'b0}};
            beat <= {FW{1'b0}};
        end else if (take) begin
            grp  <= grp == G_LAST ? {GW{1'b0}} : grp + 1'b1;
            beat <= beat == F_LAST ? {FW{1'b0}} : beat + 1'b1;
        end
    end
    always @(posedge aclk) begin
        if (take) begin
            grp1  <= grp;
            last1 <= beat == F_LAST;
        end
        if (e2) last2 <= last1;
        if (e3) last3 <= last2;
        if (e4) last4 <= last3;
    end
    assign m_axis_tlast = last4;

    // -- the constants of the beats in stages 1 (multipliers) and 2 (biases): per bit a
    //    function of the group
    reg [ROWS*M_BITS-1:0]   mult;
    reg [ROWS*ACC_BITS-1:0] bias;
    integer g;
    always @* begin
        mult = MULT[ROWS*M_BITS-1:0];
        bias = BIAS[ROWS*ACC_BITS-1:0];
        for (g = 1; g < GROUPS; g = g + 1) begin
            if (grp == g[GW-1:0]) mult = MULT[g*ROWS*M_BITS +: ROWS*M_BITS];
            if (grp1 == g[GW-1:0]) bias = BIAS[g*ROWS*ACC_BITS +: ROWS*ACC_BITS];
        end
    end

    genvar l;
    generate
        for (l = 0; l < PE; l = l + 1) begin : g_lane
            localparam integer ROW = SHARED != 0 ? 0 : l;
            wire [IN_BITS-1:0] x = s_axis_tdata[l*IN_BITS +: IN_BITS];
            wire [X_BITS-1:0] xe;  // x sign-, zero- or bipolar-extended
            if (IN_BIPOLAR != 0) begin : g_bip
                assign xe = {{(X_BITS-1){~x[0]}}, 1'b1};
            end else if (IN_SIGNED == 0) begin : g_uns
                assign xe = {{(X_BITS-IN_BITS){1'b0}}, x};
            end else if (IN_BITS == 1) begin : g_one
                assign xe = {X_BITS{x[0]}};
            end else begin : g_sgn
                assign xe = {{(X_BITS-IN_BITS+1){x[IN_BITS-1]}}, x[IN_BITS-2:0]};
            end

            reg signed [X_BITS-1:0]   x1;  // stage 1: A and B registers
            reg signed [M_BITS-1:0]   m1;
            reg signed [P_BITS-1:0]   p2;  // stage 2: M and C registers
            reg signed [ACC_BITS-1:0] b2;
            /* verilator lint_off UNUSEDSIGNAL */  // the low SHIFT bits only decide ties
            reg signed [ACC_BITS-1:0] s3;  // stage 3: P register
            /* verilator lint_on UNUSEDSIGNAL */
            always @(posedge aclk) begin
                if (take) begin
                    x1 <= xe;
                    m1 <= mult[ROW*M_BITS +: M_BITS];
                end
                if (e2) begin
                    p2 <= x1 * m1;
                    b2 <= bias[ROW*ACC_BITS +: ACC_BITS];
                end
                if (e3) s3 <= {{(ACC_BITS-P_BITS+1){p2[P_BITS-1]}}, p2[P_BITS-2:0]} + b2;
            end

            // stage 4: shift (round half up via the bias offset), ties to even, clamp
            wire tie;
            if (ROUNDING != 0) begin : g_even
                assign tie = s3[SHIFT-1:0] == {SHIFT{1'b0}};
            end else begin : g_floor
                assign tie = 1'b0;
            end
            wire [Q_BITS-1:0] q = {s3[ACC_BITS-1:SHIFT+1], s3[SHIFT] & !tie};
            wire below = CLAMP_LO != 0 && $signed(q) < $signed(LO);
            wire above = CLAMP_HI != 0 && $signed(q) > $signed(HI);
            /* verilator lint_off UNUSEDSIGNAL */  // bits above OUT_BITS are sign/range bits
            wire [Q_BITS-1:0] y = below ? LO : above ? HI : q;
            /* verilator lint_on UNUSEDSIGNAL */
            reg [OUT_BITS-1:0] out4;
            always @(posedge aclk) if (e4) out4 <= y[OUT_BITS-1:0];
            assign m_axis_tdata[l*OUT_BITS +: OUT_BITS] = out4;
        end
    endgenerate
endmodule

`default_nettype wire
