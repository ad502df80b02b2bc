// chslice: channel slice of an AXI4-Stream, y = x[..., start:stop] (channels last).
// Each pixel arrives as GROUPS beats of WIDTH bits (a lane group: LANES elements); the
// beats of groups FIRST..LAST (start/LANES .. stop/LANES - 1) go to the output unchanged,
// the others are accepted and dropped.  m_axis_tlast marks the kept beat of group LAST of
// the frame's last pixel (frames of PIXELS pixels); the input has no tlast.
//
// One input beat per cycle when the output does not stall.  Registered outputs; a dropped
// beat is accepted even while the output stalls.  s_axis_tready is combinational from
// m_axis_tready (on a kept group) and the registered group counter.  Latency: one cycle.
`default_nettype none

module chslice #(
    parameter integer WIDTH  = 8,  // tdata bits of both streams (LANES * element bits), >= 1
    parameter integer GROUPS = 2,  // beats per input pixel (channels / LANES), >= 1
    parameter integer FIRST  = 0,  // first kept group, 0 <= FIRST <= LAST
    parameter integer LAST   = 0,  // last kept group, FIRST <= LAST < GROUPS
    parameter integer PIXELS = 1   // pixels per frame, >= 1
) (
    input  wire             aclk,
    input  wire             aresetn,
    input  wire [WIDTH-1:0] s_axis_tdata,
    input  wire             s_axis_tvalid,
    output wire             s_axis_tready,
    output wire [WIDTH-1:0] m_axis_tdata,
    output wire             m_axis_tvalid,
    input  wire             m_axis_tready,
    output wire             m_axis_tlast
);
    function integer clog2;
        input integer v;
        integer r;
        begin
            r = 0;
            while ((1 << r) < v) r = r + 1;
            clog2 = r;
        end
    endfunction

    localparam integer GW = clog2(GROUPS) < 1 ? 1 : clog2(GROUPS);  // group counter bits
    localparam integer PW = clog2(PIXELS) < 1 ? 1 : clog2(PIXELS);  // pixel counter bits
    localparam integer LAST_GROUP_I = GROUPS - 1;
    localparam integer LAST_PIXEL_I = PIXELS - 1;
    localparam [GW-1:0] G_FIRST = FIRST[GW-1:0];
    localparam [GW-1:0] G_LAST  = LAST[GW-1:0];
    localparam [GW-1:0] G_END   = LAST_GROUP_I[GW-1:0];
    localparam [PW-1:0] P_END   = LAST_PIXEL_I[PW-1:0];

    initial begin
        if (WIDTH < 1) $error("chslice %m: WIDTH=%0d must be >= 1", WIDTH);
        if (GROUPS < 1) $error("chslice %m: GROUPS=%0d must be >= 1", GROUPS);
        if (FIRST < 0 || FIRST > LAST || LAST >= GROUPS)
            $error("chslice %m: FIRST=%0d, LAST=%0d must satisfy 0 <= FIRST <= LAST < GROUPS=%0d",
                   FIRST, LAST, GROUPS);
        if (PIXELS < 1) $error("chslice %m: PIXELS=%0d must be >= 1", PIXELS);
    end

    reg [GW-1:0] group;  // lane group of the beat on s_axis
    reg [PW-1:0] pixel;  // pixel within the frame

    // keep: FIRST <= group <= LAST (a bound that every group meets is not compared, so
    // that no comparison is constant)
    wire above, below;
    generate
        if (FIRST == 0) begin : g_from_zero
            assign above = 1'b1;
        end else begin : g_from_first
            assign above = group >= G_FIRST;
        end
        if (LAST == GROUPS - 1) begin : g_to_end
            assign below = 1'b1;
        end else begin : g_to_last
            assign below = group <= G_LAST;
        end
    endgenerate
    wire keep = above && below;

    reg [WIDTH-1:0] out_data;
    reg             out_valid, out_last;

    wire give = !out_valid || m_axis_tready;  // the output register may load
    wire take = s_axis_tvalid && (give || !keep);
    wire group_end = group == G_END;

    assign s_axis_tready = give || !keep;
    assign m_axis_tdata  = out_data;
    assign m_axis_tvalid = out_valid;
    assign m_axis_tlast  = out_last;

    always @(posedge aclk) begin
        if (give) begin
            out_data <= s_axis_tdata;
            out_last <= group == G_LAST && pixel == P_END;
        end
    end

    always @(posedge aclk) begin
        if (!aresetn) begin
            out_valid <= 1'b0;
            group     <= {GW{1'b0}};
            pixel     <= {PW{1'b0}};
        end else begin
            if (give) out_valid <= s_axis_tvalid && keep;
            if (take) begin
                group <= group_end ? {GW{1'b0}} : group + 1'b1;
                if (group_end) pixel <= pixel == P_END ? {PW{1'b0}} : pixel + 1'b1;
            end
        end
    end
endmodule

`default_nettype wire
