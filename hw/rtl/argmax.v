// argmax: index of the largest element of each vector of N elements (the first one on
// ties), PE elements per input beat, one index per output beat.
//
// A frame holds VECTORS vectors (N/PE beats each) and gives VECTORS output beats;
// m_axis_tlast marks the last.  Elements compare as signed X_BITS-bit values.
//
// Pipeline: 1 registered input, 2 registered best lane of the beat (a tournament tree
// over the PE lanes, the lower lane winning ties), 3 running best of the vector (a
// later beat replaces it only when strictly larger) and, on the vector's last beat,
// the registered output index.  One input beat per cycle; s_axis_tready is
// combinational from m_axis_tready (the stages collapse bubbles).
`default_nettype none

module argmax #(
    parameter integer PE         = 1,  // lanes (elements) per input beat, >= 1, divides N
    parameter integer IN_BITS    = 8,  // input element bits, >= 1 (1 when IN_BIPOLAR)
    parameter integer IN_SIGNED  = 1,  // 1: input is two's complement, 0: unsigned
    parameter integer IN_BIPOLAR = 0,  // 1: input bit b is the code 2b-1 (IN_BITS == 1)
    parameter integer X_BITS     = 9,  // signed compare width, >= 2, >= IN_BITS (+1 unsigned)
    parameter integer N          = 2,  // elements per vector, >= 1
    parameter integer VECTORS    = 1,  // vectors (output beats) per frame, >= 1
    parameter integer OUT_BITS   = 1   // index bits, 1..32, holds N-1
) (
    input  wire                  aclk,
    input  wire                  aresetn,
    input  wire [PE*IN_BITS-1:0] s_axis_tdata,
    input  wire                  s_axis_tvalid,
    output wire                  s_axis_tready,
    output wire [OUT_BITS-1:0]   m_axis_tdata,
    output wire                  m_axis_tvalid,
    input  wire                  m_axis_tready,
    output wire                  m_axis_tlast
);
    localparam integer BEATS = N / PE;  // beats per vector
    localparam integer BW = BEATS > 1 ? $clog2(BEATS) : 1;
    localparam integer VW = VECTORS > 1 ? $clog2(VECTORS) : 1;
    localparam integer P2 = 1 << (PE > 1 ? $clog2(PE) : 0);  // tournament leaves
    localparam [31:0] B_LAST32 = BEATS - 1;
    localparam [31:0] V_LAST32 = VECTORS - 1;
    localparam [31:0] PE32 = PE;
    localparam [BW-1:0] B_LAST = B_LAST32[BW-1:0];
    localparam [VW-1:0] V_LAST = V_LAST32[VW-1:0];
    localparam [OUT_BITS-1:0] STEP = PE32[OUT_BITS-1:0];

    initial begin
        if (PE < 1 || N < 1 || N % PE != 0)
            $error("argmax %m: PE=%0d must be >= 1 and divide N=%0d", PE, N);
        if (IN_BITS < 1 || (IN_BIPOLAR != 0 && IN_BITS != 1))
            $error("argmax %m: IN_BITS=%0d must be >= 1 (1 when bipolar)", IN_BITS);
        if (X_BITS < 2 || (IN_BIPOLAR == 0 && X_BITS < IN_BITS + (IN_SIGNED != 0 ? 0 : 1)))
            $error("argmax %m: X_BITS=%0d cannot hold the %0d-bit input", X_BITS, IN_BITS);
        if (VECTORS < 1) $error("argmax %m: VECTORS=%0d must be >= 1", VECTORS);
        if (OUT_BITS < 1 || OUT_BITS > 32 || (N - 1) >> OUT_BITS != 0)
            $error("argmax %m: OUT_BITS=%0d must be in 1..32 and hold N-1=%0d", OUT_BITS, N - 1);
    end

    // -- flow control: stage 3 only waits for the output register on a vector's last beat
    reg  v1, v2, ov;
    reg  vlast2;
    wire r3 = !vlast2 || !ov || m_axis_tready;
    wire r2 = !v2 || r3;
    wire r1 = !v1 || r2;
    wire take = s_axis_tvalid && r1;
    wire e2 = v1 && r2;
    wire e3 = v2 && r3;
    wire emit = e3 && vlast2;
    assign s_axis_tready = r1;
    assign m_axis_tvalid = ov;

    always @(posedge aclk) begin
        if (!aresetn) begin
            v1 <= 1'b0;
            v2 <= 1'b0;
            ov <= 1'b0;
        end else begin
            if (r1) v1 <= s_axis_tvalid;
            if (r2) v2 <= v1;
            if (emit) ov <= 1'b1;
            else if (m_axis_tready) ov <= 1'b0;
        end
    end

    // -- position of the accepted beat in its vector, index of its lane 0
    reg [BW-1:0]       beat;
    reg [OUT_BITS-1:0] base;
    reg [VW-1:0]       vec;
    always @(posedge aclk) begin
        if (!aresetn) begin
            beat <= {BW{1'b0}};
            base <= {OUT_BITS{1'b0}};
            vec  <= {VW{1'b0}};
        end else begin
            if (take) begin
                beat <= beat == B_LAST ? {BW{1'b0}} : beat + 1'b1;
                base <= beat == B_LAST ? {OUT_BITS{1'b0}} : base + STEP;
            end
            if (emit) vec <= vec == V_LAST ? {VW{1'b0}} : vec + 1'b1;
        end
    end

    // -- stage 1: the lanes, extended, at the leaves of the tournament
    reg  [OUT_BITS-1:0] base1;
    reg                 first1, vlast1;
    // tournament node n (1 = root, P2 + l = lane l): value at n*X_BITS, lane at n*OUT_BITS
    wire [2*P2*X_BITS-1:X_BITS]     tv;
    wire [2*P2*OUT_BITS-1:OUT_BITS] tl;
    always @(posedge aclk) begin
        if (take) begin
            base1  <= base;
            first1 <= beat == {BW{1'b0}};
            vlast1 <= beat == B_LAST;
        end
    end

    genvar l, n;
    generate
        for (l = 0; l < P2; l = l + 1) begin : g_leaf
            localparam [31:0] L32 = l;
            if (l < PE) begin : g_lane
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
                reg [X_BITS-1:0] x1;
                always @(posedge aclk) if (take) x1 <= xe;
                assign tv[(P2+l)*X_BITS +: X_BITS] = x1;
            end else begin : g_pad  // the smallest value, right of every lane: never wins
                assign tv[(P2+l)*X_BITS +: X_BITS] = {1'b1, {(X_BITS-1){1'b0}}};
            end
            assign tl[(P2+l)*OUT_BITS +: OUT_BITS] = L32[OUT_BITS-1:0];
        end
        // node n plays its children 2n (lower lanes) and 2n+1: the right one wins only
        // when strictly larger
        for (n = 1; n < P2; n = n + 1) begin : g_node
            wire [X_BITS-1:0] av = tv[2*n*X_BITS +: X_BITS];
            wire [X_BITS-1:0] bv = tv[(2*n+1)*X_BITS +: X_BITS];
            wire right = $signed(bv) > $signed(av);
            assign tv[n*X_BITS +: X_BITS] = right ? bv : av;
            assign tl[n*OUT_BITS +: OUT_BITS] = right ? tl[(2*n+1)*OUT_BITS +: OUT_BITS]
                                                     : tl[2*n*OUT_BITS +: OUT_BITS];
        end
    endgenerate

    // -- stage 2: the beat's best lane; stage 3: the vector's running best and the output
    reg [X_BITS-1:0]   bv2, rv;
    reg [OUT_BITS-1:0] bi2, ri, oidx;
    reg                first2, olast;
    wire better = first2 || $signed(bv2) > $signed(rv);
    always @(posedge aclk) begin
        if (e2) begin
            bv2    <= tv[X_BITS +: X_BITS];
            bi2    <= base1 + tl[OUT_BITS +: OUT_BITS];
            first2 <= first1;
            vlast2 <= vlast1;
        end
        if (e3 && better) begin
            rv <= bv2;
            ri <= bi2;
        end
        if (emit) begin
            oidx  <= better ? bi2 : ri;
            olast <= vec == V_LAST;
        end
    end
    assign m_axis_tdata = oidx;
    assign m_axis_tlast = olast;
endmodule

`default_nettype wire
