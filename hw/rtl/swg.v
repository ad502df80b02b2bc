// swg: sliding-window generator on a channels-last pixel stream.
//
// Input : one frame of H x W pixels (a 1-D input: H = its length, W = 1), CHANNELS
//         elements per pixel, SIMD elements per beat, in raster order, channels minor.
// Output: for each of the OH x OW windows in raster order, its KH x KW kernel positions
//         in row-major order, channels minor, SIMD elements per beat; m_axis_tlast on
//         the last beat of each frame.  Window (oh, ow) tap (kh, kw) reads input pixel
//         (oh*SH - PT + kh*DH, ow*SW - PL + kw*DW); positions outside the input (begin
//         padding PT/PL, end padding, ceil-mode windows) emit PAD.  The end padding is
//         implied by OH/OW, which the unit (gen/archgen/units/swg.py) computes.
//
// Storage: a line buffer of ROWS input rows (a circular buffer in one memory of
// ROWS*W*CHANNELS/SIMD words, BRAM or LUTRAM by size).  Input row r of the stream goes
// to slot r mod ROWS; the writer may write row r once every window that reads row
// r - ROWS is done (rows above the current window's first row are released).  The
// reader emits the windows of output row oh once the input rows that row reads are
// complete: one beat per cycle while the consumer is ready.  The writer runs ahead
// into the next frame while the last windows of a frame are emitted.  ROWS >=
// min((KH-1)*DH+1, H) never deadlocks; the unit's ROWS (units/swg.py buffer_rows) lets
// the writer fill the next output row's rows while the current one is emitted.
`default_nettype none

module swg #(
    parameter integer BITS     = 8,  // bits per element, >= 1
    parameter integer SIMD     = 1,  // elements per beat (input and output), >= 1
    parameter integer CHANNELS = 1,  // elements per pixel, a multiple of SIMD
    parameter integer H        = 1,  // input rows (1-D: the length), >= 1
    parameter integer W        = 1,  // input columns (1-D: 1), >= 1
    parameter integer OH       = 1,  // windows per column, >= 1
    parameter integer OW       = 1,  // windows per row, >= 1
    parameter integer KH       = 1,  // kernel rows, >= 1
    parameter integer KW       = 1,  // kernel columns, >= 1
    parameter integer SH       = 1,  // row stride, >= 1
    parameter integer SW       = 1,  // column stride, >= 1
    parameter integer DH       = 1,  // row dilation, >= 1
    parameter integer DW       = 1,  // column dilation, >= 1
    parameter integer PT       = 0,  // padding rows above the input, >= 0
    parameter integer PL       = 0,  // padding columns left of the input, >= 0
    parameter integer ROWS     = 2,  // line buffer rows, >= min((KH-1)*DH+1, H)
    parameter [BITS-1:0] PAD   = {BITS{1'b0}}  // element code emitted for padded positions
) (
    input  wire                 aclk,
    input  wire                 aresetn,
    input  wire [SIMD*BITS-1:0] s_axis_tdata,
    input  wire                 s_axis_tvalid,
    output wire                 s_axis_tready,
    output wire [SIMD*BITS-1:0] m_axis_tdata,
    output wire                 m_axis_tvalid,
    input  wire                 m_axis_tready,
    output wire                 m_axis_tlast
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

    function integer posmod;  // v mod m in [0, m) for any sign of v
        input integer v;
        input integer m;
        begin
            posmod = ((v % m) + m) % m;
        end
    endfunction

    localparam integer WIDTH  = SIMD * BITS;
    localparam integer CF     = CHANNELS / SIMD;  // beats per pixel
    localparam integer ROWLEN = W * CF;           // words per buffered row
    localparam integer DEPTH  = ROWS * ROWLEN;    // words in the line buffer
    localparam integer EKH    = (KH - 1) * DH + 1;
    localparam integer AW     = clog2(DEPTH);
    // signed widths of row and column-word coordinates (padding makes them negative)
    localparam integer RW = clog2(PT + OH * SH + EKH + H + ROWS + 1) + 1;
    localparam integer CW0 = clog2((PL + OW * SW + KW * DW + W) * CF + 1) + 1;
    localparam integer CW = (CW0 > AW) ? CW0 : AW + 1;  // holds line-buffer word offsets too

    // constants at the widths they are used at (integers first, then their low bits)
    localparam integer I_PT = -PT, I_DWC = DW * CF, I_SWC = SW * CF, I_PLC = -PL * CF;
    localparam integer I_ZERO = 0, I_ONE = 1, I_LAST = DEPTH - 1, I_ROWEND = ROWLEN - 1;
    localparam integer I_ADH = posmod(DH, ROWS) * ROWLEN;      // next kernel row
    localparam integer I_ASH = posmod(SH, ROWS) * ROWLEN;      // next output row
    localparam integer I_AH = posmod(H, ROWS) * ROWLEN;        // next frame
    localparam integer I_AHPT = posmod(H - PT, ROWS) * ROWLEN; // next frame's first window row
    localparam integer I_APT0 = posmod(-PT, ROWS) * ROWLEN;    // first window row after reset
    localparam signed [RW-1:0] R_H    = H[RW-1:0];
    localparam signed [RW-1:0] R_ROWS = ROWS[RW-1:0];
    localparam signed [RW-1:0] R_EKH  = EKH[RW-1:0];
    localparam signed [RW-1:0] R_SH   = SH[RW-1:0];
    localparam signed [RW-1:0] R_DH   = DH[RW-1:0];
    localparam signed [RW-1:0] R_PT   = I_PT[RW-1:0];
    localparam signed [RW-1:0] R_ZERO = I_ZERO[RW-1:0];
    localparam signed [RW-1:0] R_ONE  = I_ONE[RW-1:0];
    localparam signed [CW-1:0] C_LEN  = ROWLEN[CW-1:0];
    localparam signed [CW-1:0] C_DW   = I_DWC[CW-1:0];
    localparam signed [CW-1:0] C_SW   = I_SWC[CW-1:0];
    localparam signed [CW-1:0] C_PL   = I_PLC[CW-1:0];
    localparam signed [CW-1:0] C_ZERO = I_ZERO[CW-1:0];
    localparam [AW:0]   A_DEPTH  = DEPTH[AW:0];
    localparam [AW:0]   A_DH     = I_ADH[AW:0];
    localparam [AW:0]   A_SH     = I_ASH[AW:0];
    localparam [AW:0]   A_H      = I_AH[AW:0];
    localparam [AW:0]   A_HPT    = I_AHPT[AW:0];
    localparam [AW-1:0] A_PT0    = I_APT0[AW-1:0];
    localparam [AW-1:0] A_LAST   = I_LAST[AW-1:0];
    localparam [AW-1:0] A_ROWEND = I_ROWEND[AW-1:0];

    initial begin
        if (BITS < 1) $error("swg %m: BITS=%0d must be >= 1", BITS);
        if (SIMD < 1 || CHANNELS < 1 || CHANNELS % SIMD != 0)
            $error("swg %m: SIMD=%0d must be >= 1 and divide CHANNELS=%0d", SIMD, CHANNELS);
        if (H < 1 || W < 1 || OH < 1 || OW < 1)
            $error("swg %m: H=%0d W=%0d OH=%0d OW=%0d must be >= 1", H, W, OH, OW);
        if (KH < 1 || KW < 1 || SH < 1 || SW < 1 || DH < 1 || DW < 1)
            $error("swg %m: kernel %0dx%0d, strides %0d,%0d, dilations %0d,%0d must be >= 1",
                   KH, KW, SH, SW, DH, DW);
        if (PT < 0 || PL < 0) $error("swg %m: PT=%0d PL=%0d must be >= 0", PT, PL);
        if (ROWS < EKH && ROWS < H)
            $error("swg %m: ROWS=%0d must be >= min((KH-1)*DH+1, H)=%0d (a window's rows)",
                   ROWS, EKH < H ? EKH : H);
    end

    function [AW-1:0] wrap_add;  // (a + b) mod DEPTH for a < DEPTH, b <= DEPTH
        input [AW-1:0] a;
        input [AW:0] b;
        reg [AW:0] s;
        begin
            s = {1'b0, a} + b;
            wrap_add = (s >= A_DEPTH) ? s[AW-1:0] - A_DEPTH[AW-1:0] : s[AW-1:0];
        end
    endfunction

    reg [WIDTH-1:0] mem [0:DEPTH-1];

    // ---- shared state: complete rows written, counted from the reader's frame start -----
    // (negative while the writer still fills unread rows at the end of the reader's last
    // frame; above H when it has run into the next frame)
    reg signed [RW-1:0] filled;
    reg signed [RW-1:0] r_start;  // first row of the current output row's windows
    wire signed [RW-1:0] released = (r_start < R_ZERO) ? R_ZERO : (r_start > R_H) ? R_H : r_start;

    // ---- writer ---------------------------------------------------------------------------
    reg [AW-1:0] waddr;
    reg [AW-1:0] wcol;  // word within the row being written
    wire room = filled < R_ROWS + released;  // row `filled` fits beside the live rows
    wire wr = s_axis_tvalid && room;
    wire row_done = wr && (wcol == A_ROWEND);
    assign s_axis_tready = room;

    always @(posedge aclk) begin
        if (wr) mem[waddr] <= s_axis_tdata;
    end

    always @(posedge aclk) begin
        if (!aresetn) begin
            waddr <= {AW{1'b0}};
            wcol  <= {AW{1'b0}};
        end else if (wr) begin
            waddr <= (waddr == A_LAST) ? {AW{1'b0}} : waddr + 1'b1;
            wcol  <= row_done ? {AW{1'b0}} : wcol + 1'b1;
        end
    end

    // ---- reader: loops oh, ow, kh, kw, cf ---------------------------------------------------
    localparam integer KWW = clog2(KW), KHW = clog2(KH), OWW = clog2(OW), OHW = clog2(OH);
    localparam integer I_CF = CF - 1, I_KW = KW - 1, I_KH = KH - 1, I_OW = OW - 1, I_OH = OH - 1;
    localparam [CW-1:0]  CF_LAST = I_CF[CW-1:0];
    localparam [KWW-1:0] KW_LAST = I_KW[KWW-1:0];
    localparam [KHW-1:0] KH_LAST = I_KH[KHW-1:0];
    localparam [OWW-1:0] OW_LAST = I_OW[OWW-1:0];
    localparam [OHW-1:0] OH_LAST = I_OH[OHW-1:0];
    reg [CW-1:0]  cf;  // as wide as col: the two add up to the word offset in the row
    reg [KWW-1:0] kw;
    reg [KHW-1:0] kh;
    reg [OWW-1:0] ow;
    reg [OHW-1:0] oh;
    reg signed [RW-1:0] row;     // input row of the current tap
    reg signed [CW-1:0] col0;    // (ow*SW - PL) * CF: first tap column of the window, in words
    reg signed [CW-1:0] col;     // current tap column, in words
    reg [AW-1:0] base_addr;      // line-buffer address of the frame's row 0
    reg [AW-1:0] win_addr;       // ... of row r_start
    reg [AW-1:0] row_addr;       // ... of row `row`

    wire e_cf = (cf == CF_LAST);
    wire e_kw = (kw == KW_LAST);
    wire e_kh = (kh == KH_LAST);
    wire e_ow = (ow == OW_LAST);
    wire e_oh = (oh == OH_LAST);
    wire frame_end = e_cf && e_kw && e_kh && e_ow && e_oh;
    wire rows_in = (filled >= R_H) || (filled >= r_start + R_EKH);
    wire pad = (row < R_ZERO) || (row >= R_H) || (col < C_ZERO) || (col >= C_LEN);
    wire [CW-1:0] word = col + cf;  // below ROWLEN whenever the tap is read (not padding)
    wire [AW-1:0] rd_addr = row_addr + word[AW-1:0];
    /* verilator lint_off UNUSEDSIGNAL */
    wire [CW-AW-1:0] word_high = word[CW-1:AW];  // zero whenever the tap is read
    /* verilator lint_on UNUSEDSIGNAL */

    // pipeline: issue (address) -> memory read register -> output register
    reg             v1, pad1, last1;
    reg [WIDTH-1:0] q1;
    reg             out_valid, out_last;
    reg [WIDTH-1:0] out_data;
    wire adv2 = !out_valid || m_axis_tready;
    wire adv1 = !v1 || adv2;
    wire issue = adv1 && rows_in;
    wire frame_done = issue && frame_end;

    always @(posedge aclk) begin
        if (adv1) q1 <= mem[rd_addr];
    end

    always @(posedge aclk) begin
        if (!aresetn) begin
            v1 <= 1'b0;
            out_valid <= 1'b0;
        end else begin
            if (adv1) v1 <= issue;
            if (adv2) out_valid <= v1;
        end
    end

    always @(posedge aclk) begin
        if (adv1) begin
            pad1  <= pad;
            last1 <= frame_end;
        end
        if (adv2) begin
            out_data <= pad1 ? {SIMD{PAD}} : q1;
            out_last <= last1;
        end
    end

    assign m_axis_tdata  = out_data;
    assign m_axis_tvalid = out_valid;
    assign m_axis_tlast  = out_last;

    always @(posedge aclk) begin
        if (!aresetn) begin
            filled <= R_ZERO;
        end else if (row_done || frame_done) begin
            filled <= filled + (row_done ? R_ONE : R_ZERO) - (frame_done ? R_H : R_ZERO);
        end
    end

    always @(posedge aclk) begin
        if (!aresetn) begin
            cf <= {CW{1'b0}};
            kw <= {KWW{1'b0}};
            kh <= {KHW{1'b0}};
            ow <= {OWW{1'b0}};
            oh <= {OHW{1'b0}};
            r_start <= R_PT;
            row <= R_PT;
            col0 <= C_PL;
            col <= C_PL;
            base_addr <= {AW{1'b0}};
            win_addr <= A_PT0;
            row_addr <= A_PT0;
        end else if (issue) begin
            if (!e_cf) begin
                cf <= cf + 1'b1;
            end else begin
                cf <= {CW{1'b0}};
                if (!e_kw) begin
                    kw <= kw + 1'b1;
                    col <= col + C_DW;
                end else begin
                    kw <= {KWW{1'b0}};
                    if (!e_kh) begin
                        kh <= kh + 1'b1;
                        row <= row + R_DH;
                        row_addr <= wrap_add(row_addr, A_DH);
                        col <= col0;
                    end else begin
                        kh <= {KHW{1'b0}};
                        if (!e_ow) begin
                            ow <= ow + 1'b1;
                            col0 <= col0 + C_SW;
                            col <= col0 + C_SW;
                            row <= r_start;
                            row_addr <= win_addr;
                        end else begin
                            ow <= {OWW{1'b0}};
                            col0 <= C_PL;
                            col <= C_PL;
                            if (!e_oh) begin
                                oh <= oh + 1'b1;
                                r_start <= r_start + R_SH;
                                row <= r_start + R_SH;
                                win_addr <= wrap_add(win_addr, A_SH);
                                row_addr <= wrap_add(win_addr, A_SH);
                            end else begin
                                oh <= {OHW{1'b0}};
                                r_start <= R_PT;
                                row <= R_PT;
                                base_addr <= wrap_add(base_addr, A_H);
                                win_addr <= wrap_add(base_addr, A_HPT);
                                row_addr <= wrap_add(base_addr, A_HPT);
                            end
                        end
                    end
                end
            end
        end
    end
endmodule

`default_nettype wire
