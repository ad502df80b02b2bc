// dswg: deformable sliding-window generator, the sampler of a deformable convolution
// (ONNX DeformConv; DCNv1 without a mask, DCNv2 with one), exact in integers.  The
// arithmetic is units/dswg.py sample(): for output pixel (oh, ow), tap k = (i, j) and
// channel c of offset group g = c / (CHANNELS/OG), with x' = x - X_ZP (0 outside):
//
//   py = (oh*SH - PT + i*DH) * 2**FRAC + dy        dy = offset[g*2K + 2k]
//   px = (ow*SW - PL + j*DW) * 2**FRAC + dx        dx = offset[g*2K + 2k + 1]
//   y0 = py >> FRAC, fy = py mod 2**FRAC (same for x)
//   s  = sum of x'[y0+a, x0+b] * (a ? fy : 2**F - fy) * (b ? fx : 2**F - fx)
//   out[k*CHANNELS + c] = s * (mask[g*K + k] - MASK_ZP)     (s alone when HAS_MASK = 0)
//
// computed as two linear interpolations, t = x'00*2**F + (x'01 - x'00)*fx (and b for
// the lower row), s = t*2**F + (b - t)*fy: the same integers with 3 multiplies per
// lane.  Every width is the exact signed width of its value; intermediate terms are
// computed modulo 2**width (exact, since every result fits its width).
//
// Streams (no input tlast; frames counted):
//   s0: the input frame, one pixel (CHANNELS codes of IN_BITS) per beat, H*W beats
//   s1: the offsets, one output pixel's OG*2K signed (OFF_SIGNED) codes per beat
//   s2: the mask (HAS_MASK = 1), one output pixel's OG*K codes per beat
//   m : the window of each output pixel, value k*CHANNELS + c, SIMD values per beat,
//       OH*OW*K*CHANNELS/SIMD beats per frame, m_axis_tlast on the last
//
// Storage: the whole frame, raw codes, in 4 banks by (row parity, column parity): the
// four corners (y0 | y0+1, x0 | x0+1) of a sample always lie in 4 different banks, so
// one synchronous read per bank per cycle fetches them (block RAM, read-first).  Bank
// (a, b) holds pixel (y, x) with y%2 = a, x%2 = b at (y/2)*ceil((W-b)/2) + x/2.
//
// Schedule: receive the frame (H*W cycles; s1/s2 beats are taken meanwhile into their
// one-beat registers), then sample it: per output pixel one s1 (and s2) beat, per tap
// and per SIMD-channel chunk (inside one offset group) one issue.  One output beat per
// cycle while the consumer is ready, no bubble between pixels or frames: a frame takes
// H*W + OH*OW*K*CHANNELS/SIMD cycles (the input stalls while a frame is sampled).  The
// next frame's writes start right after the last issue (the read of an issue happens at
// the latest together with the first write, read-first).
//
// Line buffer (LINE = 1, bounded offsets: codes clamped to OFF_LO..OFF_HI when CLAMP):
// output row oh reads rows oh*SH + ROW_LO0 .. + ROW_SPAN - 1 only (clipped to the
// frame), so the banks hold a ring of BR rows: input row r of the n-th frame is slot
// (n*H + r) mod BR, the slots running on across frames; the bank is chosen by slot
// parity (BR even: rows y0, y0 + 1 are in consecutive slots of different parity) and
// column parity, at (slot/2)*ceil((W-b)/2) + x/2.  A sample's slot is computed from
// the output row's first slot, its tap row and the offset's whole rows (never outside
// the window).  The writer takes row r as soon as its slot is free: the row it
// overwrites (BR rows earlier, maybe of the previous frame) is above the first row the
// output row being issued needs, or that frame is done.  Output row oh is issued as soon
// as its last row min(H-1, oh*SH + ROW_LO0 + ROW_SPAN - 1) is in.  Receiving overlaps
// sampling, and a frame's first rows the previous frame's last output row as far as
// the ring holds both: a frame takes max(H*W, OH*OW*K*CHANNELS/SIMD + W*(rows output
// row 0 reads beyond those free slots)) cycles when an output row's issues outlast the
// writing of SH rows (units/dswg.py derive()'s cycles).  The input runs at most BR rows
// past the first row of the output row being sampled (derive()'s lead_beats bounds it).
//
// s0/s1/s2_axis_tready are combinational from m_axis_tready (through the enable).
//
// Pipeline (one global enable, en = !m_axis_tvalid || m_axis_tready):
//   0 issue: offsets/mask of (pixel, tap, group) selected from their registers, clamped
//   1 positions py, px (ring: the row's slot plus F fraction bits); mask value m - MASK_ZP
//   2 bank reads (addresses from 1), fractions, corner-inside flags
//   3 corner values x' of the SIMD lanes (chunk select, zero point, 0 outside)
//   4 horizontal interpolation   5 vertical interpolation   6 mask product = m_axis
`default_nettype none

module dswg #(
    parameter integer CHANNELS     = 1,  // channels per pixel, >= 1, a multiple of OG
    parameter integer SIMD         = 1,  // output values per beat, >= 1, divides CHANNELS/OG
    parameter integer OG           = 1,  // offset groups, >= 1
    parameter integer H            = 1,  // input rows, >= 1
    parameter integer W            = 1,  // input columns, >= 1
    parameter integer OH           = 1,  // output rows, >= 1
    parameter integer OW           = 1,  // output columns, >= 1
    parameter integer KH           = 1,  // kernel rows, >= 1
    parameter integer KW           = 1,  // kernel columns, >= 1
    parameter integer SH           = 1,  // row stride, >= 1
    parameter integer SW           = 1,  // column stride, >= 1
    parameter integer DH           = 1,  // row dilation, >= 1
    parameter integer DW           = 1,  // column dilation, >= 1
    parameter integer PT           = 0,  // padding rows above the input, >= 0
    parameter integer PL           = 0,  // padding columns left of the input, >= 0
    parameter integer IN_BITS      = 8,  // input element bits, >= 1 (1 when IN_BIPOLAR)
    parameter integer IN_SIGNED    = 1,  // 1: input codes are two's complement
    parameter integer IN_BIPOLAR   = 0,  // 1: input bit b is the code 2b-1
    parameter integer X_BITS       = 8,  // signed width of x - X_ZP over the input range, >= 2
    parameter [X_BITS-1:0] X_ZP    = 0,  // input zero point (modulo 2**X_BITS)
    parameter integer FRAC         = 0,  // F: fractional bits of the offsets, 0..16
    parameter integer OFF_BITS     = 8,  // offset code bits, >= 1
    parameter integer OFF_SIGNED   = 1,  // 1: offset codes are two's complement
    parameter integer CLAMP        = 0,  // 1: clamp offset codes to OFF_LO..OFF_HI (bounded offsets)
    parameter integer OFF_LO       = -128, // lowest offset code sampled (the clamp's bound, else
    parameter integer OFF_HI       = 127,  // the code range's lowest), the highest; LO <= HI
    parameter integer LINE         = 0,  // 1: a ring of BR rows (bounded offsets), 0: whole frame
    parameter integer BR           = 2,  // ring rows (LINE = 1): even, >= ROW_SPAN + SH, <= H
    parameter integer ROW_LO0      = 0,  // LINE = 1: output row oh reads rows oh*SH + ROW_LO0 ..
    parameter integer ROW_SPAN     = 2,  // .. + ROW_SPAN - 1 only (every offset in OFF_LO..OFF_HI)
    parameter integer POS_BITS     = 12, // signed width of every py, px and (clamped) offset, > FRAC+1
    parameter integer HAS_MASK     = 0,  // 1: s2 carries the mask (DCNv2)
    parameter integer MASK_IN_BITS = 1,  // mask code bits, >= 1
    parameter integer MASK_SIGNED  = 0,  // 1: mask codes are two's complement
    parameter integer MASK_BITS    = 2,  // signed width of m - MASK_ZP, >= 2
    parameter [MASK_BITS-1:0] MASK_ZP = 0,  // mask zero point (modulo 2**MASK_BITS)
    parameter integer OUT_BITS     = 8   // output element bits, >= 1 (holds every value)
) (
    input  wire                                          aclk,
    input  wire                                          aresetn,
    input  wire [CHANNELS*IN_BITS-1:0]                   s0_axis_tdata,
    input  wire                                          s0_axis_tvalid,
    output wire                                          s0_axis_tready,
    input  wire [OG*2*KH*KW*OFF_BITS-1:0]                s1_axis_tdata,
    input  wire                                          s1_axis_tvalid,
    output wire                                          s1_axis_tready,
    input  wire [(HAS_MASK != 0 ? OG*KH*KW*MASK_IN_BITS : 1)-1:0] s2_axis_tdata,
    input  wire                                          s2_axis_tvalid,
    output wire                                          s2_axis_tready,
    output wire [SIMD*OUT_BITS-1:0]                      m_axis_tdata,
    output wire                                          m_axis_tvalid,
    input  wire                                          m_axis_tready,
    output wire                                          m_axis_tlast
);
    function integer clog2;  // ceil(log2(v)), at least 1
        input integer v;
        integer r;
        begin
            r = 1;
            while ((1 << r) < v) r = r + 1;
            clog2 = r;
        end
    endfunction

    function integer imax;
        input integer a;
        input integer b;
        begin
            imax = a > b ? a : b;
        end
    endfunction

    localparam integer K    = KH * KW;
    localparam integer CG   = CHANNELS / OG;       // channels per offset group
    localparam integer CF   = CHANNELS / SIMD;     // chunks (issues) per tap
    localparam integer QN   = CG / SIMD;           // chunks per offset group
    localparam integer NP   = OG * K;              // (group, tap) pairs per output pixel
    localparam integer PIX  = CHANNELS * IN_BITS;  // a stored pixel
    localparam integer CHW  = SIMD * IN_BITS;      // a chunk of a pixel
    localparam integer OFFW = NP * 2 * OFF_BITS;
    localparam integer MW   = HAS_MASK != 0 ? NP * MASK_IN_BITS : 1;
    localparam integer P    = POS_BITS;
    localparam integer YW   = P - FRAC;            // signed width of y0, x0
    localparam integer FW   = FRAC > 0 ? FRAC : 1; // fraction registers (0 when FRAC = 0)
    localparam integer T1   = X_BITS + FRAC;       // one row's interpolation
    localparam integer T2   = X_BITS + 2 * FRAC;   // the bilinear sum
    // bank geometry: rows (whole frame) or ring slots (LINE) of parity a, columns of
    // parity b, words per bank
    localparam integer HR0 = LINE != 0 ? BR / 2 : (H + 1) / 2;
    localparam integer HR1 = LINE != 0 ? BR / 2 : H / 2;
    localparam integer WC0 = (W + 1) / 2, WC1 = W / 2;
    localparam integer AW  = clog2(HR0 * WC0);
    // ring (LINE): slot arithmetic on values < 2*BR; RB = rows a tap may reach above its
    // base row (the window starts RB rows above output row oh's first tap row)
    localparam integer SLW = LINE != 0 ? clog2(2 * BR + 1) : 1;
    localparam integer RB  = -PT - ROW_LO0;
    // coordinate compare/address width: y0, x0, H, W, ring slots and bank addresses fit, signed
    localparam integer CW  = imax(imax(imax(YW, AW + 1), clog2(imax(H, W) + 2) + 1), SLW) + 1;

    initial begin
        if (CHANNELS < 1 || OG < 1 || CHANNELS % OG != 0)
            $error("dswg %m: OG=%0d must be >= 1 and divide CHANNELS=%0d", OG, CHANNELS);
        if (SIMD < 1 || (CHANNELS / (OG > 0 ? OG : 1)) % SIMD != 0)
            $error("dswg %m: SIMD=%0d must divide the %0d channels of an offset group",
                   SIMD, CHANNELS / (OG > 0 ? OG : 1));
        if (H < 1 || W < 1 || OH < 1 || OW < 1)
            $error("dswg %m: H=%0d W=%0d OH=%0d OW=%0d must be >= 1", H, W, OH, OW);
        if (KH < 1 || KW < 1 || SH < 1 || SW < 1 || DH < 1 || DW < 1)
            $error("dswg %m: kernel %0dx%0d, strides %0d,%0d, dilations %0d,%0d must be >= 1",
                   KH, KW, SH, SW, DH, DW);
        if (PT < 0 || PL < 0) $error("dswg %m: PT=%0d PL=%0d must be >= 0", PT, PL);
        if (IN_BITS < 1 || (IN_BIPOLAR != 0 && IN_BITS != 1))
            $error("dswg %m: IN_BITS=%0d must be >= 1 (1 when bipolar)", IN_BITS);
        if (X_BITS < 2) $error("dswg %m: X_BITS=%0d must be >= 2", X_BITS);
        if (FRAC < 0 || FRAC > 16) $error("dswg %m: FRAC=%0d must be in 0..16", FRAC);
        if (OFF_BITS < 1 || P < FRAC + 2 || YW > 30)
            $error("dswg %m: OFF_BITS=%0d must be >= 1, POS_BITS=%0d > FRAC+1=%0d (and <= FRAC+30)",
                   OFF_BITS, P, FRAC + 1);
        if (P < 32 && (OFF_LO < -(1 << (P - 1)) || OFF_HI >= (1 << (P - 1))))
            $error("dswg %m: offsets %0d..%0d do not fit POS_BITS=%0d", OFF_LO, OFF_HI, P);
        if (HAS_MASK != 0 && (MASK_IN_BITS < 1 || MASK_BITS < 2))
            $error("dswg %m: MASK_IN_BITS=%0d must be >= 1, MASK_BITS=%0d >= 2",
                   MASK_IN_BITS, MASK_BITS);
        if (OUT_BITS < 1) $error("dswg %m: OUT_BITS=%0d must be >= 1", OUT_BITS);
        if (OFF_LO > OFF_HI) $error("dswg %m: OFF_LO=%0d > OFF_HI=%0d", OFF_LO, OFF_HI);
        if (LINE != 0 && (BR < 2 || BR % 2 != 0 || BR > H || BR < ROW_SPAN + SH))
            $error("dswg %m: BR=%0d ring rows must be even, >= ROW_SPAN+SH=%0d and <= H=%0d",
                   BR, ROW_SPAN + SH, H);
        // every row a sample reads, y0 and y0 + 1, lies in the output row's window
        if (LINE != 0 && (RB < 0 || OFF_LO < -(RB << FRAC) || ROW_SPAN < 2
                          || (KH - 1) * DH + RB + (OFF_HI >>> FRAC) + 2 > ROW_SPAN))
            $error("dswg %m: rows %0d..+%0d do not hold offsets %0d..%0d (F=%0d) of a %0d-row tap span",
                   ROW_LO0, ROW_SPAN, OFF_LO, OFF_HI, FRAC, (KH - 1) * DH + 1);
    end

    // ---- constants at the widths they are used at ---------------------------------------
    localparam integer I_NPT = -PT, I_NPL = -PL, I_M1 = -1, I_H1 = H - 1, I_W1 = W - 1;
    localparam integer I_ONE = 1, I_K = K, I_WC0 = WC0, I_WC1 = WC1;
    localparam signed [P-1:0]  P_NPT = I_NPT[P-1:0];
    localparam signed [P-1:0]  P_NPL = I_NPL[P-1:0];
    localparam signed [P-1:0]  P_SH  = SH[P-1:0];
    localparam signed [P-1:0]  P_SW  = SW[P-1:0];
    localparam signed [P-1:0]  P_DH  = DH[P-1:0];
    localparam signed [P-1:0]  P_DW  = DW[P-1:0];
    localparam signed [CW-1:0] C_ZERO = 0;
    localparam signed [CW-1:0] C_M1  = I_M1[CW-1:0];
    localparam signed [CW-1:0] C_H   = H[CW-1:0];
    localparam signed [CW-1:0] C_W   = W[CW-1:0];
    localparam signed [CW-1:0] C_H1  = I_H1[CW-1:0];
    localparam signed [CW-1:0] C_W1  = I_W1[CW-1:0];
    localparam [CW-1:0]        C_WC0 = I_WC0[CW-1:0];
    localparam [CW-1:0]        C_WC1 = I_WC1[CW-1:0];

    // ---- flow control -------------------------------------------------------------------
    reg  v1, v2, v3, v4, v5, v6;
    wire en = !v6 || m_axis_tready;  // the whole pipeline moves together

    // ---- receive: the frame (or the ring's rows) into the 4 banks --------------------------
    localparam integer YCW = clog2(H), XCW = clog2(W);
    localparam integer I_HL = H - 1, I_WL = W - 1;
    localparam [YCW-1:0] Y_LAST = I_HL[YCW-1:0];
    localparam [XCW-1:0] X_LAST = I_WL[XCW-1:0];
    wire           can_take;   // the pixel's row may be written (whole frame: receiving)
    wire           can_issue;  // the sampler may issue (whole frame: the frame is in)
    reg [YCW-1:0]  wy;         // the row being written, in its frame
    reg [XCW-1:0]  wx;
    reg            wyp, wxp;   // parities of the pixel's row (ring: slot) and column
    // writes may go on while the last issues before them are still before their read
    // (stage 1) only when that read happens in the same cycle (read-first)
    assign s0_axis_tready = can_take && (!v1 || en);
    wire take0 = s0_axis_tvalid && s0_axis_tready;
    wire load_end = take0 && (wy == Y_LAST) && (wx == X_LAST);

    always @(posedge aclk) begin
        if (!aresetn) begin
            wy <= {YCW{1'b0}};
            wx <= {XCW{1'b0}};
            wyp <= 1'b0;
            wxp <= 1'b0;
        end else if (take0) begin
            if (wx == X_LAST) begin
                wx <= {XCW{1'b0}};
                wxp <= 1'b0;
                wy <= (wy == Y_LAST) ? {YCW{1'b0}} : wy + 1'b1;
                // a frame restarts at bank row 0; the ring's slots run on across frames
                wyp <= (wy == Y_LAST && LINE == 0) ? 1'b0 : !wyp;
            end else begin
                wx <= wx + 1'b1;
                wxp <= !wxp;
            end
        end
    end

    // ---- sample: loops over oh, ow, ki, kj, chunk (group-major) ---------------------------
    localparam integer OHW = clog2(OH), OWW = clog2(OW), KHW = clog2(KH), KWW = clog2(KW);
    localparam integer CFW = clog2(CF), QNW = clog2(QN), NPW = clog2(NP);
    localparam integer I_OHL = OH - 1, I_OWL = OW - 1, I_KHL = KH - 1, I_KWL = KW - 1;
    localparam integer I_CFL = CF - 1, I_QNL = QN - 1;
    localparam [OHW-1:0] OH_LAST = I_OHL[OHW-1:0];
    localparam [OWW-1:0] OW_LAST = I_OWL[OWW-1:0];
    localparam [KHW-1:0] KH_LAST = I_KHL[KHW-1:0];
    localparam [KWW-1:0] KW_LAST = I_KWL[KWW-1:0];
    localparam [CFW-1:0] CF_LAST = I_CFL[CFW-1:0];
    localparam [QNW-1:0] QN_LAST = I_QNL[QNW-1:0];
    localparam [NPW-1:0] NP_K    = I_K[NPW-1:0];
    localparam [NPW-1:0] NP_ONE  = I_ONE[NPW-1:0];
    reg [OHW-1:0] oh;
    reg [OWW-1:0] ow;
    reg [KHW-1:0] ki;
    reg [KWW-1:0] kj;
    reg [CFW-1:0] ch;    // chunk of the tap: channels ch*SIMD ...
    reg [QNW-1:0] q;     // chunk within the offset group
    reg [NPW-1:0] pk;    // the tap k = ki*KW + kj
    reg [NPW-1:0] pidx;  // the (group, tap) pair g*K + k
    reg signed [P-1:0] by0, bx0;  // oh*SH - PT, ow*SW - PL
    reg signed [P-1:0] by, bx;    // the tap's base coordinate

    reg [OFFW-1:0] off_q;   // the current output pixel's offsets
    reg            off_v;
    wire           have_mask;
    wire e_q  = (q == QN_LAST);
    wire e_ch = (ch == CF_LAST);
    wire e_kj = (kj == KW_LAST);
    wire e_ki = (ki == KH_LAST);
    wire e_ow = (ow == OW_LAST);
    wire e_oh = (oh == OH_LAST);
    wire pix_end = e_ch && e_kj && e_ki;
    wire frame_end = pix_end && e_ow && e_oh;
    wire issue = en && can_issue && off_v && have_mask;
    wire next_pix = issue && pix_end;
    assign s1_axis_tready = !off_v || next_pix;

    always @(posedge aclk) begin
        if (!aresetn) off_v <= 1'b0;
        else if (s1_axis_tready) off_v <= s1_axis_tvalid;
    end
    always @(posedge aclk) begin
        if (s1_axis_tready && s1_axis_tvalid) off_q <= s1_axis_tdata;
    end

    always @(posedge aclk) begin
        if (!aresetn) begin
            oh <= {OHW{1'b0}};
            ow <= {OWW{1'b0}};
            ki <= {KHW{1'b0}};
            kj <= {KWW{1'b0}};
            ch <= {CFW{1'b0}};
            q <= {QNW{1'b0}};
            pk <= {NPW{1'b0}};
            pidx <= {NPW{1'b0}};
            by0 <= P_NPT;
            bx0 <= P_NPL;
            by <= P_NPT;
            bx <= P_NPL;
        end else if (issue) begin
            q <= e_q ? {QNW{1'b0}} : q + 1'b1;
            if (!e_ch) begin
                ch <= ch + 1'b1;
                if (e_q) pidx <= pidx + NP_K;  // next offset group
            end else begin
                ch <= {CFW{1'b0}};
                if (!e_kj || !e_ki) begin  // next tap
                    pk <= pk + NP_ONE;
                    pidx <= pk + NP_ONE;
                end else begin
                    pk <= {NPW{1'b0}};
                    pidx <= {NPW{1'b0}};
                end
                if (!e_kj) begin
                    kj <= kj + 1'b1;
                    bx <= bx + P_DW;
                end else begin
                    kj <= {KWW{1'b0}};
                    if (!e_ki) begin
                        ki <= ki + 1'b1;
                        by <= by + P_DH;
                        bx <= bx0;
                    end else begin  // next output pixel
                        ki <= {KHW{1'b0}};
                        if (!e_ow) begin
                            ow <= ow + 1'b1;
                            bx0 <= bx0 + P_SW;
                            bx <= bx0 + P_SW;
                            by <= by0;
                        end else begin
                            ow <= {OWW{1'b0}};
                            bx0 <= P_NPL;
                            bx <= P_NPL;
                            if (!e_oh) begin
                                oh <= oh + 1'b1;
                                by0 <= by0 + P_SH;
                                by <= by0 + P_SH;
                            end else begin
                                oh <= {OHW{1'b0}};
                                by0 <= P_NPT;
                                by <= P_NPT;
                            end
                        end
                    end
                end
            end
        end
    end

    // ---- when to write, when to sample --------------------------------------------------
    wire [SLW-1:0] tap_slot;  // ring: slot of the tap's base row + RB (< 2*BR, unreduced)
    generate
        if (LINE != 0) begin : g_ring
            // Input row r of the n-th frame is ring slot (n*H + r) mod BR (the slots run on
            // across frames).  Output row oh reads rows oh*SH + ROW_LO0 .. + ROW_SPAN - 1.
            // Between the writer's frame and the sampler's: ahead (writer one frame on) or
            // behind (sampler one frame on, waiting); never more (below).
            localparam integer LW = clog2(2 * H + 2 * BR + ROW_SPAN + SH
                                          + (ROW_LO0 < 0 ? -ROW_LO0 : ROW_LO0) + 4) + 2;
            localparam integer I_LO0 = ROW_LO0, I_SPAN1 = ROW_SPAN - 1;
            localparam integer I_HI0 = ROW_LO0 + ROW_SPAN - 1;
            localparam integer I_HI0C = I_HI0 < 0 ? 0 : (I_HI0 > H - 1 ? H - 1 : I_HI0);
            localparam integer I_WL0 = (ROW_LO0 < 0 ? 0 : ROW_LO0) + BR;
            localparam integer I_WL1 = I_WL0 - H;
            localparam integer I_BR = BR, I_BRH = BR - H, I_RB = RB, I_SHS = SH, I_DHS = DH;
            localparam integer I_LO0M = ((ROW_LO0 % BR) + BR) % BR;  // slot of row ROW_LO0
            localparam integer I_HM = H % BR;                        // slots a frame moves on
            localparam signed [LW-1:0] L_LO0 = I_LO0[LW-1:0];
            localparam signed [LW-1:0] L_SPAN1 = I_SPAN1[LW-1:0];
            localparam signed [LW-1:0] L_HI0 = I_HI0C[LW-1:0];
            localparam signed [LW-1:0] L_WL0 = I_WL0[LW-1:0];
            localparam signed [LW-1:0] L_WL1 = I_WL1[LW-1:0];
            localparam signed [LW-1:0] L_SH = I_SHS[LW-1:0];
            localparam signed [LW-1:0] L_BR = I_BR[LW-1:0];
            localparam signed [LW-1:0] L_BRH = I_BRH[LW-1:0];
            localparam signed [LW-1:0] L_ZERO = 0;
            localparam signed [LW-1:0] L_H1 = I_H1[LW-1:0];
            localparam [SLW-1:0] S_BR = I_BR[SLW-1:0];
            localparam [SLW-1:0] S_RB = I_RB[SLW-1:0];
            localparam [SLW-1:0] S_SH = I_SHS[SLW-1:0];
            localparam [SLW-1:0] S_DH = I_DHS[SLW-1:0];
            localparam [SLW-1:0] S_LO0 = I_LO0M[SLW-1:0];
            localparam [SLW-1:0] S_HM = I_HM[SLW-1:0];

            reg signed [LW-1:0] rlo;    // oh*SH + ROW_LO0: the output row's first row
            reg signed [LW-1:0] rhi;    // its last row, clipped to 0..H-1
            reg signed [LW-1:0] wlim;   // rows < wlim (of the sampler's frame) are free to
            reg signed [LW-1:0] wlim1;  // write; of the next frame rows < wlim1 = wlim - H
            reg ahead, behind;
            reg [SLW-1:0] sl_f;  // slot of row ROW_LO0 of the sampler's frame
            reg [SLW-1:0] sl;    // slot of row rlo
            reg [SLW-1:0] ts;    // tap_slot

            wire row_next = issue && pix_end && e_ow;  // the last issue of an output row
            wire signed [LW-1:0] rlo_n = e_oh ? L_LO0 : rlo + L_SH;
            wire signed [LW-1:0] rhi_n = rlo_n + L_SPAN1;
            wire signed [LW-1:0] lo_n = rlo_n < L_ZERO ? L_ZERO : rlo_n;
            always @(posedge aclk) begin
                if (!aresetn) begin
                    rlo <= L_LO0;
                    rhi <= L_HI0;
                    wlim <= L_WL0;
                    wlim1 <= L_WL1;
                end else if (row_next) begin
                    rlo <= rlo_n;
                    rhi <= rhi_n < L_ZERO ? L_ZERO : (rhi_n > L_H1 ? L_H1 : rhi_n);
                    wlim <= lo_n + L_BR;
                    wlim1 <= lo_n + L_BRH;
                end
            end

            // the writer ends frames at most one ahead (it stops BR rows past a row the
            // sampler needs, BR <= H) and the sampler cannot end a frame it has no rows of
            wire w_end = load_end;
            wire s_end = issue && frame_end;
            always @(posedge aclk) begin
                if (!aresetn) begin
                    ahead <= 1'b0;
                    behind <= 1'b0;
                end else if (w_end && !s_end) begin
                    if (behind) behind <= 1'b0;
                    else ahead <= 1'b1;
                end else if (s_end && !w_end) begin
                    if (ahead) ahead <= 1'b0;
                    else behind <= 1'b1;
                end
            end
            wire signed [LW-1:0] wyl = {{(LW - YCW){1'b0}}, wy};
            // row wy's slot is free once the row it overwrites (BR rows before) is above
            // the first row the output row being sampled needs; an output row is sampled
            // once its last row is in
            assign can_take = behind || (ahead ? wyl < wlim1 : wyl < wlim);
            assign can_issue = ahead || (!behind && wyl > rhi);

            // slots: per output row sl += SH, per frame H (mod BR); per tap row ts += DH
            wire [SLW-1:0] sl_i = sl + S_SH;
            wire [SLW-1:0] sl_n = sl_i >= S_BR ? sl_i - S_BR : sl_i;
            wire [SLW-1:0] slf_i = sl_f + S_HM;
            wire [SLW-1:0] slf_n = slf_i >= S_BR ? slf_i - S_BR : slf_i;
            always @(posedge aclk) begin
                if (!aresetn) begin
                    sl_f <= S_LO0;
                    sl <= S_LO0;
                    ts <= S_LO0 + S_RB;
                end else if (issue && e_ch && e_kj) begin
                    if (!e_ki) ts <= ts + S_DH;
                    else if (!e_ow) ts <= sl + S_RB;
                    else if (!e_oh) begin
                        sl <= sl_n;
                        ts <= sl_n + S_RB;
                    end else begin
                        sl_f <= slf_n;
                        sl <= slf_n;
                        ts <= slf_n + S_RB;
                    end
                end
            end
            assign tap_slot = ts;
        end else begin : g_whole
            // receive the whole frame, then sample it
            reg loading;
            always @(posedge aclk) begin
                if (!aresetn) loading <= 1'b1;
                else if (load_end) loading <= 1'b0;
                else if (issue && frame_end) loading <= 1'b1;
            end
            assign can_take = loading;
            assign can_issue = !loading;
            assign tap_slot = {SLW{1'b0}};
        end
    endgenerate

    // ---- stage 0: the pair's offsets and mask --------------------------------------------
    reg [OFF_BITS-1:0] dy_c, dx_c;
    integer i;
    always @* begin
        dy_c = {OFF_BITS{1'b0}};
        dx_c = {OFF_BITS{1'b0}};
        for (i = 0; i < NP; i = i + 1) begin
            if (pidx == i[NPW-1:0]) begin
                dy_c = off_q[(2 * i) * OFF_BITS +: OFF_BITS];
                dx_c = off_q[(2 * i + 1) * OFF_BITS +: OFF_BITS];
            end
        end
    end
    // the offsets extended to EW bits, clamped (bounded offsets: to OFF_LO..OFF_HI, as
    // units/dswg.py sample()), then P bits (every offset the sampler sees fits them)
    localparam integer EW = imax(P, OFF_BITS) + 1;
    wire [EW-1:0] dy_e, dx_e;
    generate
        if (OFF_SIGNED != 0 && OFF_BITS == 1) begin : g_off1
            assign dy_e = {EW{dy_c[0]}};
            assign dx_e = {EW{dx_c[0]}};
        end else if (OFF_SIGNED != 0) begin : g_offs
            assign dy_e = {{(EW - OFF_BITS + 1){dy_c[OFF_BITS-1]}}, dy_c[OFF_BITS-2:0]};
            assign dx_e = {{(EW - OFF_BITS + 1){dx_c[OFF_BITS-1]}}, dx_c[OFF_BITS-2:0]};
        end else begin : g_offu
            assign dy_e = {{(EW - OFF_BITS){1'b0}}, dy_c};
            assign dx_e = {{(EW - OFF_BITS){1'b0}}, dx_c};
        end
    endgenerate
    /* verilator lint_off UNUSEDSIGNAL */  // bits above P: the value fits P bits
    wire [EW-1:0] dy_l, dx_l;
    /* verilator lint_on UNUSEDSIGNAL */
    generate
        if (CLAMP != 0) begin : g_clamp
            localparam integer I_OLO = OFF_LO, I_OHI = OFF_HI;
            localparam signed [EW-1:0] E_OLO = I_OLO[EW-1:0];
            localparam signed [EW-1:0] E_OHI = I_OHI[EW-1:0];
            wire signed [EW-1:0] dys = dy_e;
            wire signed [EW-1:0] dxs = dx_e;
            assign dy_l = dys < E_OLO ? E_OLO : (dys > E_OHI ? E_OHI : dys);
            assign dx_l = dxs < E_OLO ? E_OLO : (dxs > E_OHI ? E_OHI : dxs);
        end else begin : g_noclamp
            assign dy_l = dy_e;
            assign dx_l = dx_e;
        end
    endgenerate
    wire [P-1:0] dy_k = dy_l[P-1:0];
    wire [P-1:0] dx_k = dx_l[P-1:0];

    // the mask: m - MASK_ZP at MASK_BITS (1 without a mask)
    wire [MASK_BITS-1:0] m_c;
    generate
        if (HAS_MASK != 0) begin : g_mask
            reg [MW-1:0] mask_q;
            reg          mask_v;
            reg [MASK_IN_BITS-1:0] mc;
            wire [MASK_BITS-1:0] me;
            assign have_mask = mask_v;
            assign s2_axis_tready = !mask_v || next_pix;
            always @(posedge aclk) begin
                if (!aresetn) mask_v <= 1'b0;
                else if (s2_axis_tready) mask_v <= s2_axis_tvalid;
            end
            always @(posedge aclk) begin
                if (s2_axis_tready && s2_axis_tvalid) mask_q <= s2_axis_tdata;
            end
            integer j;
            always @* begin
                mc = {MASK_IN_BITS{1'b0}};
                for (j = 0; j < NP; j = j + 1) begin
                    if (pidx == j[NPW-1:0]) mc = mask_q[j * MASK_IN_BITS +: MASK_IN_BITS];
                end
            end
            if (MASK_BITS > MASK_IN_BITS) begin : g_ext
                if (MASK_SIGNED != 0 && MASK_IN_BITS == 1) begin : g_s1
                    assign me = {MASK_BITS{mc[0]}};
                end else if (MASK_SIGNED != 0) begin : g_s
                    assign me = {{(MASK_BITS - MASK_IN_BITS + 1){mc[MASK_IN_BITS-1]}},
                                 mc[MASK_IN_BITS-2:0]};
                end else begin : g_u
                    assign me = {{(MASK_BITS - MASK_IN_BITS){1'b0}}, mc};
                end
            end else begin : g_trunc
                /* verilator lint_off UNUSEDSIGNAL */  // bits above MASK_BITS: modulo arithmetic
                wire [MASK_IN_BITS-1:0] mc_all = mc;
                /* verilator lint_on UNUSEDSIGNAL */
                assign me = mc_all[MASK_BITS-1:0];
            end
            assign m_c = me - MASK_ZP;
        end else begin : g_nomask
            assign have_mask = 1'b1;
            assign s2_axis_tready = 1'b0;
            assign m_c = {{(MASK_BITS - 1){1'b0}}, 1'b1};
            wire unused_mask = &{1'b0, s2_axis_tdata, s2_axis_tvalid};
        end
    endgenerate

    // ---- stage 1: positions ---------------------------------------------------------------
    reg [P-1:0]         py1, px1;
    reg [MASK_BITS-1:0] m1, m2, m3, m4, m5;
    reg [CFW-1:0]       ch1, ch2;
    reg                 last1, last2, last3, last4, last5, last6;
    always @(posedge aclk) begin
        if (en) begin
            py1 <= (by << FRAC) + dy_k;
            px1 <= (bx << FRAC) + dx_k;
            m1 <= m_c;
            ch1 <= ch;
            last1 <= frame_end;
        end
    end

    // ---- stage 2: bank reads ----------------------------------------------------------------
    wire [YW-1:0] y0 = py1[P-1:FRAC];
    wire [YW-1:0] x0 = px1[P-1:FRAC];
    wire [FW-1:0] fy_c, fx_c;
    generate
        if (FRAC > 0) begin : g_frac
            assign fy_c = py1[FW-1:0];
            assign fx_c = px1[FW-1:0];
        end else begin : g_nofrac
            assign fy_c = 1'b0;
            assign fx_c = 1'b0;
        end
    endgenerate
    wire signed [CW-1:0] y0c = {{(CW - YW){y0[YW-1]}}, y0};
    wire signed [CW-1:0] x0c = {{(CW - YW){x0[YW-1]}}, x0};
    // bank row of parity 0 holds y0 (even) or y0 + 1 (odd y0); parity 1 the other one
    // (ring: slot parity and slot / 2, row y0 + 1 in the slot after y0's)
    wire [CW-1:0] ry0, ry1;
    wire          yp;  // bank parity of row y0
    generate
        if (LINE != 0) begin : g_ring_rd
            // the tap's slot base plus the offset's whole rows: slot of y0 plus BR or not
            localparam integer PSW = SLW + FRAC + 1;
            localparam integer I_BR1 = BR - 1, I_BR = BR;
            localparam [SLW-1:0] S_BR1 = I_BR1[SLW-1:0];
            localparam [SLW-1:0] S_BR = I_BR[SLW-1:0];
            localparam [SLW-1:0] S_ONE = 1;
            /* verilator lint_off UNUSEDSIGNAL */  // modulo 2**PSW: its low bits, the sum's
            wire [P+PSW-1:0] dy_x = {{PSW{dy_k[P-1]}}, dy_k};
            wire [PSW-1:0] ps0 = ({{(PSW - SLW){1'b0}}, tap_slot} << FRAC) + dy_x[PSW-1:0];
            reg  [PSW-1:0] ps1;  // >= 0, < 2*BR * 2**FRAC
            /* verilator lint_on UNUSEDSIGNAL */
            always @(posedge aclk) begin
                if (en) ps1 <= ps0;
            end
            wire [SLW-1:0] sr = ps1[FRAC +: SLW];
            wire [SLW-1:0] s0 = sr >= S_BR ? sr - S_BR : sr;
            wire [SLW-1:0] sh = s0 >> 1;
            wire [SLW-1:0] sh0 = !s0[0] ? sh : (s0 == S_BR1 ? {SLW{1'b0}} : sh + S_ONE);
            assign ry0 = {{(CW - SLW){1'b0}}, sh0};
            assign ry1 = {{(CW - SLW){1'b0}}, sh};
            assign yp = s0[0];
        end else begin : g_frame_rd
            wire signed [CW-1:0] yh = y0c >>> 1;
            assign ry0 = yh + {{(CW - 1){1'b0}}, y0[0]};
            assign ry1 = yh;
            assign yp = y0[0];
            wire unused_slot = &{1'b0, tap_slot};
        end
    endgenerate
    wire signed [CW-1:0] xh = x0c >>> 1;
    wire [CW-1:0] cx0 = xh + {{(CW - 1){1'b0}}, x0[0]};
    wire [CW-1:0] cx1 = xh;
    wire in_y0 = (y0c >= C_ZERO) && (y0c < C_H);   // rows y0, y0 + 1 inside
    wire in_y1 = (y0c >= C_M1) && (y0c < C_H1);
    wire in_x0 = (x0c >= C_ZERO) && (x0c < C_W);
    wire in_x1 = (x0c >= C_M1) && (x0c < C_W1);
    reg [FW-1:0] fy2, fx2, fy3, fx3, fy4;
    reg          yp2, xp2;
    reg [3:0]    in2;  // corner (a, b) = (row y0 + a, column x0 + b) at bit 2a + b
    always @(posedge aclk) begin
        if (en) begin
            fy2 <= fy_c;
            fx2 <= fx_c;
            yp2 <= yp;
            xp2 <= x0[0];
            in2 <= {in_y1 && in_x1, in_y1 && in_x0, in_y0 && in_x1, in_y0 && in_x0};
            m2 <= m1;
            ch2 <= ch1;
            last2 <= last1;
        end
    end

    wire [4*PIX-1:0] qv;  // bank (a, b) at word 2a + b
    genvar bk;
    generate
        for (bk = 0; bk < 4; bk = bk + 1) begin : g_bank
            localparam integer BA = bk / 2, BB = bk % 2;
            localparam integer ROWS = BA != 0 ? HR1 : HR0;
            localparam integer COLS = BB != 0 ? WC1 : WC0;
            localparam integer DEPTH = ROWS * COLS > 0 ? ROWS * COLS : 1;
            localparam integer I_DL = DEPTH - 1;
            localparam integer BAW = clog2(DEPTH);  // <= AW < CW
            localparam [BAW-1:0] A_LAST = I_DL[BAW-1:0];
            reg [PIX-1:0] mem [0:DEPTH-1];
            reg [PIX-1:0] q_r;
            reg [BAW-1:0] wptr;
            wire we = take0 && (wyp == (BA != 0)) && (wxp == (BB != 0));
            /* verilator lint_off UNUSEDSIGNAL */  // the address is its low AW bits
            wire [CW-1:0] afull = (BA != 0 ? ry1 : ry0) * (BB != 0 ? C_WC1 : C_WC0)
                                  + (BB != 0 ? cx1 : cx0);
            /* verilator lint_on UNUSEDSIGNAL */
            wire [BAW-1:0] raddr = afull[BAW-1:0];
            always @(posedge aclk) begin
                if (!aresetn) wptr <= {BAW{1'b0}};
                else if (load_end && LINE == 0) wptr <= {BAW{1'b0}};  // the ring runs on
                else if (we) wptr <= (wptr == A_LAST) ? {BAW{1'b0}} : wptr + 1'b1;
            end
            always @(posedge aclk) begin
                if (we) mem[wptr] <= s0_axis_tdata;
                if (en) q_r <= mem[raddr];  // read-first: the old word on an address clash
            end
            assign qv[bk*PIX +: PIX] = q_r;
        end
    endgenerate

    // ---- stage 3: corner values -----------------------------------------------------------
    // the chunk of each corner's pixel: corner (a, b) is in bank (yp ^ a, xp ^ b)
    wire [4*CHW-1:0] cw;
    genvar cr;
    generate
        for (cr = 0; cr < 4; cr = cr + 1) begin : g_pick
            wire sy = yp2 ^ (cr / 2 != 0);
            wire sx = xp2 ^ (cr % 2 != 0);
            wire [PIX-1:0] pw = sy ? (sx ? qv[3*PIX +: PIX] : qv[2*PIX +: PIX])
                                   : (sx ? qv[PIX +: PIX] : qv[0 +: PIX]);
            reg [CHW-1:0] chunk;
            integer c;
            always @* begin
                chunk = pw[0 +: CHW];
                for (c = 1; c < CF; c = c + 1) begin
                    if (ch2 == c[CFW-1:0]) chunk = pw[c*CHW +: CHW];
                end
            end
            assign cw[cr*CHW +: CHW] = chunk;
        end
    endgenerate
    always @(posedge aclk) begin
        if (en) begin
            fy3 <= fy2;
            fx3 <= fx2;
            fy4 <= fy3;
            m3 <= m2;
            m4 <= m3;
            m5 <= m4;
            last3 <= last2;
            last4 <= last3;
            last5 <= last4;
            last6 <= last5;
        end
    end

    genvar l, cn;
    generate
        for (l = 0; l < SIMD; l = l + 1) begin : g_lane
            wire [4*X_BITS-1:0] xc;  // x' of the 4 corners (0 outside)
            for (cn = 0; cn < 4; cn = cn + 1) begin : g_corner
                wire [IN_BITS-1:0] code = cw[cn*CHW + l*IN_BITS +: IN_BITS];
                wire [X_BITS-1:0] xe;
                if (IN_BIPOLAR != 0) begin : g_bip
                    assign xe = {{(X_BITS - 1){~code[0]}}, 1'b1};
                end else if (X_BITS > IN_BITS && IN_SIGNED != 0 && IN_BITS == 1) begin : g_s1
                    assign xe = {X_BITS{code[0]}};
                end else if (X_BITS > IN_BITS && IN_SIGNED != 0) begin : g_s
                    assign xe = {{(X_BITS - IN_BITS + 1){code[IN_BITS-1]}}, code[IN_BITS-2:0]};
                end else if (X_BITS > IN_BITS) begin : g_u
                    assign xe = {{(X_BITS - IN_BITS){1'b0}}, code};
                end else begin : g_trunc
                    /* verilator lint_off UNUSEDSIGNAL */  // bits above X_BITS: modulo arithmetic
                    wire [IN_BITS-1:0] code_all = code;
                    /* verilator lint_on UNUSEDSIGNAL */
                    assign xe = code_all[X_BITS-1:0];
                end
                reg [X_BITS-1:0] x3;
                always @(posedge aclk) begin
                    if (en) x3 <= in2[cn] ? xe - X_ZP : {X_BITS{1'b0}};
                end
                assign xc[cn*X_BITS +: X_BITS] = x3;
            end

            // stage 4: t = x'00*2**F + (x'01 - x'00)*fx, b likewise (modulo 2**T1)
            wire [T1-1:0] x00 = {{(T1 - X_BITS + 1){xc[X_BITS-1]}}, xc[X_BITS-2:0]};
            wire [T1-1:0] x01 = {{(T1 - X_BITS + 1){xc[2*X_BITS-1]}}, xc[X_BITS +: X_BITS-1]};
            wire [T1-1:0] x10 = {{(T1 - X_BITS + 1){xc[3*X_BITS-1]}}, xc[2*X_BITS +: X_BITS-1]};
            wire [T1-1:0] x11 = {{(T1 - X_BITS + 1){xc[4*X_BITS-1]}}, xc[3*X_BITS +: X_BITS-1]};
            wire [T1-1:0] fxe = {{(T1 - FW){1'b0}}, fx3};
            reg  [T1-1:0] t4, b4;
            always @(posedge aclk) begin
                if (en) begin
                    t4 <= (x00 << FRAC) + (x01 - x00) * fxe;
                    b4 <= (x10 << FRAC) + (x11 - x10) * fxe;
                end
            end

            // stage 5: s = t*2**F + (b - t)*fy (modulo 2**T2)
            wire [T2-1:0] te  = {{(T2 - T1 + 1){t4[T1-1]}}, t4[T1-2:0]};
            wire [T2-1:0] be  = {{(T2 - T1 + 1){b4[T1-1]}}, b4[T1-2:0]};
            wire [T2-1:0] fye = {{(T2 - FW){1'b0}}, fy4};
            reg  [T2-1:0] s5;
            always @(posedge aclk) begin
                if (en) s5 <= (te << FRAC) + (be - te) * fye;
            end

            // stage 6: out = s * (m - MASK_ZP) modulo 2**OUT_BITS
            wire [OUT_BITS-1:0] se, me;
            if (OUT_BITS >= T2) begin : g_sext
                assign se = {{(OUT_BITS - T2 + 1){s5[T2-1]}}, s5[T2-2:0]};
            end else begin : g_strunc
                /* verilator lint_off UNUSEDSIGNAL */  // bits above OUT_BITS: modulo arithmetic
                wire [T2-1:0] s_all = s5;
                /* verilator lint_on UNUSEDSIGNAL */
                assign se = s_all[OUT_BITS-1:0];
            end
            if (OUT_BITS >= MASK_BITS) begin : g_mext
                assign me = {{(OUT_BITS - MASK_BITS + 1){m5[MASK_BITS-1]}}, m5[MASK_BITS-2:0]};
            end else begin : g_mtrunc
                /* verilator lint_off UNUSEDSIGNAL */  // bits above OUT_BITS: modulo arithmetic
                wire [MASK_BITS-1:0] m_all = m5;
                /* verilator lint_on UNUSEDSIGNAL */
                assign me = m_all[OUT_BITS-1:0];
            end
            reg [OUT_BITS-1:0] o6;
            always @(posedge aclk) begin
                if (en) o6 <= (HAS_MASK != 0) ? se * me : se;
            end
            assign m_axis_tdata[l*OUT_BITS +: OUT_BITS] = o6;
        end
    endgenerate

    always @(posedge aclk) begin
        if (!aresetn) begin
            v1 <= 1'b0;
            v2 <= 1'b0;
            v3 <= 1'b0;
            v4 <= 1'b0;
            v5 <= 1'b0;
            v6 <= 1'b0;
        end else if (en) begin
            v1 <= issue;
            v2 <= v1;
            v3 <= v2;
            v4 <= v3;
            v5 <= v4;
            v6 <= v5;
        end
    end

    assign m_axis_tvalid = v6;
    assign m_axis_tlast  = last6;
endmodule

`default_nettype wire
