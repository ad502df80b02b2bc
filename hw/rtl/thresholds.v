// thresholds: multi-threshold activation on PE lanes per beat.
//
//   out = CODES[#{k : x' >= T[c, k]}],  x' = NEGATE[c] ? -x : x
//
// Lane l of beat j carries channel c = (j*PE + l) mod C; the cell only needs the group
// g = j mod GROUPS (GROUPS = C/PE) and reads lane l's thresholds from table row
// g*PE + l (row 0 for every lane when SHARED).  Rows are ascending, so the compare
// bits form a thermometer code; its one-hot edge selects the output code (CODES[m] is
// the code for count m, computed by the generator: base + m, or the bipolar bit).
//
// Pipeline (one beat per cycle): 1 registered input (negated, and the ROM row read),
// 2 registered compares (PE*STEPS comparators), 3 registered output code.
// Frames are counted: m_axis_tlast marks beat FRAME_BEATS-1 of each frame.
// s_axis_tready is combinational from m_axis_tready (3 gates: the stages collapse
// bubbles); put an axis_skid in front to cut the path.
`default_nettype none

module thresholds #(
    parameter integer PE          = 1,  // lanes (elements) per beat, >= 1
    parameter integer IN_BITS     = 8,  // input element bits, >= 1 (1 when IN_BIPOLAR)
    parameter integer IN_SIGNED   = 1,  // 1: input is two's complement, 0: unsigned
    parameter integer IN_BIPOLAR  = 0,  // 1: input bit b is the code 2b-1 (IN_BITS == 1)
    parameter integer CMP_BITS    = 9,  // signed compare width, >= 2; holds every x' and
                                        // threshold, >= IN_BITS (+1 when unsigned)
    parameter integer STEPS       = 1,  // thresholds per channel, >= 1
    parameter integer OUT_BITS    = 4,  // output element bits, >= 1
    parameter integer GROUPS      = 1,  // beats before the lane channels repeat (C/PE), >= 1
    parameter integer SHARED      = 0,  // 1: one row (thresholds, negate) for every lane;
                                        // then GROUPS == 1
    parameter integer FRAME_BEATS = 1,  // beats per frame, a multiple of GROUPS
    // GROUPS words of (SHARED != 0 ? 1 : PE) rows of STEPS CMP_BITS-bit fields: word g, row r,
    // step k at bit ((g*ROWS + r)*STEPS + k)*CMP_BITS (unused when THRESH_FILE is set)
    parameter [GROUPS*(SHARED != 0 ? 1 : PE)*STEPS*CMP_BITS-1:0] THRESHOLDS = 0,
    parameter [GROUPS*(SHARED != 0 ? 1 : PE)-1:0] NEGATE = 0,  // bit g*ROWS + r: compare -x
    parameter [(STEPS+1)*OUT_BITS-1:0] CODES = 0,  // output code of count m at m*OUT_BITS
    parameter THRESH_FILE = ""  // "": THRESHOLDS; else a $readmemh file of the GROUPS words
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
    localparam integer ROWS = SHARED != 0 ? 1 : PE;  // threshold rows per word
    localparam integer ROW_BITS = STEPS * CMP_BITS;
    localparam integer WORD_BITS = ROWS * ROW_BITS;
    localparam integer GW = GROUPS > 1 ? $clog2(GROUPS) : 1;
    localparam integer FW = FRAME_BEATS > 1 ? $clog2(FRAME_BEATS) : 1;
    localparam [31:0] G_LAST32 = GROUPS - 1;
    localparam [31:0] F_LAST32 = FRAME_BEATS - 1;
    localparam [GW-1:0] G_LAST = G_LAST32[GW-1:0];
    localparam [FW-1:0] F_LAST = F_LAST32[FW-1:0];
    localparam integer ROM = THRESH_FILE != "" ? 1 : 0;

    initial begin
        if (PE < 1) $error("thresholds %m: PE=%0d must be >= 1", PE);
        if (IN_BITS < 1) $error("thresholds %m: IN_BITS=%0d must be >= 1", IN_BITS);
        if (IN_BIPOLAR != 0 && IN_BITS != 1)
            $error("thresholds %m: a bipolar input has IN_BITS=1, not %0d", IN_BITS);
        if (CMP_BITS < 2 || (IN_BIPOLAR == 0 && CMP_BITS < IN_BITS + (IN_SIGNED != 0 ? 0 : 1)))
            $error("thresholds %m: CMP_BITS=%0d cannot hold the %0d-bit input", CMP_BITS, IN_BITS);
        if (STEPS < 1) $error("thresholds %m: STEPS=%0d must be >= 1", STEPS);
        if (OUT_BITS < 1) $error("thresholds %m: OUT_BITS=%0d must be >= 1", OUT_BITS);
        if (GROUPS < 1 || (SHARED != 0 && GROUPS != 1))
            $error("thresholds %m: GROUPS=%0d must be >= 1 (1 when SHARED)", GROUPS);
        if (FRAME_BEATS < 1 || FRAME_BEATS % GROUPS != 0)
            $error("thresholds %m: FRAME_BEATS=%0d must be a multiple of GROUPS=%0d",
                   FRAME_BEATS, GROUPS);
    end

    // -- flow control: valid per stage, a stage loads when its successor can take it
    reg  v1, v2, v3;
    wire r3 = !v3 || m_axis_tready;
    wire r2 = !v2 || r3;
    wire r1 = !v1 || r2;
    wire take = s_axis_tvalid && r1;
    wire e2 = v1 && r2;
    wire e3 = v2 && r3;
    assign s_axis_tready = r1;
    assign m_axis_tvalid = v3;

    always @(posedge aclk) begin
        if (!aresetn) begin
            v1 <= 1'b0;
            v2 <= 1'b0;
            v3 <= 1'b0;
        end else begin
            if (r1) v1 <= s_axis_tvalid;
            if (r2) v2 <= v1;
            if (r3) v3 <= v2;
        end
    end

    // -- channel group and frame position of the accepted beat
    reg [GW-1:0] grp;
    reg [FW-1:0] beat;
    reg          last1, last2, last3;
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
        if (take) last1 <= beat == F_LAST;
        if (e2) last2 <= last1;
        if (e3) last3 <= last2;
    end
    assign m_axis_tlast = last3;

    // -- the constants of a beat: the negate bits of the accepted one (group grp), and
    //    the thresholds of the one in stage 1 (a ROM word read with the input, or the
    //    constant word of the registered group: per bit a function of the group)
    reg [ROWS-1:0] neg;
    integer g;
    always @* begin
        neg = NEGATE[ROWS-1:0];
        for (g = 1; g < GROUPS; g = g + 1)
            if (grp == g[GW-1:0]) neg = NEGATE[g*ROWS +: ROWS];
    end

    wire [WORD_BITS-1:0] word1;
    reg  [WORD_BITS-1:0] rd;    // the registered ROM word of the group in stage 1
    reg  [WORD_BITS-1:0] rom [0:GROUPS-1];
    generate
        if (ROM != 0) begin : g_rom
            initial $readmemh(THRESH_FILE, rom);
        end else begin : g_const
            // the constant as a ROM initialized from the parameter: a registered read maps
            // to LUT ROM or block RAM (a multiplexer over the wide constant costs half again
            // as many LUTs and twice the synthesis time)
            integer h;
            initial begin
                for (h = 0; h < GROUPS; h = h + 1) rom[h] = THRESHOLDS[h*WORD_BITS +: WORD_BITS];
            end
        end
    endgenerate
    always @(posedge aclk) if (take) rd <= rom[grp];
    assign word1 = rd;

    genvar l;
    generate
        for (l = 0; l < PE; l = l + 1) begin : g_lane
            localparam integer ROW = SHARED != 0 ? 0 : l;
            wire [IN_BITS-1:0] x = s_axis_tdata[l*IN_BITS +: IN_BITS];
            wire [CMP_BITS-1:0] xe;  // x sign-, zero- or bipolar-extended
            if (IN_BIPOLAR != 0) begin : g_bip
                assign xe = {{(CMP_BITS-1){~x[0]}}, 1'b1};
            end else if (IN_SIGNED == 0) begin : g_uns
                assign xe = {{(CMP_BITS-IN_BITS){1'b0}}, x};
            end else if (IN_BITS == 1) begin : g_one
                assign xe = {CMP_BITS{x[0]}};
            end else begin : g_sgn
                assign xe = {{(CMP_BITS-IN_BITS+1){x[IN_BITS-1]}}, x[IN_BITS-2:0]};
            end

            reg signed [CMP_BITS-1:0] x1;  // stage 1: x'
            always @(posedge aclk)
                if (take) x1 <= neg[ROW] ? -xe : xe;

            wire [ROW_BITS-1:0] row = word1[ROW*ROW_BITS +: ROW_BITS];
            reg  [STEPS-1:0] ge2;  // stage 2: x' >= T[k], a thermometer code
            integer k;
            always @(posedge aclk)
                if (e2)
                    for (k = 0; k < STEPS; k = k + 1)
                        ge2[k] <= x1 >= $signed(row[k*CMP_BITS +: CMP_BITS]);

            // count m <=> ge2[m-1] && !ge2[m]: pad with a 1 below and a 0 above
            wire [STEPS+1:0] th = {1'b0, ge2, 1'b1};
            reg  [OUT_BITS-1:0] code;
            integer m;
            always @* begin
                code = {OUT_BITS{1'b0}};
                for (m = 0; m <= STEPS; m = m + 1)
                    if (th[m] && !th[m+1]) code = code | CODES[m*OUT_BITS +: OUT_BITS];
            end
            reg [OUT_BITS-1:0] out3;  // stage 3: the output code
            always @(posedge aclk) if (e3) out3 <= code;
            assign m_axis_tdata[l*OUT_BITS +: OUT_BITS] = out3;
        end
    endgenerate
endmodule

`default_nettype wire
