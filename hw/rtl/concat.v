// concat: channel concatenation of N AXI4-Streams carrying the same pixels.
// Input k carries CHANNELS[k] channels per pixel of IN_BITS[k]-bit elements, LANES
// elements per beat; per pixel the output takes CHANNELS[0]/LANES beats from input 0,
// then CHANNELS[1]/LANES beats from input 1, ... .  Output elements are OUT_BITS wide:
// an input element is sign-extended (IN_SIGNED bit k) or zero-extended, or cut to its
// low OUT_BITS bits when it is wider (its values fit the output type); a bipolar input
// (IN_BIPOLAR bit k: bit 0 = -1, 1 = +1) becomes the two's complement -1/+1.  m_axis_tlast
// marks the last beat of each frame of PIXELS pixels; inputs have no tlast.
//
// One output beat per cycle when the selected input is valid and the output ready.
// Registered outputs; each s_axis_tready is a register too (a one-beat skid register
// holds the beat arriving while the output stalls).  Latency: one cycle.
`default_nettype none

module concat #(
    parameter integer N        = 2,  // inputs, >= 2
    parameter integer LANES    = 1,  // elements per beat, >= 1, divides every CHANNELS[k]
    parameter integer OUT_BITS = 8,  // output element bits, >= 1 (>= 2 with a bipolar input)
    parameter integer PIXELS   = 1,  // pixels per frame, >= 1
    // per input k, 32-bit fields at [32*k +: 32] (input 0 in the low bits):
    parameter [32*N-1:0] CHANNELS = {32'd1, 32'd1},  // channels, >= 1, multiples of LANES
    parameter [32*N-1:0] IN_BITS  = {32'd8, 32'd8},  // element bits, >= 1 (1 when bipolar)
    parameter [N-1:0] IN_SIGNED   = {N{1'b0}},       // bit k: input k is two's complement
    parameter [N-1:0] IN_BIPOLAR  = {N{1'b0}},       // bit k: input k is bipolar (see above)
    parameter integer IN_WIDTH = 16  // packed input tdata bits: LANES * sum of IN_BITS
) (
    input  wire                      aclk,
    input  wire                      aresetn,
    input  wire [IN_WIDTH-1:0]       s_axis_tdata,  // input k's tdata above those of inputs 0..k-1
    input  wire [N-1:0]              s_axis_tvalid,
    output wire [N-1:0]              s_axis_tready,
    output wire [LANES*OUT_BITS-1:0] m_axis_tdata,
    output wire                      m_axis_tvalid,
    input  wire                      m_axis_tready,
    output wire                      m_axis_tlast
);
    localparam integer OW = LANES * OUT_BITS;

    function integer field;  // 32-bit field k of a packed parameter
        input [32*N-1:0] v;
        input integer k;
        begin
            field = v[32*k +: 32];
        end
    endfunction

    function integer offset;  // bit offset of input k's tdata on s_axis_tdata
        input integer k;
        integer j;
        begin
            offset = 0;
            for (j = 0; j < k; j = j + 1) offset = offset + LANES * field(IN_BITS, j);
        end
    endfunction

    function integer clog2;
        input integer v;
        integer r;
        begin
            r = 0;
            while ((1 << r) < v) r = r + 1;
            clog2 = r;
        end
    endfunction

    function integer max_beats;  // most beats per pixel of one of inputs 0..n-1
        input integer n;
        integer j;
        begin
            max_beats = 1;
            for (j = 0; j < n; j = j + 1)
                if (field(CHANNELS, j) / LANES > max_beats) max_beats = field(CHANNELS, j) / LANES;
        end
    endfunction

    localparam integer BW = clog2(max_beats(N));            // beat-in-group counter bits
    localparam integer PW = clog2(PIXELS);                  // pixel counter bits
    localparam integer BC = BW < 1 ? 1 : BW;
    localparam integer PC = PW < 1 ? 1 : PW;
    localparam integer LAST_PIXEL_I = PIXELS - 1;
    localparam [PC-1:0] LAST_PIXEL = LAST_PIXEL_I[PC-1:0];

    integer k;
    initial begin
        if (N < 2) $error("concat %m: N=%0d must be >= 2", N);
        if (LANES < 1) $error("concat %m: LANES=%0d must be >= 1", LANES);
        if (OUT_BITS < 1) $error("concat %m: OUT_BITS=%0d must be >= 1", OUT_BITS);
        if (PIXELS < 1) $error("concat %m: PIXELS=%0d must be >= 1", PIXELS);
        if (IN_WIDTH != offset(N))
            $error("concat %m: IN_WIDTH=%0d must be LANES * sum(IN_BITS) = %0d", IN_WIDTH, offset(N));
        for (k = 0; k < N; k = k + 1) begin
            if (field(CHANNELS, k) < 1 || field(CHANNELS, k) % LANES != 0)
                $error("concat %m: CHANNELS[%0d]=%0d must be a positive multiple of LANES=%0d",
                       k, field(CHANNELS, k), LANES);
            if (field(IN_BITS, k) < 1) $error("concat %m: IN_BITS[%0d]=%0d must be >= 1", k, field(IN_BITS, k));
            if (IN_BIPOLAR[k] && (field(IN_BITS, k) != 1 || OUT_BITS < 2))
                $error("concat %m: bipolar input %0d needs IN_BITS=1 (got %0d) and OUT_BITS >= 2 (got %0d)",
                       k, field(IN_BITS, k), OUT_BITS);
        end
    end

    // -- per input: widened data, end of its group of beats ------------------------------
    reg  [N-1:0]    sel;     // one-hot: the input whose beats are being taken
    reg  [BC-1:0]   beat;    // beat within the selected input's group
    reg  [PC-1:0]   pixel;   // pixel within the frame
    wire [N*OW-1:0] wide;    // input k's beat widened, at [k*OW +: OW]
    wire [N-1:0]    at_end;  // bit k: beat is the last of input k's group

    genvar i, l;
    generate
        for (i = 0; i < N; i = i + 1) begin : g_in
            localparam integer IB  = field(IN_BITS, i);
            localparam integer OFF = offset(i);
            localparam integer LAST_BEAT_I = field(CHANNELS, i) / LANES - 1;
            localparam [BC-1:0] LAST_BEAT = LAST_BEAT_I[BC-1:0];
            assign at_end[i] = beat == LAST_BEAT;
            for (l = 0; l < LANES; l = l + 1) begin : g_lane
                wire [IB-1:0] x = s_axis_tdata[OFF + l*IB +: IB];
                if (IN_BIPOLAR[i]) begin : g_pm1
                    assign wide[i*OW + l*OUT_BITS +: OUT_BITS] = {{(OUT_BITS-1){~x[0]}}, 1'b1};
                end else if (IB >= OUT_BITS) begin : g_cut
                    assign wide[i*OW + l*OUT_BITS +: OUT_BITS] = x[OUT_BITS-1:0];
                    if (IB > OUT_BITS) begin : g_drop
                        // input values fit the output type, so the high bits only repeat
                        // the sign (or are zero): they are dropped on purpose
                        /* verilator lint_off UNUSEDSIGNAL */
                        wire [IB-OUT_BITS-1:0] dropped = x[IB-1:OUT_BITS];
                        /* verilator lint_on UNUSEDSIGNAL */
                    end
                end else begin : g_ext
                    wire fill = IN_SIGNED[i] && x[IB-1];
                    assign wide[i*OW + l*OUT_BITS +: OUT_BITS] = {{(OUT_BITS-IB){fill}}, x};
                end
            end
        end
    endgenerate

    // -- the selected input's beat ---------------------------------------------------------
    reg [OW-1:0] in_data;
    integer j;
    always @* begin
        in_data = {OW{1'b0}};
        for (j = 0; j < N; j = j + 1)
            in_data = in_data | (wide[j*OW +: OW] & {OW{sel[j]}});
    end

    wire group_end = (at_end & sel) != {N{1'b0}};
    wire last_in   = sel[N-1] && group_end && pixel == LAST_PIXEL;  // last beat of a frame

    // -- skid register and output register (as axis_skid) ----------------------------------
    reg [OW-1:0] out_data, skid_data;
    reg          out_last, skid_last;
    reg          out_valid, skid_valid;

    wire take = (s_axis_tvalid & sel) != {N{1'b0}} && !skid_valid;
    wire give = !out_valid || m_axis_tready;

    assign s_axis_tready = skid_valid ? {N{1'b0}} : sel;
    assign m_axis_tdata  = out_data;
    assign m_axis_tvalid = out_valid;
    assign m_axis_tlast  = out_last;

    always @(posedge aclk) begin
        if (give) begin
            out_data <= skid_valid ? skid_data : in_data;
            out_last <= skid_valid ? skid_last : last_in;
        end
        if (take && !give) begin
            skid_data <= in_data;
            skid_last <= last_in;
        end
    end

    always @(posedge aclk) begin
        if (!aresetn) begin
            out_valid  <= 1'b0;
            skid_valid <= 1'b0;
            sel        <= {{(N-1){1'b0}}, 1'b1};
            beat       <= {BC{1'b0}};
            pixel      <= {PC{1'b0}};
        end else begin
            if (give) begin
                out_valid  <= skid_valid || take;
                skid_valid <= 1'b0;
            end else if (take) begin
                skid_valid <= 1'b1;
            end
            if (take) begin
                beat <= group_end ? {BC{1'b0}} : beat + 1'b1;
                if (group_end) sel <= {sel[N-2:0], sel[N-1]};
                if (group_end && sel[N-1]) pixel <= last_in ? {PC{1'b0}} : pixel + 1'b1;
            end
        end
    end
endmodule

`default_nettype wire
