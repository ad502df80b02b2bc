// axis_width: AXI4-Stream data-width converter between streams of BITS-bit elements,
// IN_LANES elements per input beat and OUT_LANES per output beat (one lane count a
// multiple of the other; the backend chains two converters through the gcd otherwise).
//
// Element order is kept: upsizing packs R = OUT_LANES/IN_LANES input beats into one
// output beat, the first input beat in the low lanes; downsizing sends the low
// OUT_LANES elements of an input beat first.  tlast is forwarded: it marks the last
// output beat of a frame (frames are a whole number of beats on both sides, so an
// upsized beat's tlast is that of its last input beat).  Equal lanes: a register slice.
//
// Full throughput on the narrow side (one beat per cycle when neither side stalls);
// registered outputs, and s_axis_tready is a register too (no combinational path from
// m_axis_tready to s_axis_tready).  Latency: one cycle after the beat that completes
// an output beat.
`default_nettype none

module axis_width #(
    parameter integer BITS      = 8,  // element bits, >= 1
    parameter integer IN_LANES  = 1,  // elements per input beat, >= 1
    parameter integer OUT_LANES = 1   // elements per output beat, >= 1; one of IN_LANES and
                                      // OUT_LANES a multiple of the other
) (
    input  wire                      aclk,
    input  wire                      aresetn,
    input  wire [IN_LANES*BITS-1:0]  s_axis_tdata,
    input  wire                      s_axis_tvalid,
    output wire                      s_axis_tready,
    input  wire                      s_axis_tlast,
    output wire [OUT_LANES*BITS-1:0] m_axis_tdata,
    output wire                      m_axis_tvalid,
    input  wire                      m_axis_tready,
    output wire                      m_axis_tlast
);
    localparam integer IW = IN_LANES * BITS;
    localparam integer OW = OUT_LANES * BITS;

    initial begin
        if (BITS < 1) $error("axis_width %m: BITS=%0d must be >= 1", BITS);
        if (IN_LANES < 1 || OUT_LANES < 1)
            $error("axis_width %m: IN_LANES=%0d and OUT_LANES=%0d must be >= 1",
                   IN_LANES, OUT_LANES);
        else if (IN_LANES % OUT_LANES != 0 && OUT_LANES % IN_LANES != 0)
            $error("axis_width %m: IN_LANES=%0d and OUT_LANES=%0d: one must be a multiple of the other (chain two converters through their gcd)",
                   IN_LANES, OUT_LANES);
    end

    function integer clog2;
        input integer v;
        integer r;
        begin
            r = 0;
            while ((1 << r) < v) r = r + 1;
            clog2 = r;
        end
    endfunction

    generate
        if (OUT_LANES > IN_LANES) begin : g_up
            // Upsizing: R input beats shift into acc (new beat at the top, so the first
            // beat ends in the low lanes).  The beat completing a group goes straight to
            // the output register when it is free, else acc holds the group (full) and
            // s_axis_tready drops until the output register takes it.
            localparam integer R  = OUT_LANES / IN_LANES;
            localparam integer CW = R < 2 ? 1 : clog2(R);  // R >= 2 unless the lanes are bad
            localparam integer LASTI = R - 1;
            localparam [CW-1:0] LAST = LASTI[CW-1:0];

            reg [OW-1:0] acc, out_data;
            reg          acc_last, out_last;
            reg          acc_full, out_valid;
            reg [CW-1:0] cnt;  // beats of the current group already in acc

            wire          take  = s_axis_tvalid && !acc_full;
            wire          give  = !out_valid || m_axis_tready;
            wire          ends  = take && cnt == LAST;  // this beat completes a group
            wire [OW-1:0] shift = {s_axis_tdata, acc[OW-1:IW]};

            assign s_axis_tready = !acc_full;
            assign m_axis_tdata  = out_data;
            assign m_axis_tvalid = out_valid;
            assign m_axis_tlast  = out_last;

            always @(posedge aclk) begin
                if (take) begin
                    acc      <= shift;
                    acc_last <= s_axis_tlast;
                end
                if (give) begin
                    out_data <= acc_full ? acc : shift;
                    out_last <= acc_full ? acc_last : s_axis_tlast;
                end
            end

            always @(posedge aclk) begin
                if (!aresetn) begin
                    cnt       <= {CW{1'b0}};
                    acc_full  <= 1'b0;
                    out_valid <= 1'b0;
                end else begin
                    if (take) cnt <= ends ? {CW{1'b0}} : cnt + 1'b1;
                    if (give) begin
                        out_valid <= acc_full || ends;
                        acc_full  <= 1'b0;
                    end else if (ends) begin
                        acc_full <= 1'b1;
                    end
                end
            end
        end else begin : g_down
            // Downsizing (R = 1: a register slice): buf holds the input beat being sent,
            // its low OUT_LANES elements on m_axis_tdata, shifting down by one output beat
            // per transfer; left counts the output beats still in buf.  A one-beat skid
            // register (hold) takes the next input beat while buf drains, so
            // s_axis_tready is a register and buf reloads without a bubble.
            localparam integer R  = IN_LANES / OUT_LANES;
            localparam integer CW = clog2(R + 1);
            localparam integer ONEI = 1;
            localparam [CW-1:0] FULL = R[CW-1:0];
            localparam [CW-1:0] ONE  = ONEI[CW-1:0];

            reg [IW-1:0] buf_data, hold_data;
            reg          buf_last, hold_last;
            reg          hold_valid, out_valid, out_last;
            reg [CW-1:0] left;

            wire          take     = s_axis_tvalid && !hold_valid;
            wire          pop      = out_valid && m_axis_tready;
            wire          load     = (!out_valid || (pop && left == ONE)) && (hold_valid || take);
            wire [CW-1:0] left_n   = load ? FULL : pop ? left - ONE : left;
            wire          last_n   = load ? (hold_valid ? hold_last : s_axis_tlast) : buf_last;

            assign s_axis_tready = !hold_valid;
            assign m_axis_tdata  = buf_data[OW-1:0];
            assign m_axis_tvalid = out_valid;
            assign m_axis_tlast  = out_last;

            always @(posedge aclk) begin
                if (load) buf_data <= hold_valid ? hold_data : s_axis_tdata;
                else if (pop) buf_data <= buf_data >> OW;
                buf_last <= last_n;
                if (take && !load) begin
                    hold_data <= s_axis_tdata;
                    hold_last <= s_axis_tlast;
                end
            end

            always @(posedge aclk) begin
                if (!aresetn) begin
                    left       <= {CW{1'b0}};
                    hold_valid <= 1'b0;
                    out_valid  <= 1'b0;
                    out_last   <= 1'b0;
                end else begin
                    left       <= left_n;
                    out_valid  <= left_n != {CW{1'b0}};
                    out_last   <= last_n && left_n == ONE;
                    if (load) hold_valid <= 1'b0;
                    else if (take) hold_valid <= 1'b1;
                end
            end
        end
    endgenerate
endmodule

`default_nettype wire
