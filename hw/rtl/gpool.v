// gpool: global pooling (max or sum over every pixel of the frame, per channel).
//
// Input : a frame of PIXELS pixels, CHANNELS elements each (channels minor), PE per beat.
// Output: CHANNELS/PE beats of PE reduced elements at the end of each frame (during the
//         frame's last pixel), m_axis_tlast on the last one.
//
// No line buffer: a frame's pixels are exactly one window in stream order (tap-major,
// channels minor), so this is the window-reduce cell pool.v with TAPS = PIXELS and one
// output pixel per frame: one accumulator per channel, one input beat per cycle.
`default_nettype none

module gpool #(
    parameter integer PE         = 1,  // elements per beat (input and output), >= 1
    parameter integer CHANNELS   = 1,  // channels, a multiple of PE
    parameter integer PIXELS     = 1,  // input pixels per frame, >= 1
    parameter integer IN_BITS    = 8,  // input element bits, >= 1
    parameter integer IN_SIGNED  = 0,  // 1: input elements are two's complement
    parameter integer IN_BIPOLAR = 0,  // 1: input elements are bipolar bits (IN_BITS = 1)
    parameter integer ACC_BITS   = 9,  // accumulator bits (signed): holds every partial result
    parameter integer OUT_BITS   = 8,  // output element bits, 1..ACC_BITS
    parameter integer MAX        = 1   // 1: max, 0: sum
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
    initial begin
        if (PIXELS < 1) $error("gpool %m: PIXELS=%0d must be >= 1", PIXELS);
    end

    pool #(
        .PE(PE), .CHANNELS(CHANNELS), .TAPS(PIXELS), .PIXELS(1),
        .IN_BITS(IN_BITS), .IN_SIGNED(IN_SIGNED), .IN_BIPOLAR(IN_BIPOLAR),
        .ACC_BITS(ACC_BITS), .OUT_BITS(OUT_BITS), .MAX(MAX)
    ) u_reduce (
        .aclk(aclk),
        .aresetn(aresetn),
        .s_axis_tdata(s_axis_tdata),
        .s_axis_tvalid(s_axis_tvalid),
        .s_axis_tready(s_axis_tready),
        .m_axis_tdata(m_axis_tdata),
        .m_axis_tvalid(m_axis_tvalid),
        .m_axis_tready(m_axis_tready),
        .m_axis_tlast(m_axis_tlast)
    );
endmodule

`default_nettype wire
