// pool: window reduce (max or sum) per channel.
//
// Input : per output pixel, TAPS window taps in order, each tap CHANNELS elements
//         (channels minor), PE elements per beat: TAPS*CHANNELS/PE beats per pixel,
//         PIXELS output pixels per frame (an swg's output, or for global pooling the
//         frame's pixels themselves with TAPS = pixels per frame, PIXELS = 1).
// Output: per output pixel, CHANNELS/PE beats of PE reduced elements, OUT_BITS each
//         (the low bits of the ACC_BITS accumulator); m_axis_tlast on the last beat of
//         each frame.
//
// Elements are sign-extended (IN_SIGNED), zero-extended, or read as a bipolar bit
// (IN_BIPOLAR: 0 -> -1, 1 -> +1) to ACC_BITS signed bits; ACC_BITS holds every partial
// result (the unit computes it from the value ranges).  One accumulator word per channel
// group in a small memory (LUTRAM); tap 0 loads it, later taps combine into it, the last
// tap's result goes out through a skid buffer.  One input beat per cycle; the output
// beats of a pixel leave during its last tap, so the cell never waits between pixels.
`default_nettype none

module pool #(
    parameter integer PE         = 1,  // elements per beat (input and output), >= 1
    parameter integer CHANNELS   = 1,  // channels, a multiple of PE
    parameter integer TAPS       = 1,  // window taps per output pixel, >= 1
    parameter integer PIXELS     = 1,  // output pixels per frame, >= 1
    parameter integer IN_BITS    = 8,  // input element bits, >= 1
    parameter integer IN_SIGNED  = 0,  // 1: input elements are two's complement
    parameter integer IN_BIPOLAR = 0,  // 1: input elements are bipolar bits (IN_BITS = 1)
    parameter integer ACC_BITS   = 9,  // accumulator bits (signed), > IN_BITS unless signed
    parameter integer OUT_BITS   = 8,  // output element bits, 1..ACC_BITS
    parameter integer MAX        = 1   // 1: max, 0: sum
) (
    input  wire                     aclk,
    input  wire                     aresetn,
    input  wire [PE*IN_BITS-1:0]    s_axis_tdata,
    input  wire                     s_axis_tvalid,
    output wire                     s_axis_tready,
    output wire [PE*OUT_BITS-1:0]   m_axis_tdata,
    output wire                     m_axis_tvalid,
    input  wire                     m_axis_tready,
    output wire                     m_axis_tlast
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

    localparam integer CF = CHANNELS / PE;  // beats per tap
    localparam integer EXT = ACC_BITS - IN_BITS;
    localparam integer I_ONE = 1, I_MINUS_ONE = -1;
    localparam signed [ACC_BITS-1:0] PLUS1 = I_ONE[ACC_BITS-1:0];
    localparam signed [ACC_BITS-1:0] MINUS1 = I_MINUS_ONE[ACC_BITS-1:0];

    initial begin
        if (PE < 1 || CHANNELS < 1 || CHANNELS % PE != 0)
            $error("pool %m: PE=%0d must be >= 1 and divide CHANNELS=%0d", PE, CHANNELS);
        if (TAPS < 1 || PIXELS < 1)
            $error("pool %m: TAPS=%0d and PIXELS=%0d must be >= 1", TAPS, PIXELS);
        if (IN_BITS < 1) $error("pool %m: IN_BITS=%0d must be >= 1", IN_BITS);
        if (IN_BIPOLAR != 0 && (IN_BITS != 1 || ACC_BITS < 2))
            $error("pool %m: bipolar input needs IN_BITS=1 (got %0d) and ACC_BITS >= 2", IN_BITS);
        if (ACC_BITS < IN_BITS + (IN_SIGNED != 0 ? 0 : 1))
            $error("pool %m: ACC_BITS=%0d cannot hold %0s %0d-bit inputs as signed values",
                   ACC_BITS, IN_SIGNED != 0 ? "signed" : "unsigned", IN_BITS);
        if (OUT_BITS < 1 || OUT_BITS > ACC_BITS)
            $error("pool %m: OUT_BITS=%0d must be in 1..ACC_BITS=%0d", OUT_BITS, ACC_BITS);
    end

    localparam integer CW = clog2(CF), TW = clog2(TAPS), PW = clog2(PIXELS);
    localparam integer I_CF = CF - 1, I_TAPS = TAPS - 1, I_PIX = PIXELS - 1;
    localparam [CW-1:0] CF_LAST  = I_CF[CW-1:0];
    localparam [TW-1:0] TAP_LAST = I_TAPS[TW-1:0];
    localparam [PW-1:0] PIX_LAST = I_PIX[PW-1:0];

    reg [CW-1:0] cf;
    reg [TW-1:0] tap;
    reg [PW-1:0] pix;
    wire e_cf  = (cf == CF_LAST);
    wire e_tap = (tap == TAP_LAST);
    wire e_pix = (pix == PIX_LAST);

    reg [PE*ACC_BITS-1:0] acc [0:CF-1];
    wire [PE*ACC_BITS-1:0] acc_q = acc[cf];
    wire [PE*ACC_BITS-1:0] acc_d;
    wire [PE*OUT_BITS-1:0] result;

    genvar i;
    generate
        for (i = 0; i < PE; i = i + 1) begin : g_lane
            wire [IN_BITS-1:0] x = s_axis_tdata[i*IN_BITS +: IN_BITS];
            wire signed [ACC_BITS-1:0] xv;
            if (IN_BIPOLAR != 0) begin : g_bipolar
                assign xv = x[0] ? PLUS1 : MINUS1;
            end else if (IN_SIGNED != 0) begin : g_signed
                if (EXT > 0) begin : g_ext
                    assign xv = {{EXT{x[IN_BITS-1]}}, x};
                end else begin : g_same
                    assign xv = x;
                end
            end else begin : g_unsigned
                assign xv = {{EXT{1'b0}}, x};
            end
            wire signed [ACC_BITS-1:0] a = acc_q[i*ACC_BITS +: ACC_BITS];
            wire signed [ACC_BITS-1:0] y;
            if (MAX != 0) begin : g_max
                assign y = (tap == {TW{1'b0}} || xv > a) ? xv : a;
            end else begin : g_sum
                assign y = (tap == {TW{1'b0}}) ? xv : a + xv;
            end
            assign acc_d[i*ACC_BITS +: ACC_BITS] = y;
            assign result[i*OUT_BITS +: OUT_BITS] = y[OUT_BITS-1:0];
            if (OUT_BITS < ACC_BITS) begin : g_high
                /* verilator lint_off UNUSEDSIGNAL */
                wire [ACC_BITS-OUT_BITS-1:0] unused = y[ACC_BITS-1:OUT_BITS];  // fit OUT_BITS at the last tap
                /* verilator lint_on UNUSEDSIGNAL */
            end
        end
    endgenerate

    // the last tap's beats leave through a skid buffer whose tready is a register
    wire out_ready;
    wire take = s_axis_tvalid && (!e_tap || out_ready);
    assign s_axis_tready = !e_tap || out_ready;

    always @(posedge aclk) begin
        if (take) acc[cf] <= acc_d;
    end

    always @(posedge aclk) begin
        if (!aresetn) begin
            cf  <= {CW{1'b0}};
            tap <= {TW{1'b0}};
            pix <= {PW{1'b0}};
        end else if (take) begin
            cf <= e_cf ? {CW{1'b0}} : cf + 1'b1;
            if (e_cf) begin
                tap <= e_tap ? {TW{1'b0}} : tap + 1'b1;
                if (e_tap) pix <= e_pix ? {PW{1'b0}} : pix + 1'b1;
            end
        end
    end

    axis_skid #(.WIDTH(PE * OUT_BITS)) u_out (
        .aclk(aclk),
        .aresetn(aresetn),
        .s_axis_tdata(result),
        .s_axis_tvalid(s_axis_tvalid && e_tap),
        .s_axis_tready(out_ready),
        .s_axis_tlast(e_cf && e_pix),
        .m_axis_tdata(m_axis_tdata),
        .m_axis_tvalid(m_axis_tvalid),
        .m_axis_tready(m_axis_tready),
        .m_axis_tlast(m_axis_tlast)
    );
endmodule

`default_nettype wire
