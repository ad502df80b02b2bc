// argmax: indices of the K largest elements of each vector of N elements, largest first,
// the lower index first among equal elements (K = 1: the argmax, the first index on
// ties; K > 1: the Indices of ONNX TopK), PE elements per input beat, one index per
// output beat, K output beats per vector.
//
// A frame holds VECTORS vectors (N/PE beats each) and gives VECTORS*K output beats;
// m_axis_tlast marks the last.  Elements compare as signed X_BITS-bit values.
//
// Pipeline: 1 registered input; 2 the beat's best M = min(K, PE) lanes, sorted, with
// their indices (M = 1: a tournament tree over the lanes, the lower lane winning ties;
// M > 1: each lane's rank among the beat's lanes, a lane going before a higher lane
// unless strictly smaller); 3 the vector's sorted list of its K best elements so far,
// merged with the beat's M (a beat's element goes before a listed one only when strictly
// larger: listed elements have lower indices, so a later element never replaces an equal
// one), and, on the vector's last beat, the output buffer: the K indices, shifted out
// one per beat, best first.  One input beat per cycle while the output keeps up: a
// vector takes max(N/PE, K) cycles (the output buffer drains while the next vector
// streams in).  s_axis_tready is combinational from m_axis_tready (the stages collapse
// bubbles).
`default_nettype none

module argmax #(
    parameter integer PE         = 1,  // lanes (elements) per input beat, >= 1, divides N
    parameter integer IN_BITS    = 8,  // input element bits, >= 1 (1 when IN_BIPOLAR)
    parameter integer IN_SIGNED  = 1,  // 1: input is two's complement, 0: unsigned
    parameter integer IN_BIPOLAR = 0,  // 1: input bit b is the code 2b-1 (IN_BITS == 1)
    parameter integer X_BITS     = 9,  // signed compare width, >= 2, >= IN_BITS (+1 unsigned)
    parameter integer N          = 2,  // elements per vector, >= 1
    parameter integer K          = 1,  // indices (output beats) per vector, 1..N
    parameter integer VECTORS    = 1,  // vectors per frame, >= 1
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
    localparam integer M = K < PE ? K : PE;  // lanes of a beat that can enter the list
    localparam integer T = K + M;  // sources of the merge: the list, then the beat's best
    localparam integer BW = BEATS > 1 ? $clog2(BEATS) : 1;
    localparam integer VW = VECTORS > 1 ? $clog2(VECTORS) : 1;
    localparam integer KW = K > 1 ? $clog2(K) : 1;
    localparam integer PW = PE > 1 ? $clog2(PE) : 1;  // a lane's rank among the beat's
    localparam integer P2 = 1 << (PE > 1 ? $clog2(PE) : 0);  // tournament leaves
    localparam [31:0] B_LAST32 = BEATS - 1;
    localparam [31:0] V_LAST32 = VECTORS - 1;
    localparam [31:0] K_LAST32 = K - 1;
    localparam [31:0] K_PEN32 = K > 1 ? K - 2 : 0;
    localparam [31:0] PE32 = PE;
    localparam [BW-1:0] B_LAST = B_LAST32[BW-1:0];
    localparam [VW-1:0] V_LAST = V_LAST32[VW-1:0];
    localparam [KW-1:0] K_LAST = K_LAST32[KW-1:0];
    localparam [KW-1:0] K_PEN = K_PEN32[KW-1:0];  // the output beat before the last
    localparam [OUT_BITS-1:0] STEP = PE32[OUT_BITS-1:0];

    initial begin
        if (PE < 1 || N < 1 || N % PE != 0)
            $error("argmax %m: PE=%0d must be >= 1 and divide N=%0d", PE, N);
        if (IN_BITS < 1 || (IN_BIPOLAR != 0 && IN_BITS != 1))
            $error("argmax %m: IN_BITS=%0d must be >= 1 (1 when bipolar)", IN_BITS);
        if (X_BITS < 2 || (IN_BIPOLAR == 0 && X_BITS < IN_BITS + (IN_SIGNED != 0 ? 0 : 1)))
            $error("argmax %m: X_BITS=%0d cannot hold the %0d-bit input", X_BITS, IN_BITS);
        if (K < 1 || K > N) $error("argmax %m: K=%0d must be in 1..N=%0d", K, N);
        if (VECTORS < 1) $error("argmax %m: VECTORS=%0d must be >= 1", VECTORS);
        if (OUT_BITS < 1 || OUT_BITS > 32 || (N - 1) >> OUT_BITS != 0)
            $error("argmax %m: OUT_BITS=%0d must be in 1..32 and hold N-1=%0d", OUT_BITS, N - 1);
    end

    // -- flow control: stage 3 only waits for the output buffer on a vector's last beat,
    // until the buffer's last beat leaves
    reg  v1, v2, ov;
    reg  vlast2;
    reg  [KW-1:0] opos;  // output beat of the buffered vector on m_axis
    wire obeat = ov && m_axis_tready;
    wire ofree = !ov || (m_axis_tready && opos == K_LAST);
    wire r3 = !vlast2 || ofree;
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
            v1   <= 1'b0;
            v2   <= 1'b0;
            ov   <= 1'b0;
            opos <= {KW{1'b0}};
        end else begin
            if (r1) v1 <= s_axis_tvalid;
            if (r2) v2 <= v1;
            if (emit) ov <= 1'b1;
            else if (ofree) ov <= 1'b0;
            if (emit) opos <= {KW{1'b0}};
            else if (obeat) opos <= opos == K_LAST ? {KW{1'b0}} : opos + 1'b1;
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

    // -- stage 1: the lanes, extended
    wire [PE*X_BITS-1:0] xe;  // lane l at l*X_BITS: sign-, zero- or bipolar-extended
    reg  [PE*X_BITS-1:0] x1;
    reg  [OUT_BITS-1:0]  base1;
    reg                  first1, vlast1;
    always @(posedge aclk) begin
        if (take) begin
            x1     <= xe;
            base1  <= base;
            first1 <= beat == {BW{1'b0}};
            vlast1 <= beat == B_LAST;
        end
    end

    genvar l, n, m, s, i, j;
    generate
        for (l = 0; l < PE; l = l + 1) begin : g_ext
            wire [IN_BITS-1:0] x = s_axis_tdata[l*IN_BITS +: IN_BITS];
            if (IN_BIPOLAR != 0) begin : g_bip
                assign xe[l*X_BITS +: X_BITS] = {{(X_BITS-1){~x[0]}}, 1'b1};
            end else if (IN_SIGNED == 0) begin : g_uns
                assign xe[l*X_BITS +: X_BITS] = {{(X_BITS-IN_BITS){1'b0}}, x};
            end else if (IN_BITS == 1) begin : g_one
                assign xe[l*X_BITS +: X_BITS] = {X_BITS{x[0]}};
            end else begin : g_sgn
                assign xe[l*X_BITS +: X_BITS] = {{(X_BITS-IN_BITS+1){x[IN_BITS-1]}}, x[IN_BITS-2:0]};
            end
        end
    endgenerate

    // -- stage 2: the beat's best M lanes, sorted: values at s*X_BITS, indices at s*OUT_BITS
    wire [M*X_BITS-1:0]   cv;
    wire [M*OUT_BITS-1:0] ci;
    reg  [M*X_BITS-1:0]   cv2;
    reg  [M*OUT_BITS-1:0] ci2;
    reg                   first2;
    always @(posedge aclk) begin
        if (e2) begin
            cv2    <= cv;
            ci2    <= ci;
            first2 <= first1;
            vlast2 <= vlast1;
        end
    end

    generate
        if (M == 1) begin : g_tree
            // tournament node n (1 = root, P2 + l = lane l): value at n*X_BITS, lane at
            // n*OUT_BITS; node n plays its children 2n (lower lanes) and 2n+1: the right
            // one wins only when strictly larger
            wire [2*P2*X_BITS-1:X_BITS]     tv;
            wire [2*P2*OUT_BITS-1:OUT_BITS] tl;
            for (l = 0; l < P2; l = l + 1) begin : g_leaf
                localparam [31:0] L32 = l;
                if (l < PE) begin : g_lane
                    assign tv[(P2+l)*X_BITS +: X_BITS] = x1[l*X_BITS +: X_BITS];
                end else begin : g_pad  // the smallest value, right of every lane: never wins
                    assign tv[(P2+l)*X_BITS +: X_BITS] = {1'b1, {(X_BITS-1){1'b0}}};
                end
                assign tl[(P2+l)*OUT_BITS +: OUT_BITS] = L32[OUT_BITS-1:0];
            end
            for (n = 1; n < P2; n = n + 1) begin : g_node
                wire [X_BITS-1:0] av = tv[2*n*X_BITS +: X_BITS];
                wire [X_BITS-1:0] bv = tv[(2*n+1)*X_BITS +: X_BITS];
                wire right = $signed(bv) > $signed(av);
                assign tv[n*X_BITS +: X_BITS] = right ? bv : av;
                assign tl[n*OUT_BITS +: OUT_BITS] = right ? tl[(2*n+1)*OUT_BITS +: OUT_BITS]
                                                         : tl[2*n*OUT_BITS +: OUT_BITS];
            end
            assign cv = tv[X_BITS +: X_BITS];
            assign ci = base1 + tl[OUT_BITS +: OUT_BITS];
        end else begin : g_sort
            // ahead[l*PE + q]: lane q goes before lane l (larger, or equal and lower);
            // one comparator per pair of lanes, the other direction its complement
            wire [PE*PE-1:0] ahead;
            wire [PE*(PW+1)-1:0] rank;  // lane l's place in the beat, at l*(PW+1)
            for (l = 0; l < PE; l = l + 1) begin : g_lane
                for (m = 0; m < PE; m = m + 1) begin : g_vs
                    if (m < l) begin : g_lower
                        assign ahead[l*PE+m] = $signed(x1[m*X_BITS +: X_BITS])
                                               >= $signed(x1[l*X_BITS +: X_BITS]);
                    end else if (m > l) begin : g_higher
                        assign ahead[l*PE+m] = !ahead[m*PE+l];
                    end else begin : g_self
                        assign ahead[l*PE+m] = 1'b0;
                    end
                end
                assign rank[l*(PW+1) +: PW+1] = count(ahead[l*PE +: PE]);
            end
            // slot s takes the lane of rank s (exactly one)
            reg [M*X_BITS-1:0]   sv;
            reg [M*OUT_BITS-1:0] sl;
            integer ss, ll;
            always @* begin
                sv = {(M*X_BITS){1'b0}};
                sl = {(M*OUT_BITS){1'b0}};
                for (ss = 0; ss < M; ss = ss + 1)
                    for (ll = 0; ll < PE; ll = ll + 1)
                        if (rank[ll*(PW+1) +: PW+1] == ss[PW:0]) begin
                            sv[ss*X_BITS +: X_BITS] = sv[ss*X_BITS +: X_BITS]
                                                      | x1[ll*X_BITS +: X_BITS];
                            sl[ss*OUT_BITS +: OUT_BITS] = sl[ss*OUT_BITS +: OUT_BITS]
                                                          | ll[OUT_BITS-1:0];
                        end
            end
            assign cv = sv;
            for (s = 0; s < M; s = s + 1) begin : g_index
                assign ci[s*OUT_BITS +: OUT_BITS] = base1 + sl[s*OUT_BITS +: OUT_BITS];
            end
        end
    endgenerate

    function [PW:0] count;  // ones in v
        input [PE-1:0] v;
        integer b;
        begin
            count = {(PW+1){1'b0}};
            for (b = 0; b < PE; b = b + 1) count = count + {{PW{1'b0}}, v[b]};
        end
    endfunction

    // -- stage 3: the vector's K best so far (slot i: value, index, valid; valid slots
    // first), merged with the beat's M; an empty list on the vector's first beat.  Both
    // lists are sorted, so "candidate j strictly above slot i" holds for a prefix of the
    // candidates and fails for a prefix of the valid slots: slot i lands at i + (the
    // candidates above it), candidate j at j + (the valid slots not below it).  Only the
    // pairs with i + j < K can decide a place < K: one comparator each.
    function integer pair;  // the comparator of slot si and candidate cj (si + cj < K)
        input integer si, cj;
        integer r;
        begin
            pair = cj;
            for (r = 0; r < si; r = r + 1) pair = pair + (K - r < M ? K - r : M);
        end
    endfunction
    localparam integer PAIRS = pair(K, 0);

    reg  [K*X_BITS-1:0]   rv;
    reg  [K*OUT_BITS-1:0] ri;
    reg  [K-1:0]          rval;
    wire [K-1:0]          lval = first2 ? {K{1'b0}} : rval;
    wire [PAIRS-1:0]      above;  // above[pair(i, j)]: candidate j > slot i's value
    wire [K*T-1:0]        sel;    // sel[s*T + t]: source t (slot t < K, candidate t-K) -> slot s
    wire [T*X_BITS-1:0]   srcv = {cv2, rv};
    wire [T*OUT_BITS-1:0] srci = {ci2, ri};
    generate
        for (i = 0; i < K; i = i + 1) begin : g_slot
            for (j = 0; j < M && i + j < K; j = j + 1) begin : g_cand
                assign above[pair(i, j)] = $signed(cv2[j*X_BITS +: X_BITS])
                                           > $signed(rv[i*X_BITS +: X_BITS]);
            end
        end
        for (s = 0; s < K; s = s + 1) begin : g_dest
            for (i = 0; i < K; i = i + 1) begin : g_from_slot
                if (i <= s && s - i <= M) begin : g_can
                    localparam integer D = s - i;  // the candidates above slot i
                    wire lo = D == 0 ? 1'b1 : above[pair(i, D > 0 ? D - 1 : 0)];
                    wire hi = D == M ? 1'b1 : !above[pair(i, D < M ? D : 0)];
                    assign sel[s*T + i] = lval[i] && lo && hi;
                end else begin : g_cannot
                    assign sel[s*T + i] = 1'b0;
                end
            end
            for (j = 0; j < M; j = j + 1) begin : g_from_cand
                if (j <= s) begin : g_can
                    localparam integer D = s - j;  // the valid slots not below candidate j
                    localparam integer DL = D > 0 ? D - 1 : 0;
                    wire lo = D == 0 ? 1'b1 : lval[DL] && !above[pair(DL, j)];
                    wire hi = !(lval[D] && !above[pair(D, j)]);
                    assign sel[s*T + K + j] = lo && hi;
                end else begin : g_cannot
                    assign sel[s*T + K + j] = 1'b0;
                end
            end
        end
    endgenerate

    // slot s: its one selected source; slot s itself unless another is selected (an
    // invalid slot's value is never used), so that K = 1 is one 2:1 multiplexer
    reg [K*X_BITS-1:0]   mv;
    reg [K*OUT_BITS-1:0] mi;
    reg [K-1:0]          moved, mval;
    integer ms, mt;
    always @* begin
        mv = {(K*X_BITS){1'b0}};
        mi = {(K*OUT_BITS){1'b0}};
        moved = {K{1'b0}};
        for (ms = 0; ms < K; ms = ms + 1) begin
            for (mt = 0; mt < T; mt = mt + 1)
                if (mt != ms && sel[ms*T + mt]) begin
                    mv[ms*X_BITS +: X_BITS] = mv[ms*X_BITS +: X_BITS] | srcv[mt*X_BITS +: X_BITS];
                    mi[ms*OUT_BITS +: OUT_BITS] = mi[ms*OUT_BITS +: OUT_BITS]
                                                  | srci[mt*OUT_BITS +: OUT_BITS];
                    moved[ms] = 1'b1;
                end
            if (!moved[ms]) begin
                mv[ms*X_BITS +: X_BITS] = srcv[ms*X_BITS +: X_BITS];
                mi[ms*OUT_BITS +: OUT_BITS] = srci[ms*OUT_BITS +: OUT_BITS];
            end
        end
        for (ms = 0; ms < K; ms = ms + 1) mval[ms] = moved[ms] || sel[ms*T + ms];
    end

    // -- the output buffer: the list's indices, slot 0 on m_axis_tdata
    reg [K*OUT_BITS-1:0] obuf;
    reg                  ofl;   // the buffered vector is the frame's last
    reg                  otl;   // m_axis_tlast: the frame's last vector, its last index
    always @(posedge aclk) begin
        if (e3) begin
            rv   <= mv;
            ri   <= mi;
            rval <= mval;
        end
        if (emit) begin
            obuf <= mi;
            ofl  <= vec == V_LAST;
            otl  <= vec == V_LAST && K == 1;
        end else if (obeat && K > 1) begin
            obuf <= obuf >> OUT_BITS;
            otl  <= ofl && opos == K_PEN;
        end
    end
    assign m_axis_tdata = obuf[OUT_BITS-1:0];
    assign m_axis_tlast = otl;
endmodule

`default_nettype wire
