// lif: a layer of spiking neurons (LIF, IF, LI, CubaLIF) on PE lanes per beat, the other
// neurons of the layer time-multiplexed through the lanes, their state in a RAM.
//
// A frame is one time step: FRAME_BEATS beats, neuron n = beat*PE + lane (channels last).
// Per neuron and step (units/lif.py golden() is the reference):
//
//   drive = (x << IN_SHIFT) + BIAS[n]             (x >>> -IN_SHIFT, a floor, when negative)
//   CubaLIF only: i = sat(leak(i, DECAY_SYN[n]) + drive); drive = i
//   v = sat(leak(v, DECAY[n]) + drive)            sat: clamp to [STATE_LO, STATE_HI]
//   LIF, IF, CubaLIF: s = v > THRESHOLD[n]; when s, v becomes RESET_VALUE[n] (RESET 0),
//                     v - THRESHOLD[n] (RESET 1) or stays (RESET 2); the output bit is s
//   LI: the output is v (STATE_BITS two's complement)
//
//   leak(v, d) = (v*d + 2**(DECAY_FRAC-1)) >>> DECAY_FRAC   LEAK 0 (d unsigned, <= 2**DECAY_FRAC)
//              = v - (v >>> d)                              LEAK 1 (d a shift count)
//              = v                                          LEAK 2, or NO_LEAK
//
// The state (v, and i for CubaLIF) persists from frame to frame and counts as zero on the
// first of every STEPS frames (a sample boundary; STEPS 0: only the first frame after
// reset), so the RAM is never cleared.  All arithmetic is exact at the widths the generator
// derives (units/lif.py derive()): the values fit, so two's complement wrap never occurs.
//
// Constants: row g = beat mod ROWS holds PE lane entries (entry g*PE + lane), or ONE entry
// for every lane when SHARED.  They are a ROM initialized from the parameters (a registered
// read with the state: LUT ROM or block RAM by size).
//
// Pipeline (one beat per cycle, no bubbles):
//   1 registered input, the constants' row and the state word of the beat's group, read
//     from a RAM of FRAME_BEATS words of PE lane states (synchronous read: LUT-RAM or block
//     RAM; with FRAME_BEATS == 1 a register, no RAM);
//   2 the update (leak, drive, saturation, spike, reset) written back to the RAM as the beat
//     leaves stage 1, and the registered lane outputs;
//   3 the registered output.
// Read-after-write: a beat's group is written on the edge the beat leaves stage 1, and the
// next beat of that group (FRAME_BEATS beats later) is read on a later edge, since the
// beats in between pass through stage 1 first; with FRAME_BEATS == 1 the update reads the
// state register itself (write-first by construction), so no beat ever sees a stale state.
// Frames are counted: m_axis_tlast marks beat FRAME_BEATS-1 of each frame.  s_axis_tready
// is combinational from m_axis_tready (the stages collapse bubbles).
`default_nettype none

module lif #(
    parameter integer PE          = 1,   // lanes (neurons) per beat, >= 1
    parameter integer IN_BITS     = 8,   // input element bits, >= 1 (1 when IN_BIPOLAR)
    parameter integer IN_SIGNED   = 1,   // 1: input is two's complement, 0: unsigned
    parameter integer IN_BIPOLAR  = 0,   // 1: input bit b is the code 2b-1 (IN_BITS == 1)
    parameter integer X_BITS      = 9,   // signed width of x, >= 2, >= IN_BITS (+1 unsigned)
    parameter integer IN_SHIFT    = 0,   // x << IN_SHIFT, or x >>> -IN_SHIFT when negative
    parameter integer MODEL       = 0,   // 0 LIF, 1 IF, 2 LI (no spikes), 3 CubaLIF
    parameter integer LEAK        = 0,   // 0 multiply, 1 shift, 2 none
    parameter integer NO_LEAK     = 0,   // 1: every decay is the identity (no multiplier)
    parameter integer RESET       = 0,   // 0 to RESET_VALUE, 1 subtract THRESHOLD, 2 none
    parameter integer DECAY_FRAC  = 8,   // D: fraction bits of a multiplying decay, >= 1
                                         // with LEAK 0 (unused otherwise)
    parameter integer DECAY_BITS  = 9,   // unsigned decay field bits, >= 1 (LEAK 0: >= D+1)
    parameter integer BIAS_BITS   = 8,   // signed bias field bits, >= 2
    parameter integer STATE_BITS  = 16,  // signed state (v, i) bits, >= 2
    parameter integer DRIVE_BITS  = 17,  // signed width holding every drive, >= 2
    parameter integer SUM_BITS    = 18,  // signed width holding every sum before sat, >= 2
    parameter integer PROD_BITS   = 26,  // signed leak product bits, >= STATE_BITS+DECAY_BITS+1
    parameter integer THR_BITS    = 16,  // signed threshold field bits, >= STATE_BITS (a
                                         // threshold may be STATE_LO-1: always spike)
    parameter integer OUT_BITS    = 1,   // output bits: 1 (spiking models), STATE_BITS (LI)
    parameter integer ROWS        = 1,   // constant rows: beats before they repeat, >= 1
    parameter integer SHARED      = 1,   // 1: one entry per constant for every lane (ROWS 1)
    parameter integer FRAME_BEATS = 1,   // beats per frame (time step), a multiple of ROWS
    parameter integer STEPS       = 1,   // frames per sample, >= 0 (0: one endless sample)
    parameter [STATE_BITS-1:0] STATE_LO = 0,  // saturation bounds, two's complement,
    parameter [STATE_BITS-1:0] STATE_HI = 0,  // STATE_LO <= 0 <= STATE_HI
    // (SHARED ? 1 : ROWS*PE) entries each, entry g*PE + lane at bit (g*PE + lane)*width
    parameter [(SHARED != 0 ? 1 : ROWS*PE)*DECAY_BITS-1:0] DECAY       = 0,  // unsigned
    parameter [(SHARED != 0 ? 1 : ROWS*PE)*DECAY_BITS-1:0] DECAY_SYN   = 0,  // unsigned
    parameter [(SHARED != 0 ? 1 : ROWS*PE)*BIAS_BITS-1:0]  BIAS        = 0,  // signed
    parameter [(SHARED != 0 ? 1 : ROWS*PE)*THR_BITS-1:0]   THRESHOLD   = 0,  // signed
    parameter [(SHARED != 0 ? 1 : ROWS*PE)*STATE_BITS-1:0] RESET_VALUE = 0   // signed
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
    localparam integer CUBA = MODEL == 3 ? 1 : 0;
    localparam integer SPIKING = MODEL != 2 ? 1 : 0;
    localparam integer IDENT = LEAK == 2 || NO_LEAK != 0 ? 1 : 0;  // leak(v) == v
    localparam integer DF = LEAK == 0 ? DECAY_FRAC : 0;
    // the arithmetic width: holds every drive, sum, state, input and bias
    localparam integer W0 = SUM_BITS > STATE_BITS ? SUM_BITS : STATE_BITS;
    localparam integer W1 = W0 > DRIVE_BITS ? W0 : DRIVE_BITS;
    localparam integer W2 = W1 > X_BITS ? W1 : X_BITS;
    localparam integer W = W2 > BIAS_BITS ? W2 : BIAS_BITS;
    localparam integer LSH = IN_SHIFT > 0 ? IN_SHIFT : 0;
    localparam integer RSH = IN_SHIFT < 0 ? -IN_SHIFT : 0;
    localparam integer LW = (CUBA + 1) * STATE_BITS;  // one lane's state: {i, v}
    localparam integer ROWP = SHARED != 0 ? 1 : PE;   // entries per constant row
    localparam integer RB = 2 * DECAY_BITS + BIAS_BITS + THR_BITS + STATE_BITS;  // one entry
    localparam integer O_DSYN = DECAY_BITS;           // field offsets in an entry
    localparam integer O_BIAS = 2 * DECAY_BITS;
    localparam integer O_THR = O_BIAS + BIAS_BITS;
    localparam integer O_RST = O_THR + THR_BITS;
    localparam integer GW = ROWS > 1 ? $clog2(ROWS) : 1;
    localparam integer FW = FRAME_BEATS > 1 ? $clog2(FRAME_BEATS) : 1;
    localparam integer SW = STEPS > 1 ? $clog2(STEPS) : 1;
    localparam [31:0] G_LAST32 = ROWS - 1;
    localparam [31:0] F_LAST32 = FRAME_BEATS - 1;
    localparam [31:0] S_LAST32 = STEPS > 0 ? STEPS - 1 : 0;
    localparam [GW-1:0] G_LAST = G_LAST32[GW-1:0];
    localparam [FW-1:0] F_LAST = F_LAST32[FW-1:0];
    localparam [SW-1:0] S_LAST = S_LAST32[SW-1:0];
    localparam signed [W-1:0] LO_W =
        {{(W-STATE_BITS+1){STATE_LO[STATE_BITS-1]}}, STATE_LO[STATE_BITS-2:0]};
    localparam signed [W-1:0] HI_W =
        {{(W-STATE_BITS+1){STATE_HI[STATE_BITS-1]}}, STATE_HI[STATE_BITS-2:0]};
    localparam [PROD_BITS-1:0] ROUND = LEAK == 0 && DF > 0 ?
        {{(PROD_BITS-1){1'b0}}, 1'b1} << (DF > 0 ? DF - 1 : 0) : {PROD_BITS{1'b0}};

    initial begin
        if (PE < 1) $error("lif %m: PE=%0d must be >= 1", PE);
        if (IN_BITS < 1) $error("lif %m: IN_BITS=%0d must be >= 1", IN_BITS);
        if (IN_BIPOLAR != 0 && IN_BITS != 1)
            $error("lif %m: a bipolar input has IN_BITS=1, not %0d", IN_BITS);
        if (X_BITS < 2 || (IN_BIPOLAR == 0 && X_BITS < IN_BITS + (IN_SIGNED != 0 ? 0 : 1)))
            $error("lif %m: X_BITS=%0d cannot hold the %0d-bit input", X_BITS, IN_BITS);
        if (MODEL < 0 || MODEL > 3) $error("lif %m: MODEL=%0d must be 0..3", MODEL);
        if (LEAK < 0 || LEAK > 2) $error("lif %m: LEAK=%0d must be 0..2", LEAK);
        if (RESET < 0 || RESET > 2) $error("lif %m: RESET=%0d must be 0..2", RESET);
        if (LEAK == 0 && (DECAY_FRAC < 1 || DECAY_BITS < DECAY_FRAC + 1))
            $error("lif %m: a multiplying leak needs DECAY_FRAC=%0d >= 1 and DECAY_BITS=%0d >= %0d",
                   DECAY_FRAC, DECAY_BITS, DECAY_FRAC + 1);
        if (DECAY_BITS < 1) $error("lif %m: DECAY_BITS=%0d must be >= 1", DECAY_BITS);
        if (BIAS_BITS < 2 || STATE_BITS < 2 || DRIVE_BITS < 2 || SUM_BITS < 2)
            $error("lif %m: BIAS_BITS=%0d, STATE_BITS=%0d, DRIVE_BITS=%0d, SUM_BITS=%0d must be >= 2",
                   BIAS_BITS, STATE_BITS, DRIVE_BITS, SUM_BITS);
        if (THR_BITS < STATE_BITS)
            $error("lif %m: THR_BITS=%0d must be >= STATE_BITS=%0d", THR_BITS, STATE_BITS);
        if (PROD_BITS < STATE_BITS + DECAY_BITS + 1)
            $error("lif %m: PROD_BITS=%0d must be >= STATE_BITS+DECAY_BITS+1=%0d", PROD_BITS,
                   STATE_BITS + DECAY_BITS + 1);
        if ($signed(STATE_LO) > 0 || $signed(STATE_HI) < 0)
            $error("lif %m: the state range [%0d, %0d] must hold 0", $signed(STATE_LO),
                   $signed(STATE_HI));
        if (OUT_BITS != (SPIKING != 0 ? 1 : STATE_BITS))
            $error("lif %m: OUT_BITS=%0d must be %0d", OUT_BITS, SPIKING != 0 ? 1 : STATE_BITS);
        if (ROWS < 1 || (SHARED != 0 && ROWS != 1))
            $error("lif %m: ROWS=%0d must be >= 1 (1 when SHARED)", ROWS);
        if (FRAME_BEATS < 1 || FRAME_BEATS % ROWS != 0)
            $error("lif %m: FRAME_BEATS=%0d must be a multiple of ROWS=%0d", FRAME_BEATS, ROWS);
        if (STEPS < 0) $error("lif %m: STEPS=%0d must be >= 0", STEPS);
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

    // -- position of the accepted beat: beat in the frame, constant row, step in the sample
    reg [FW-1:0] beat;
    reg [SW-1:0] step;
    reg          fresh;  // no frame finished since reset (STEPS 0)
    wire         frame_end = beat == F_LAST;
    always @(posedge aclk) begin
        if (!aresetn) begin
            beat  <= {FW{1'b0}};
            step  <= {SW{1'b0}};
            fresh <= 1'b1;
        end else if (take) begin
            beat <= frame_end ? {FW{1'b0}} : beat + 1'b1;
            if (frame_end) begin
                step  <= step == S_LAST ? {SW{1'b0}} : step + 1'b1;
                fresh <= 1'b0;
            end
        end
    end
    wire first = STEPS == 0 ? fresh : step == {SW{1'b0}};  // the state counts as zero

    reg first1, last1, last2, last3;
    always @(posedge aclk) begin
        if (take) begin
            first1 <= first;
            last1  <= frame_end;
        end
        if (e2) last2 <= last1;
        if (e3) last3 <= last2;
    end
    assign m_axis_tlast = last3;

    // -- the constants of the beat in stage 1: a row of ROWP entries {reset_value,
    //    threshold, bias, decay_syn, decay}
    function [ROWP*RB-1:0] row_word;
        input integer g;
        integer r, e;
        begin
            for (r = 0; r < ROWP; r = r + 1) begin
                e = g * ROWP + r;
                row_word[r*RB +: RB] = {RESET_VALUE[e*STATE_BITS +: STATE_BITS],
                                        THRESHOLD[e*THR_BITS +: THR_BITS],
                                        BIAS[e*BIAS_BITS +: BIAS_BITS],
                                        DECAY_SYN[e*DECAY_BITS +: DECAY_BITS],
                                        DECAY[e*DECAY_BITS +: DECAY_BITS]};
            end
        end
    endfunction

    // a model reads a subset of the fields (LI: no threshold, reset value; only CubaLIF
    // has a decay_syn; no leak: no decays), and yosys drops the others
    wire [ROWP*RB-1:0] row1;
    generate
        if (SHARED != 0) begin : g_shared
            assign row1 = row_word(0);
        end else begin : g_rom
            // the constant as a ROM initialized from the parameters: a registered read maps
            // to LUT ROM or block RAM (a multiplexer over the wide constant costs more)
            wire [GW-1:0] grp;  // the row of the accepted beat
            if (ROWS == FRAME_BEATS) begin : g_grp_beat  // per-neuron constants: row = beat
                assign grp = beat;
            end else begin : g_grp
                reg [GW-1:0] g_r;
                always @(posedge aclk) begin
                    if (!aresetn) g_r <= {GW{1'b0}};
                    else if (take) g_r <= g_r == G_LAST ? {GW{1'b0}} : g_r + 1'b1;
                end
                assign grp = g_r;
            end
            reg [ROWP*RB-1:0] rom [0:ROWS-1];
            reg [ROWP*RB-1:0] rd;
            integer h;
            initial begin
                for (h = 0; h < ROWS; h = h + 1) rom[h] = row_word(h);
            end
            always @(posedge aclk) if (take) rd <= rom[grp];
            assign row1 = rd;
        end
    endgenerate

    // -- the state of the beat in stage 1, and its update written back as it leaves
    wire [PE*LW-1:0] st1;  // as stored (the update zeroes it on step 0)
    wire [PE*LW-1:0] ns;   // the updated state
    generate
        if (FRAME_BEATS == 1) begin : g_reg
            reg [PE*LW-1:0] state;
            always @(posedge aclk) if (e2) state <= ns;
            assign st1 = state;
        end else begin : g_ram
            reg [PE*LW-1:0] mem [0:FRAME_BEATS-1];
            reg [PE*LW-1:0] rd;
            reg [FW-1:0]    addr1;
            always @(posedge aclk) begin
                if (take) begin
                    rd    <= mem[beat];
                    addr1 <= beat;
                end
                if (e2) mem[addr1] <= ns;
            end
            assign st1 = rd;
        end
    endgenerate

    // leak(v, d) at the state width: exact (|leak(v)| <= |v|)
    function signed [STATE_BITS-1:0] leak;
        input signed [STATE_BITS-1:0] v;
        input [DECAY_BITS-1:0] d;
        /* verilator lint_off UNUSEDSIGNAL */  // the rounded-off and the sign bits
        reg signed [PROD_BITS-1:0] p;
        /* verilator lint_on UNUSEDSIGNAL */
        begin
            p = v * $signed({1'b0, d}) + $signed(ROUND);
            if (IDENT != 0) leak = v;
            else if (LEAK == 1) leak = v - (v >>> d);
            else leak = p[DF +: STATE_BITS];
        end
    endfunction

    // a W-bit sum clamped to the state range
    function signed [STATE_BITS-1:0] sat;
        input signed [W-1:0] s;
        begin
            if (s < LO_W) sat = STATE_LO;
            else if (s > HI_W) sat = STATE_HI;
            else sat = s[STATE_BITS-1:0];
        end
    endfunction

    genvar l;
    generate
        for (l = 0; l < PE; l = l + 1) begin : g_lane
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

            reg [X_BITS-1:0] x1;  // stage 1: the input
            always @(posedge aclk) if (take) x1 <= xe;

            // stage 2: the update of lane l
            localparam integer E = SHARED != 0 ? 0 : l;
            /* verilator lint_off UNUSEDSIGNAL */  // the model's subset of the fields (row1)
            wire [RB-1:0] c = row1[E*RB +: RB];
            wire [DECAY_BITS-1:0] dec = c[0 +: DECAY_BITS];
            wire [DECAY_BITS-1:0] dsyn = c[O_DSYN +: DECAY_BITS];
            wire [BIAS_BITS-1:0]  bias = c[O_BIAS +: BIAS_BITS];
            wire [THR_BITS-1:0]   thr = c[O_THR +: THR_BITS];
            wire [STATE_BITS-1:0] rst = c[O_RST +: STATE_BITS];
            /* verilator lint_on UNUSEDSIGNAL */

            wire signed [W-1:0] xw = {{(W-X_BITS+1){x1[X_BITS-1]}}, x1[X_BITS-2:0]};
            wire signed [W-1:0] bw = {{(W-BIAS_BITS+1){bias[BIAS_BITS-1]}}, bias[BIAS_BITS-2:0]};
            wire signed [W-1:0] drive = ((xw <<< LSH) >>> RSH) + bw;

            wire [LW-1:0] s_old = first1 ? {LW{1'b0}} : st1[l*LW +: LW];
            wire signed [STATE_BITS-1:0] v_old = s_old[0 +: STATE_BITS];
            wire signed [STATE_BITS-1:0] v_leak = leak(v_old, dec);
            wire signed [W-1:0] feed;  // what v integrates: drive, or CubaLIF's new i
            if (CUBA != 0) begin : g_cuba
                wire signed [STATE_BITS-1:0] i_old = s_old[STATE_BITS +: STATE_BITS];
                wire signed [STATE_BITS-1:0] i_leak = leak(i_old, dsyn);
                wire signed [W-1:0] i_sum =
                    {{(W-STATE_BITS+1){i_leak[STATE_BITS-1]}}, i_leak[STATE_BITS-2:0]} + drive;
                wire signed [STATE_BITS-1:0] i_new = sat(i_sum);
                assign feed = {{(W-STATE_BITS+1){i_new[STATE_BITS-1]}}, i_new[STATE_BITS-2:0]};
                assign ns[l*LW + STATE_BITS +: STATE_BITS] = i_new;
            end else begin : g_cur
                assign feed = drive;
            end
            wire signed [W-1:0] v_sum =
                {{(W-STATE_BITS+1){v_leak[STATE_BITS-1]}}, v_leak[STATE_BITS-2:0]} + feed;
            wire signed [STATE_BITS-1:0] v_new = sat(v_sum);

            wire [OUT_BITS-1:0] out;
            if (SPIKING != 0) begin : g_spike
                wire signed [THR_BITS-1:0] v_thr =
                    {{(THR_BITS-STATE_BITS+1){v_new[STATE_BITS-1]}}, v_new[STATE_BITS-2:0]};
                wire spike = v_thr > $signed(thr);
                // a subtracted threshold is in [0, STATE_HI] (units/lif.py checks it)
                wire [STATE_BITS-1:0] v_after =
                    !spike || RESET == 2 ? v_new :
                    RESET == 0 ? rst : v_new - thr[STATE_BITS-1:0];
                assign ns[l*LW +: STATE_BITS] = v_after;
                assign out = spike;
            end else begin : g_li
                assign ns[l*LW +: STATE_BITS] = v_new;
                assign out = v_new;
            end

            reg [OUT_BITS-1:0] out2, out3;  // stages 2 and 3: the lane output
            always @(posedge aclk) begin
                if (e2) out2 <= out;
                if (e3) out3 <= out2;
            end
            assign m_axis_tdata[l*OUT_BITS +: OUT_BITS] = out3;
        end
    endgenerate
endmodule

`default_nettype wire
