// add: residual add of two streams with integer weights, PE lanes per beat.
//
//   out = WA*a + WB*b + K        (K = -(WA*za + WB*zb), computed by the generator)
//
// The weights are constants given as canonical signed digits (WA = WA_POS - WA_NEG,
// masks with no two adjacent ones): each product is a sum of shifted copies of the
// input, a few adders and no multiplier.
// A beat is taken from both inputs together, only when both are valid.  Everything is
// computed at ACC_BITS, which holds every input, product and sum exactly; the output
// element is the low OUT_BITS bits (the sum's range fits the output type).
//
// Pipeline (one beat per cycle): 1 registered inputs, 2 registered weighted terms,
// 3 registered sum.  Frames are counted: m_axis_tlast marks beat FRAME_BEATS-1 of each
// frame.  s*_axis_tready are combinational from m_axis_tready and the other input's
// tvalid (the stages collapse bubbles).
`default_nettype none

module add #(
    parameter integer PE          = 1,   // lanes (elements) per beat, >= 1
    parameter integer A_BITS      = 8,   // element bits of input a (s0), >= 1
    parameter integer A_SIGNED    = 1,   // 1: a is two's complement, 0: unsigned
    parameter integer A_BIPOLAR   = 0,   // 1: a's bit b is the code 2b-1 (A_BITS == 1)
    parameter integer B_BITS      = 8,   // element bits of input b (s1), >= 1
    parameter integer B_SIGNED    = 1,   // 1: b is two's complement, 0: unsigned
    parameter integer B_BIPOLAR   = 0,   // 1: b's bit b is the code 2b-1 (B_BITS == 1)
    parameter integer ACC_BITS    = 10,  // signed compute width, >= 2, >= A_BITS and
                                         // B_BITS (+1 when unsigned), >= OUT_BITS
    parameter integer OUT_BITS    = 10,  // output element bits, >= 1
    parameter integer FRAME_BEATS = 1,   // beats per frame, >= 1
    parameter [ACC_BITS-1:0] WA_POS = 1,  // weight of a = WA_POS - WA_NEG (digit masks)
    parameter [ACC_BITS-1:0] WA_NEG = 0,
    parameter [ACC_BITS-1:0] WB_POS = 1,  // weight of b = WB_POS - WB_NEG (digit masks)
    parameter [ACC_BITS-1:0] WB_NEG = 0,
    parameter [ACC_BITS-1:0] K  = 0      // constant term, two's complement
) (
    input  wire                   aclk,
    input  wire                   aresetn,
    input  wire [PE*A_BITS-1:0]   s0_axis_tdata,
    input  wire                   s0_axis_tvalid,
    output wire                   s0_axis_tready,
    input  wire [PE*B_BITS-1:0]   s1_axis_tdata,
    input  wire                   s1_axis_tvalid,
    output wire                   s1_axis_tready,
    output wire [PE*OUT_BITS-1:0] m_axis_tdata,
    output wire                   m_axis_tvalid,
    input  wire                   m_axis_tready,
    output wire                   m_axis_tlast
);
    localparam integer FW = FRAME_BEATS > 1 ? $clog2(FRAME_BEATS) : 1;
    localparam [31:0] F_LAST32 = FRAME_BEATS - 1;
    localparam [FW-1:0] F_LAST = F_LAST32[FW-1:0];

    initial begin
        if (PE < 1) $error("add %m: PE=%0d must be >= 1", PE);
        if (A_BITS < 1 || (A_BIPOLAR != 0 && A_BITS != 1))
            $error("add %m: A_BITS=%0d must be >= 1 (1 when bipolar)", A_BITS);
        if (B_BITS < 1 || (B_BIPOLAR != 0 && B_BITS != 1))
            $error("add %m: B_BITS=%0d must be >= 1 (1 when bipolar)", B_BITS);
        if (ACC_BITS < 2 || ACC_BITS < OUT_BITS
            || (A_BIPOLAR == 0 && ACC_BITS < A_BITS + (A_SIGNED != 0 ? 0 : 1))
            || (B_BIPOLAR == 0 && ACC_BITS < B_BITS + (B_SIGNED != 0 ? 0 : 1)))
            $error("add %m: ACC_BITS=%0d cannot hold the inputs or the %0d-bit output",
                   ACC_BITS, OUT_BITS);
        if (OUT_BITS < 1) $error("add %m: OUT_BITS=%0d must be >= 1", OUT_BITS);
        if (FRAME_BEATS < 1) $error("add %m: FRAME_BEATS=%0d must be >= 1", FRAME_BEATS);
    end

    // -- flow control: both inputs join into stage 1; valid per stage
    reg  v1, v2, v3;
    wire r3 = !v3 || m_axis_tready;
    wire r2 = !v2 || r3;
    wire r1 = !v1 || r2;
    wire both = s0_axis_tvalid && s1_axis_tvalid;
    wire take = both && r1;
    wire e2 = v1 && r2;
    wire e3 = v2 && r3;
    assign s0_axis_tready = r1 && s1_axis_tvalid;
    assign s1_axis_tready = r1 && s0_axis_tvalid;
    assign m_axis_tvalid = v3;

    always @(posedge aclk) begin
        if (!aresetn) begin
            v1 <= 1'b0;
            v2 <= 1'b0;
            v3 <= 1'b0;
        end else begin
            if (r1) v1 <= both;
            if (r2) v2 <= v1;
            if (r3) v3 <= v2;
        end
    end

    reg [FW-1:0] beat;
    reg          last1, last2, last3;
    always @(posedge aclk) begin
        if (!aresetn) beat <= {FW{1'b0}};
        else if (take) beat <= beat == F_LAST ? {FW{1'b0}} : beat + 1'b1;
    end
    always @(posedge aclk) begin
        if (take) last1 <= beat == F_LAST;
        if (e2) last2 <= last1;
        if (e3) last3 <= last2;
    end
    assign m_axis_tlast = last3;

    genvar l;
    generate
        for (l = 0; l < PE; l = l + 1) begin : g_lane
            reg  [A_BITS-1:0]   a;  // stage 1: the input elements as they came
            reg  [B_BITS-1:0]   b;
            wire [ACC_BITS-1:0] ae, be;  // sign-, zero- or bipolar-extended
            if (A_BIPOLAR != 0) begin : g_abip
                assign ae = {{(ACC_BITS-1){~a[0]}}, 1'b1};
            end else if (A_SIGNED == 0) begin : g_auns
                assign ae = {{(ACC_BITS-A_BITS){1'b0}}, a};
            end else if (A_BITS == 1) begin : g_aone
                assign ae = {ACC_BITS{a[0]}};
            end else begin : g_asgn
                assign ae = {{(ACC_BITS-A_BITS+1){a[A_BITS-1]}}, a[A_BITS-2:0]};
            end
            if (B_BIPOLAR != 0) begin : g_bbip
                assign be = {{(ACC_BITS-1){~b[0]}}, 1'b1};
            end else if (B_SIGNED == 0) begin : g_buns
                assign be = {{(ACC_BITS-B_BITS){1'b0}}, b};
            end else if (B_BITS == 1) begin : g_bone
                assign be = {ACC_BITS{b[0]}};
            end else begin : g_bsgn
                assign be = {{(ACC_BITS-B_BITS+1){b[B_BITS-1]}}, b[B_BITS-2:0]};
            end

            reg [ACC_BITS-1:0] ta, tb, ta2, tb2;  // all exact modulo 2**ACC_BITS
            integer k;
            always @* begin
                ta = {ACC_BITS{1'b0}};
                tb = {ACC_BITS{1'b0}};
                for (k = 0; k < ACC_BITS; k = k + 1) begin
                    if (WA_POS[k]) ta = ta + (ae << k);
                    if (WA_NEG[k]) ta = ta - (ae << k);
                    if (WB_POS[k]) tb = tb + (be << k);
                    if (WB_NEG[k]) tb = tb - (be << k);
                end
            end
            /* verilator lint_off UNUSEDSIGNAL */  // bits above OUT_BITS are sign/range bits
            wire [ACC_BITS-1:0] sum = ta2 + tb2 + K;
            /* verilator lint_on UNUSEDSIGNAL */
            reg [OUT_BITS-1:0] out3;
            always @(posedge aclk) begin
                if (take) begin
                    a <= s0_axis_tdata[l*A_BITS +: A_BITS];
                    b <= s1_axis_tdata[l*B_BITS +: B_BITS];
                end
                if (e2) begin
                    ta2 <= ta;
                    tb2 <= tb;
                end
                if (e3) out3 <= sum[OUT_BITS-1:0];
            end
            assign m_axis_tdata[l*OUT_BITS +: OUT_BITS] = out3;
        end
    endgenerate
endmodule

`default_nettype wire
