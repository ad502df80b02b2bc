// cmvm: constant-coefficient matrix-vector unit, multiplier-free and fully parallel (the
// latency strategy's dense layer).
//
// For every input vector x of COLS elements and every row n:
//     acc[n] = sum_t (-1)^NEG[n,t] * (src[K[n,t]] << SHIFT[n,t])   (mod 2^ACC_BITS)
// over the T_MAX term slots t of row n whose USED bit is set, where the sources are
// src[k] = x[k] - ZERO_POINT (k < COLS) and the PAIRS shared pairs src[COLS + j] =
// (src[PAIR_A[j]] << PAIR_SA[j]) +- (src[PAIR_B[j]] << PAIR_SB[j]) of earlier sources
// (inputs; with PAIR_LEVELS = 2 also pairs of inputs): the canonical-signed-digit terms of the weight matrix after common-subexpression sharing
// (archgen.units.cmvm.program()).  ACC_BITS holds the exact result range, so the modulo
// arithmetic is exact on every output.  Slot (n, t) is field n*T_MAX + t of TERM_K (K_BITS
// each), TERM_SHIFT (SHIFT_BITS each), TERM_NEG and TERM_USED (1 bit each); an unused slot
// is a constant zero (yosys removes its logic).  Each adder works at its node's exact
// width (NODE_BITS, from the terms' ranges) and extends its sum to ACC_BITS (with zeros
// when the sum is never negative, NODE_UNS: no sign bit).
//
// Streams: one input beat is the whole vector (element k at s_axis_tdata[k*IN_BITS +:
// IN_BITS]), one output beat all ROWS accumulators (row n at m_axis_tdata[n*ACC_BITS +:
// ACC_BITS]); a frame is VECTORS beats, m_axis_tlast on its last.  One beat per cycle.
//
// Pipeline: the input register (x - ZERO_POINT, XS_BITS signed; IN_REG = 0 leaves it out
// when the producer's output is a register and there is no zero point to subtract), the
// pair levels (levels 1 .. PAIR_LEVELS, when PAIRS > 0), the tree levels, the output
// register.  Tree
// level l (1 .. TREE, TREE levels take T_MAX slots to one node, ARITY at a time) node i
// sums up to ARITY nodes of level l-1 from node ARITY*i (the slots at level 0), in
// cmvm_node (hw/rtl/cmvm_node.v): NODE_ARGS says how many of them hold terms (1: it
// passes its first child; 2: a binary adder; 3: a ternary adder, hw/rtl/add3.v, a LUT per
// bit on Xilinx carry chains).  Every node carries the sign of its leftmost slot, so a
// node subtracts a child whose sign differs (NODE_SUB, no negation
// inside the tree).  When a row's slot 0 is negative (ROOT_NEG[n], every term of the row
// negative) one more level negates the root.  A register follows every level l that is a
// multiple of DEPTH below the last; the output register follows the last level.
//
// The output stage (REQUANT = 1, requantization folded into the pipeline; no negation
// level: the root r of row n's tree, its sum or the negated sum when ROOT_NEG[n], feeds
// it directly).  Per row, a second tree over RQ_T slots (RQ_TREE levels, ARITY at a time,
// the same sign rule; slot 0 is positive): slot t is (r << RQ_SHIFT[n,t]) (sign-extended
// to RW bits, subtracted when RQ_NEG[n,t]: the canonical signed digits of the row's
// multiplier) or, when RQ_CONST[n,t], the constant RQ_C[n]; then u = RQ_FLIP[n] ? ~z : z
// with z the bits RQ_S[n] .. RQ_S[n] + OUT_BITS - 1 of the stage's root v (wires): every
// node is computed modulo 2^(RQ_S[n] + OUT_BITS) at most (RQ_NODE_BITS).  The clamp is
// decided on r itself, beside the stage's tree (its flags follow the tree's registers):
// below = RQ_CLO[n] & ((r < RQ_TLO[n]) ^ RQ_FLIP[n]), above = RQ_CHI[n] & ((r < RQ_THI[n])
// ^ !RQ_FLIP[n]) (signed, on the bits of r above the threshold's trailing zeros), and
// y = below ? OUT_LO : above ? OUT_HI : u (one level), OUT_BITS bits per row into the
// output register.  archgen.units.cmvm_stage.stage() derives the fields so that y =
// clip((acc * M + B) >> s, lo, hi) exactly: the arithmetic is exact on the roots neither
// flag covers.  LEVELS = PL + TREE + RQ_TREE + 1 (PL: the pair levels).
//
// Latency: IN_REG + max(1, ceil(LEVELS / DEPTH)) registers.  All registers advance on one
// enable, !m_axis_tvalid || m_axis_tready (the pipeline stalls as a whole); s_axis_tready
// is that enable (combinational from m_axis_tready).
`default_nettype none

module cmvm #(
    parameter integer ROWS = 1,        // N: outputs per vector, >= 1
    parameter integer COLS = 1,        // K: inputs per vector, >= 1
    parameter integer VECTORS = 1,     // vectors (beats) per frame, >= 1
    parameter integer IN_BITS = 8,     // input element bits, >= 1 (1 when IN_BIPOLAR)
    parameter integer IN_SIGNED = 1,   // 1: inputs are two's complement, 0: unsigned
    parameter integer IN_BIPOLAR = 0,  // 1: inputs are bipolar (bit b means 2b-1)
    parameter integer ZERO_POINT = 0,  // subtracted from every input code (0 when bipolar)
    parameter integer XS_BITS = 9,     // signed bits of x - ZERO_POINT, 2..32, >= IN_BITS
    parameter integer IN_REG = 1,      // 1: the input register; 0: none (ZERO_POINT must be 0)
    parameter integer ACC_BITS = 16,   // accumulator (output element) bits, >= 1
    parameter integer DEPTH = 2,       // adder levels between pipeline registers, >= 1
    parameter integer ARITY = 2,       // children per tree node: 2, or 3 (add3 adders)
    parameter integer PAIRS = 0,       // shared pairs of input terms (sources COLS..), >= 0
    // the pair levels: 1, every pair over inputs; 2, pairs over pairs of inputs too
    // (DEPTH >= 2: both levels between the same registers)
    parameter integer PAIR_LEVELS = 1,
    parameter integer SRC_BITS = 9,    // signed bits of a source (input or pair), >= XS_BITS
    parameter integer T_MAX = 1,       // term slots per row, >= 1
    parameter integer K_BITS = 1,      // bits of a source index, >= 1, 2^K_BITS >= COLS+PAIRS
    parameter integer SHIFT_BITS = 1,  // bits of a TERM_SHIFT field, >= 1
    // pair j = (src[PAIR_A[j]] << PAIR_SA[j]) +- (src[PAIR_B[j]] << PAIR_SB[j]) (minus when
    // PAIR_NEG[j]), both sources earlier ones (< COLS + j; a pair one only with
    // PAIR_LEVELS = 2, and itself over inputs); one zero field of each when PAIRS = 0
    parameter [(PAIRS > 0 ? PAIRS : 1)*K_BITS-1:0] PAIR_A = 0,
    parameter [(PAIRS > 0 ? PAIRS : 1)*K_BITS-1:0] PAIR_B = 0,
    parameter [(PAIRS > 0 ? PAIRS : 1)*SHIFT_BITS-1:0] PAIR_SA = 0,
    parameter [(PAIRS > 0 ? PAIRS : 1)*SHIFT_BITS-1:0] PAIR_SB = 0,
    parameter [(PAIRS > 0 ? PAIRS : 1)-1:0] PAIR_NEG = 0,
    // each pair's bits (its exact range; 0: SRC_BITS): its adder works at these and
    // extends to SRC_BITS, with zeros when PAIR_UNS (the pair is never negative: its bits
    // are unsigned), else with its sign
    parameter integer PB_BITS = 5,     // bits of a PAIR_BITS field, 1..31
    parameter [(PAIRS > 0 ? PAIRS : 1)*PB_BITS-1:0] PAIR_BITS = 0,
    parameter [(PAIRS > 0 ? PAIRS : 1)-1:0] PAIR_UNS = 0,
    parameter [ROWS*T_MAX*K_BITS-1:0] TERM_K = 0,          // source of each slot, < COLS+PAIRS
    parameter [ROWS*T_MAX*SHIFT_BITS-1:0] TERM_SHIFT = 0,  // left shift of each slot
    parameter [ROWS*T_MAX-1:0] TERM_NEG = 0,   // 1: the slot is subtracted (0 when unused)
    parameter [ROWS*T_MAX-1:0] TERM_USED = 0,  // 1: the slot holds a term
    parameter [ROWS-1:0] ROOT_NEG = 0, // TERM_NEG of each row's slot 0 (its root's sign)
    parameter integer NODES = 1,       // nodes of a row's tree, all levels (checked)
    parameter integer NB_BITS = 5,     // bits of a NODE_BITS field, >= 1
    // the signed bits of node j of row n's tree at field n*NODES + j: an adder computes its
    // node at these bits (the range of the value it holds), sign-extended to ACC_BITS;
    // 0: ACC_BITS
    parameter [ROWS*NODES*NB_BITS-1:0] NODE_BITS = 0,
    // per node as NODE_BITS: the bits below which an add3 node's sum is its operands' OR
    // (at most one of them is nonzero there, and added), and the node's used children
    // (2 bits: 0 none, 1 it passes its first child, 2 a binary adder, 3 add3)
    parameter [ROWS*NODES*NB_BITS-1:0] NODE_LO = 0,
    parameter [ROWS*NODES*2-1:0] NODE_ARGS = 0,
    // per node: bit 0 set when its child b is subtracted, bit 1 its child c (a child's
    // sign differs from the first's)
    parameter [ROWS*NODES*2-1:0] NODE_SUB = 0,
    // per node: 1 when its value is never negative (NODE_BITS unsigned, zero-extended)
    parameter [ROWS*NODES-1:0] NODE_UNS = 0,
    // the output stage (see above); with REQUANT = 0 the RQ_* fields are ignored
    parameter integer REQUANT = 0,     // 1: the output stage, 0: the accumulators out
    parameter integer OUT_BITS = 8,    // output element bits with REQUANT, >= 1
    parameter integer RW = 16,         // bits of the stage's wires, >= OUT_BITS
    parameter integer RQ_T = 1,        // slots per row of the stage's tree, >= 1
    parameter integer RQ_SH_BITS = 1,  // bits of an RQ_SHIFT field, >= 1
    parameter [ROWS*RQ_T*RQ_SH_BITS-1:0] RQ_SHIFT = 0,  // the left shift of each digit slot
    parameter [ROWS*RQ_T-1:0] RQ_NEG = 0,    // 1: the slot is subtracted (0 when unused)
    parameter [ROWS*RQ_T-1:0] RQ_USED = 0,   // 1: the slot holds a digit or the constant
    parameter [ROWS*RQ_T-1:0] RQ_CONST = 0,  // 1: the slot is the row's constant RQ_C
    parameter [ROWS*RW-1:0] RQ_C = 0,        // each row's constant (RW bits, signed)
    parameter integer RQ_S_BITS = 1,   // bits of an RQ_S field, >= 1
    parameter [ROWS*RQ_S_BITS-1:0] RQ_S = 0, // each row's right shift
    // each row's truncated bits: a digit slot is floor((r << RQ_SHIFT) / 2^RQ_D)
    parameter [ROWS*RQ_SH_BITS-1:0] RQ_D = 0,
    parameter [ROWS-1:0] RQ_FLIP = 0,  // 1: the row's result is ~z (a negated multiplier)
    parameter [ROWS-1:0] RQ_CLO = 0,   // 1: u can be below OUT_LO (the compare exists)
    parameter [ROWS-1:0] RQ_CHI = 0,   // 1: u can be above OUT_HI
    // the clamp's thresholds on the root (ACC_BITS + 1 bits, signed; see above)
    parameter [ROWS*(ACC_BITS+1)-1:0] RQ_TLO = 0,
    parameter [ROWS*(ACC_BITS+1)-1:0] RQ_THI = 0,
    parameter integer RQ_NB_BITS = 5,  // bits of an RQ_NODE_BITS field, 1..31
    parameter [OUT_BITS-1:0] OUT_LO = 0,  // the smallest output code
    parameter [OUT_BITS-1:0] OUT_HI = 0,  // the largest output code
    parameter integer RQ_NODES = 1,    // nodes of a row's stage tree, all levels (checked)
    // the signed bits of node j of row n's stage tree at field n*RQ_NODES + j (as
    // NODE_BITS, sign-extended to RW; 0: RW)
    parameter [ROWS*RQ_NODES*RQ_NB_BITS-1:0] RQ_NODE_BITS = 0,
    parameter [ROWS*RQ_NODES*RQ_NB_BITS-1:0] RQ_NODE_LO = 0,  // as NODE_LO
    parameter [ROWS*RQ_NODES*2-1:0] RQ_NODE_ARGS = 0,         // as NODE_ARGS
    parameter [ROWS*RQ_NODES*2-1:0] RQ_NODE_SUB = 0,          // as NODE_SUB
    parameter [ROWS*RQ_NODES-1:0] RQ_NODE_UNS = 0             // as NODE_UNS
) (
    input  wire                       aclk,
    input  wire                       aresetn,
    input  wire [COLS*IN_BITS-1:0]    s_axis_tdata,
    input  wire                       s_axis_tvalid,
    output wire                       s_axis_tready,
    output wire [ROWS*(REQUANT != 0 ? OUT_BITS : ACC_BITS)-1:0] m_axis_tdata,
    output wire                       m_axis_tvalid,
    input  wire                       m_axis_tready,
    output wire                       m_axis_tlast
);
    function integer clog2;  // ceil(log2(v)), 0 for v <= 1
        input integer v;
        integer r;
        begin
            r = 0;
            while ((1 << r) < v) r = r + 1;
            clog2 = r;
        end
    endfunction

    function integer tzeros;  // trailing zero bits of v, at most ACC_BITS (v = 0: ACC_BITS)
        input [ACC_BITS:0] v;
        integer j;
        begin
            tzeros = ACC_BITS;
            for (j = ACC_BITS - 1; j >= 0; j = j - 1) if (v[j]) tzeros = j;
        end
    endfunction

    function integer levels_of;  // levels of a tree over v slots, ARITY children a node
        input integer v;
        integer c;
        begin
            levels_of = 0;
            for (c = v; c > 1; c = (c + ARITY - 1) / ARITY) levels_of = levels_of + 1;
        end
    endfunction

    localparam integer PL = PAIRS > 0 ? PAIR_LEVELS : 0;  // the pair levels (1 .. PL)
    localparam integer TREE = levels_of(T_MAX);  // adder tree levels (PL + 1 .. PL + TREE)
    localparam integer RQ = REQUANT != 0 ? 1 : 0;
    localparam integer OW = RQ != 0 ? OUT_BITS : ACC_BITS;  // output element bits
    localparam integer ACC_LV = TREE + (RQ == 0 && |ROOT_NEG ? 1 : 0);  // + root negation
    localparam integer RQ_TREE = levels_of(RQ_T);  // the stage's adder levels
    localparam integer LEVELS = PL + ACC_LV + (RQ != 0 ? RQ_TREE + 1 : 0);
    localparam integer NSRC = COLS + PAIRS;
    // registers: input (IN_REG), one after every DEPTH-th level below the last, output
    localparam integer MID = LEVELS > 0 ? (LEVELS - 1) / DEPTH : 0;
    localparam integer STAGES = MID + 1 + (IN_REG != 0 ? 1 : 0);
    localparam integer LW = ACC_BITS + SRC_BITS;  // a term before its truncation to ACC_BITS

    function integer count;  // nodes at tree level l (the negation level has one)
        input integer l;
        integer j, c;
        begin
            c = T_MAX;
            for (j = 1; j <= l; j = j + 1) c = j > TREE ? 1 : (c + ARITY - 1) / ARITY;
            count = c;
        end
    endfunction

    function integer offset;  // first node of level l in a row's node vector
        input integer l;
        integer j, s;
        begin
            s = 0;
            for (j = 0; j < l; j = j + 1) s = s + count(j);
            offset = s;
        end
    endfunction

    localparam integer NODES_C = offset(ACC_LV + 1);

    function integer rq_count;  // nodes at stage tree level l
        input integer l;
        integer j, c;
        begin
            c = RQ_T;
            for (j = 1; j <= l; j = j + 1) c = (c + ARITY - 1) / ARITY;
            rq_count = c;
        end
    endfunction

    function integer rq_offset;  // first node of stage level l in a row's node vector
        input integer l;
        integer j, s;
        begin
            s = 0;
            for (j = 0; j < l; j = j + 1) s = s + rq_count(j);
            rq_offset = s;
        end
    endfunction

    localparam integer RQ_NODES_C = rq_offset(RQ_TREE + 1);
    localparam integer RLW = ACC_BITS + RW;  // a stage digit before its truncation to RW

    function integer src_ok;  // source v may be an operand of pair j: an input, or (2
        input integer v, j;     // levels) an earlier pair of inputs
        begin
            src_ok = v < COLS ? 1 : 0;
            if (PAIR_LEVELS == 2 && v >= COLS && v < COLS + j)
                src_ok = {{(32-K_BITS){1'b0}}, PAIR_A[(v-COLS)*K_BITS +: K_BITS]} < COLS
                         && {{(32-K_BITS){1'b0}}, PAIR_B[(v-COLS)*K_BITS +: K_BITS]} < COLS ? 1 : 0;
        end
    endfunction

    localparam integer K_LAST = NSRC - 1;
    generate
        if ((1 << K_BITS) > NSRC) begin : g_check_k  // else every K_BITS field is an index
            integer s;
            initial begin
                for (s = 0; s < ROWS * T_MAX; s = s + 1)
                    if (TERM_K[s*K_BITS +: K_BITS] > K_LAST[K_BITS-1:0])
                        $error("cmvm %m: TERM_K of slot %0d is %0d, not below COLS+PAIRS=%0d", s,
                               TERM_K[s*K_BITS +: K_BITS], NSRC);
            end
        end
    endgenerate

    integer r;
    initial begin
        if (ROWS < 1) $error("cmvm %m: ROWS=%0d must be >= 1", ROWS);
        if (COLS < 1) $error("cmvm %m: COLS=%0d must be >= 1", COLS);
        if (VECTORS < 1) $error("cmvm %m: VECTORS=%0d must be >= 1", VECTORS);
        if (IN_BITS < 1 || (IN_BIPOLAR != 0 && IN_BITS != 1))
            $error("cmvm %m: IN_BITS=%0d must be >= 1 (1 when bipolar)", IN_BITS);
        if (IN_BIPOLAR != 0 && ZERO_POINT != 0)
            $error("cmvm %m: ZERO_POINT=%0d must be 0 with bipolar inputs", ZERO_POINT);
        if (XS_BITS < 2 || XS_BITS > 32 || XS_BITS < IN_BITS || (IN_SIGNED == 0 && XS_BITS == IN_BITS))
            $error("cmvm %m: XS_BITS=%0d must be in 2..32 and hold x - ZERO_POINT (IN_BITS=%0d)",
                   XS_BITS, IN_BITS);
        if (ACC_BITS < 1) $error("cmvm %m: ACC_BITS=%0d must be >= 1", ACC_BITS);
        if (IN_REG == 0 && ZERO_POINT != 0)
            $error("cmvm %m: IN_REG=0 needs ZERO_POINT=0, not %0d", ZERO_POINT);
        if (DEPTH < 1) $error("cmvm %m: DEPTH=%0d must be >= 1", DEPTH);
        if (ARITY != 2 && ARITY != 3) $error("cmvm %m: ARITY=%0d must be 2 or 3", ARITY);
        if (T_MAX < 1) $error("cmvm %m: T_MAX=%0d must be >= 1", T_MAX);
        if (K_BITS < 1 || (1 << K_BITS) < NSRC)
            $error("cmvm %m: K_BITS=%0d must be >= 1 and index COLS+PAIRS=%0d", K_BITS, NSRC);
        if (PAIRS < 0) $error("cmvm %m: PAIRS=%0d must be >= 0", PAIRS);
        if (SRC_BITS < XS_BITS) $error("cmvm %m: SRC_BITS=%0d must be >= XS_BITS", SRC_BITS);
        if (PAIRS > 0 && (PAIR_LEVELS < 1 || PAIR_LEVELS > 2 || (PAIR_LEVELS == 2 && DEPTH < 2)))
            $error("cmvm %m: PAIR_LEVELS=%0d must be 1, or 2 with DEPTH >= 2", PAIR_LEVELS);
        for (r = 0; r < PAIRS; r = r + 1)
            if (src_ok({{(32-K_BITS){1'b0}}, PAIR_A[r*K_BITS +: K_BITS]}, r) == 0
                    || src_ok({{(32-K_BITS){1'b0}}, PAIR_B[r*K_BITS +: K_BITS]}, r) == 0)
                $error("cmvm %m: pair %0d must be over inputs (or earlier pairs of them)", r);
        if (SHIFT_BITS < 1) $error("cmvm %m: SHIFT_BITS=%0d must be >= 1", SHIFT_BITS);
        if (NODES != NODES_C) $error("cmvm %m: NODES=%0d must be %0d", NODES, NODES_C);
        if (NB_BITS < 1 || NB_BITS > 31) $error("cmvm %m: NB_BITS=%0d must be in 1..31", NB_BITS);
        for (r = 0; r < ROWS * T_MAX; r = r + 1) begin
            if (TERM_NEG[r] && !TERM_USED[r])
                $error("cmvm %m: slot %0d is negative but unused", r);
        end
        for (r = 0; r < ROWS; r = r + 1)
            if (ROOT_NEG[r] != TERM_NEG[r*T_MAX])
                $error("cmvm %m: ROOT_NEG[%0d] must be TERM_NEG of the row's slot 0", r);
        if (RQ != 0) begin
            if (OUT_BITS < 1) $error("cmvm %m: OUT_BITS=%0d must be >= 1", OUT_BITS);
            if (RW < OUT_BITS) $error("cmvm %m: RW=%0d must be >= OUT_BITS=%0d", RW, OUT_BITS);
            if (RQ_T < 1) $error("cmvm %m: RQ_T=%0d must be >= 1", RQ_T);
            if (RQ_SH_BITS < 1 || RQ_S_BITS < 1)
                $error("cmvm %m: RQ_SH_BITS and RQ_S_BITS must be >= 1");
            if (RQ_NB_BITS < 1 || RQ_NB_BITS > 31)
                $error("cmvm %m: RQ_NB_BITS=%0d must be in 1..31", RQ_NB_BITS);
            if (RQ_NODES != RQ_NODES_C)
                $error("cmvm %m: RQ_NODES=%0d must be %0d", RQ_NODES, RQ_NODES_C);
            for (r = 0; r < ROWS * RQ_T; r = r + 1)
                if ((RQ_NEG[r] || RQ_CONST[r]) && !RQ_USED[r])
                    $error("cmvm %m: stage slot %0d is negative or constant but unused", r);
            for (r = 0; r < ROWS; r = r + 1) begin
                if (RQ_NEG[r*RQ_T])
                    $error("cmvm %m: stage slot 0 of row %0d must be positive", r);
                if ({{(32-RQ_S_BITS){1'b0}}, RQ_S[r*RQ_S_BITS +: RQ_S_BITS]} + OUT_BITS > RW)
                    $error("cmvm %m: RQ_S of row %0d must be <= RW - OUT_BITS", r);
            end
        end
    end

    reg  [STAGES-1:0] vld, lst;  // valid and tlast alongside the registers
    wire en = !vld[STAGES-1] || m_axis_tready;
    wire last_in;
    wire [STAGES-1:0] vld_in, lst_in;  // the registers' inputs: shifted by one
    generate
        if (STAGES > 1) begin : g_shift
            assign vld_in = {vld[STAGES-2:0], s_axis_tvalid};
            assign lst_in = {lst[STAGES-2:0], last_in};
        end else begin : g_one_stage
            assign vld_in = s_axis_tvalid;
            assign lst_in = last_in;
        end
    endgenerate

    assign s_axis_tready = en;
    assign m_axis_tvalid = vld[STAGES-1];
    assign m_axis_tlast  = lst[STAGES-1];

    generate
        if (VECTORS == 1) begin : g_one
            assign last_in = 1'b1;
        end else begin : g_count
            localparam integer VW = clog2(VECTORS);
            localparam integer VEND = VECTORS - 1;
            reg [VW-1:0] vec;
            wire take = s_axis_tvalid && en;
            assign last_in = vec == VEND[VW-1:0];
            always @(posedge aclk) begin
                if (!aresetn) vec <= {VW{1'b0}};
                else if (take) vec <= last_in ? {VW{1'b0}} : vec + 1'b1;
            end
        end
    endgenerate

    always @(posedge aclk) begin
        if (!aresetn) begin
            vld <= {STAGES{1'b0}};
            lst <= {STAGES{1'b0}};
        end else if (en) begin
            vld <= vld_in;
            lst <= lst_in;
        end
    end

    // the input register: x - ZERO_POINT, XS_BITS signed (or, IN_REG = 0, the input itself)
    localparam [XS_BITS-1:0] ZP = ZERO_POINT[XS_BITS-1:0];
    wire [COLS*XS_BITS-1:0] xs;
    genvar k;
    generate
        for (k = 0; k < COLS; k = k + 1) begin : g_in
            wire [IN_BITS-1:0] xr = s_axis_tdata[k*IN_BITS +: IN_BITS];
            wire [XS_BITS-1:0] xv;  // the code, extended
            if (IN_BIPOLAR != 0) begin : g_bip
                assign xv = xr[0] ? {{(XS_BITS-1){1'b0}}, 1'b1} : {XS_BITS{1'b1}};
            end else if (XS_BITS == IN_BITS) begin : g_same
                assign xv = xr;
            end else if (IN_SIGNED != 0) begin : g_sext
                assign xv = {{(XS_BITS-IN_BITS){xr[IN_BITS-1]}}, xr};
            end else begin : g_zext
                assign xv = {{(XS_BITS-IN_BITS){1'b0}}, xr};
            end
            if (IN_REG != 0) begin : g_reg
                reg [XS_BITS-1:0] q;
                always @(posedge aclk) begin
                    if (en) q <= ZERO_POINT != 0 ? xv - ZP : xv;
                end
                assign xs[k*XS_BITS +: XS_BITS] = q;
            end else begin : g_wire
                assign xs[k*XS_BITS +: XS_BITS] = xv;
            end
        end
    endgenerate

    // the sources (level PL): the inputs sign-extended to SRC_BITS, then the pairs;
    // registered when level PL is a register level
    // a source no slot reads (an input used only by pairs or with zero weights only) is
    // left unread; yosys removes its logic
    /* verilator lint_off UNUSEDSIGNAL */
    wire [NSRC*SRC_BITS-1:0] src;
    /* verilator lint_on UNUSEDSIGNAL */
    generate
        wire [COLS*SRC_BITS-1:0] xe;
        for (k = 0; k < COLS; k = k + 1) begin : g_ext
            if (SRC_BITS == XS_BITS) begin : g_same
                assign xe[k*SRC_BITS +: SRC_BITS] = xs[k*XS_BITS +: XS_BITS];
            end else begin : g_sext
                assign xe[k*SRC_BITS +: SRC_BITS] =
                    {{(SRC_BITS-XS_BITS){xs[k*XS_BITS+XS_BITS-1]}}, xs[k*XS_BITS +: XS_BITS]};
            end
        end
        if (PAIRS == 0) begin : g_nopairs
            assign src = xe;
        end else begin : g_pairs
            // the sources before their register (split_var: a pair reads earlier pairs)
            wire [NSRC*SRC_BITS-1:0] sc /* verilator split_var */;
            assign sc[COLS*SRC_BITS-1:0] = xe;
            for (k = 0; k < PAIRS; k = k + 1) begin : g_pair
                localparam integer PBF =
                    {{(32-PB_BITS){1'b0}}, PAIR_BITS[k*PB_BITS +: PB_BITS]};
                localparam integer PW = PBF < 1 || PBF > SRC_BITS ? SRC_BITS : PBF;
                // the bits above PW are sign extension: not read
                /* verilator lint_off UNUSEDSIGNAL */
                wire [SRC_BITS-1:0] pa = sc[PAIR_A[k*K_BITS +: K_BITS]*SRC_BITS +: SRC_BITS]
                                         << PAIR_SA[k*SHIFT_BITS +: SHIFT_BITS];
                wire [SRC_BITS-1:0] pb = sc[PAIR_B[k*K_BITS +: K_BITS]*SRC_BITS +: SRC_BITS]
                                         << PAIR_SB[k*SHIFT_BITS +: SHIFT_BITS];
                /* verilator lint_on UNUSEDSIGNAL */
                wire [PW-1:0] ps = PAIR_NEG[k] ? pa[PW-1:0] - pb[PW-1:0] : pa[PW-1:0] + pb[PW-1:0];
                if (PW == SRC_BITS) begin : g_full
                    assign sc[(COLS+k)*SRC_BITS +: SRC_BITS] = ps;
                end else begin : g_narrow
                    assign sc[(COLS+k)*SRC_BITS +: SRC_BITS] =
                        {{(SRC_BITS-PW){PAIR_UNS[k] ? 1'b0 : ps[PW-1]}}, ps};
                end
            end
            if (PL % DEPTH == 0 && LEVELS > PL) begin : g_reg
                reg [NSRC*SRC_BITS-1:0] q;
                always @(posedge aclk) if (en) q <= sc;
                assign src = q;
            end else begin : g_wire
                assign src = sc;
            end
        end
    endgenerate

    // per row: the leaves (tree level 0), the adder levels, the output register
    genvar n, l, i;
    generate
        for (n = 0; n < ROWS; n = n + 1) begin : g_row
            // level l node i at (offset(l) + i)*ACC_BITS (split_var: Verilator evaluates the
            // bit ranges apart, a level reading the one before is no combinational loop)
            // (a node under unused slots only is not read: a zero)
            /* verilator lint_off UNUSEDSIGNAL */
            wire [NODES_C*ACC_BITS-1:0] node /* verilator split_var */;
            /* verilator lint_on UNUSEDSIGNAL */
            // this row's fields (the nodes below select from these: yosys copies a
            // parameter on every select, a row's slice keeps elaboration linear in ROWS)
            localparam [T_MAX*K_BITS-1:0] RK = TERM_K[n*T_MAX*K_BITS +: T_MAX*K_BITS];
            localparam [T_MAX*SHIFT_BITS-1:0] RSH =
                TERM_SHIFT[n*T_MAX*SHIFT_BITS +: T_MAX*SHIFT_BITS];
            localparam [T_MAX-1:0] RUSED = TERM_USED[n*T_MAX +: T_MAX];
            localparam [NODES*NB_BITS-1:0] RNB = NODE_BITS[n*NODES*NB_BITS +: NODES*NB_BITS];
            localparam [NODES*NB_BITS-1:0] RLO = NODE_LO[n*NODES*NB_BITS +: NODES*NB_BITS];
            localparam [NODES*2-1:0] RARGS = NODE_ARGS[n*NODES*2 +: NODES*2];
            localparam [NODES*2-1:0] RSUB = NODE_SUB[n*NODES*2 +: NODES*2];
            localparam [NODES-1:0] RUNS = NODE_UNS[n*NODES +: NODES];
            for (i = 0; i < T_MAX; i = i + 1) begin : g_leaf
                if (RUSED[i]) begin : g_term
                    // (x << sh) mod 2^ACC_BITS, x sign-extended (a wire, not a function:
                    // yosys inlines a function call slowly); the bits above ACC_BITS are
                    // the multiples of 2^ACC_BITS the modulo drops
                    wire [SRC_BITS-1:0] x = src[RK[i*K_BITS +: K_BITS]*SRC_BITS +: SRC_BITS];
                    /* verilator lint_off UNUSEDSIGNAL */
                    wire [LW-1:0] w = {{ACC_BITS{x[SRC_BITS-1]}}, x} << RSH[i*SHIFT_BITS +: SHIFT_BITS];
                    /* verilator lint_on UNUSEDSIGNAL */
                    assign node[i*ACC_BITS +: ACC_BITS] = w[ACC_BITS-1:0];
                end else begin : g_zero
                    assign node[i*ACC_BITS +: ACC_BITS] = {ACC_BITS{1'b0}};
                end
            end
            for (l = 1; l <= ACC_LV; l = l + 1) begin : g_lvl
                // this level's and the one before's first node and count (evaluated once
                // per level: yosys spends long on constant function calls)
                localparam integer OFF = offset(l), OFFP = offset(l - 1);
                localparam integer CNT = count(l);
                for (i = 0; i < CNT; i = i + 1) begin : g_node
                    localparam integer A = (OFFP + ARITY * i) * ACC_BITS;  // child a (b, c next)
                    localparam integer O = (OFF + i) * ACC_BITS;  // this node
                    localparam integer NARGS = l > TREE ? 0 : {30'd0, RARGS[(OFF + i)*2 +: 2]};
                    localparam integer NA = NARGS < 1 ? 1 : NARGS;  // children read
                    localparam [1:0] NSUB = RSUB[(OFF + i)*2 +: 2];
                    localparam integer NBF =
                        {{(32-NB_BITS){1'b0}}, RNB[(OFF + i)*NB_BITS +: NB_BITS]};
                    localparam integer NW = NBF < 1 || NBF > ACC_BITS ? ACC_BITS : NBF;
                    wire [ACC_BITS-1:0] c;  // this node's value before its register
                    if (l > TREE) begin : g_neg  // the root negation level
                        wire [ACC_BITS-1:0] a = node[A +: ACC_BITS];
                        assign c = ROOT_NEG[n] ? {ACC_BITS{1'b0}} - a : a;
                    end else begin : g_sum
                        localparam integer LBF =
                            {{(32-NB_BITS){1'b0}}, RLO[(OFF + i)*NB_BITS +: NB_BITS]};
                        // its used children: a, then b and c (zeros when not used)
                        wire [3*ACC_BITS-1:0] ch;
                        assign ch[NA*ACC_BITS-1:0] = node[A +: NA*ACC_BITS];
                        if (NA < 3) begin : g_zero
                            assign ch[3*ACC_BITS-1:NA*ACC_BITS] = {(3-NA)*ACC_BITS{1'b0}};
                        end
                        cmvm_node #(.W(ACC_BITS), .NW(NW), .LO(LBF), .ARGS(NARGS),
                                    .SUB_B(NSUB[0] ? 1 : 0), .SUB_C(NSUB[1] ? 1 : 0),
                                    .UNS(RUNS[OFF + i] ? 1 : 0))
                            u_node (.a(ch[0 +: ACC_BITS]), .b(ch[ACC_BITS +: ACC_BITS]),
                                    .c(ch[2*ACC_BITS +: ACC_BITS]), .y(c));
                    end
                    if ((PL + l) % DEPTH == 0 && PL + l < LEVELS) begin : g_reg
                        reg [ACC_BITS-1:0] q;
                        always @(posedge aclk) if (en) q <= c;
                        assign node[O +: ACC_BITS] = q;
                    end else begin : g_wire
                        assign node[O +: ACC_BITS] = c;
                    end
                end
            end
            localparam integer ROOT = offset(ACC_LV) * ACC_BITS;
            if (RQ == 0) begin : g_acc  // the accumulators out
                reg [ACC_BITS-1:0] out_q;
                always @(posedge aclk) if (en) out_q <= node[ROOT +: ACC_BITS];
                assign m_axis_tdata[n*OW +: OW] = out_q;
            end else begin : g_rq  // the output stage: its tree, the shift and the clamp
                // unread in a row whose sum is always 0 (no digit slot: a constant output)
                /* verilator lint_off UNUSEDSIGNAL */
                wire [ACC_BITS-1:0] root = node[ROOT +: ACC_BITS];
                /* verilator lint_on UNUSEDSIGNAL */
                // stage level l node i at (rq_offset(l) + i)*RW (split_var: as node)
                /* verilator lint_off UNUSEDSIGNAL */  // as node
                wire [RQ_NODES_C*RW-1:0] rnode /* verilator split_var */;
                /* verilator lint_on UNUSEDSIGNAL */
                // this row's fields (as RK above)
                localparam [RQ_T*RQ_SH_BITS-1:0] QSH = RQ_SHIFT[n*RQ_T*RQ_SH_BITS +: RQ_T*RQ_SH_BITS];
                localparam integer QD = {{(32-RQ_SH_BITS){1'b0}}, RQ_D[n*RQ_SH_BITS +: RQ_SH_BITS]};
                localparam [RQ_T-1:0] QUSED = RQ_USED[n*RQ_T +: RQ_T];
                localparam [RQ_T-1:0] QCONST = RQ_CONST[n*RQ_T +: RQ_T];
                localparam [RQ_NODES*RQ_NB_BITS-1:0] QNB =
                    RQ_NODE_BITS[n*RQ_NODES*RQ_NB_BITS +: RQ_NODES*RQ_NB_BITS];
                localparam [RQ_NODES*RQ_NB_BITS-1:0] QLO =
                    RQ_NODE_LO[n*RQ_NODES*RQ_NB_BITS +: RQ_NODES*RQ_NB_BITS];
                localparam [RQ_NODES*2-1:0] QARGS = RQ_NODE_ARGS[n*RQ_NODES*2 +: RQ_NODES*2];
                localparam [RQ_NODES*2-1:0] QSUB = RQ_NODE_SUB[n*RQ_NODES*2 +: RQ_NODES*2];
                localparam [RQ_NODES-1:0] QUNS = RQ_NODE_UNS[n*RQ_NODES +: RQ_NODES];
                for (i = 0; i < RQ_T; i = i + 1) begin : g_leaf
                    if (QUSED[i] && QCONST[i]) begin : g_const
                        assign rnode[i*RW +: RW] = RQ_C[n*RW +: RW];
                    end else if (QUSED[i]) begin : g_digit
                        // floor((root << E) / 2^QD) mod 2^RW (QD: the row's truncated
                        // bits), root sign-extended (as the tree's leaves)
                        localparam integer E =
                            {{(32-RQ_SH_BITS){1'b0}}, QSH[i*RQ_SH_BITS +: RQ_SH_BITS]};
                        /* verilator lint_off UNUSEDSIGNAL */
                        wire [RLW-1:0] rx = {{RW{root[ACC_BITS-1]}}, root};
                        wire [RLW-1:0] w;
                        /* verilator lint_on UNUSEDSIGNAL */
                        if (E >= QD) begin : g_left
                            assign w = rx << (E - QD);
                        end else begin : g_right  // a floor: the low bits are dropped
                            assign w = $signed(rx) >>> (QD - E);
                        end
                        assign rnode[i*RW +: RW] = w[RW-1:0];
                    end else begin : g_zero
                        assign rnode[i*RW +: RW] = {RW{1'b0}};
                    end
                end
                for (l = 1; l <= RQ_TREE; l = l + 1) begin : g_lvl
                    localparam integer OFF = rq_offset(l), OFFP = rq_offset(l - 1);  // as above
                    localparam integer CNT = rq_count(l);
                    for (i = 0; i < CNT; i = i + 1) begin : g_node
                        localparam integer A = (OFFP + ARITY * i) * RW;  // child a (b, c next)
                        localparam integer O = (OFF + i) * RW;  // this node
                        localparam integer NARGS = {30'd0, QARGS[(OFF + i)*2 +: 2]};
                        localparam integer NA = NARGS < 1 ? 1 : NARGS;  // children read
                        localparam [1:0] NSUB = QSUB[(OFF + i)*2 +: 2];
                        localparam integer NBF = {{(32-RQ_NB_BITS){1'b0}},
                            QNB[(OFF + i)*RQ_NB_BITS +: RQ_NB_BITS]};
                        localparam integer NW = NBF < 1 || NBF > RW ? RW : NBF;
                        localparam integer LBF = {{(32-RQ_NB_BITS){1'b0}},
                            QLO[(OFF + i)*RQ_NB_BITS +: RQ_NB_BITS]};
                        wire [3*RW-1:0] ch;  // as the tree's
                        assign ch[NA*RW-1:0] = rnode[A +: NA*RW];
                        if (NA < 3) begin : g_zero
                            assign ch[3*RW-1:NA*RW] = {(3-NA)*RW{1'b0}};
                        end
                        wire [RW-1:0] c;
                        cmvm_node #(.W(RW), .NW(NW), .LO(LBF), .ARGS(NARGS),
                                    .SUB_B(NSUB[0] ? 1 : 0), .SUB_C(NSUB[1] ? 1 : 0),
                                    .UNS(QUNS[OFF + i] ? 1 : 0))
                            u_node (.a(ch[0 +: RW]), .b(ch[RW +: RW]), .c(ch[2*RW +: RW]),
                                    .y(c));
                        if ((PL + TREE + l) % DEPTH == 0 && PL + TREE + l < LEVELS) begin : g_reg
                            reg [RW-1:0] q;
                            always @(posedge aclk) if (en) q <= c;
                            assign rnode[O +: RW] = q;
                        end else begin : g_wire
                            assign rnode[O +: RW] = c;
                        end
                    end
                end
                // the clamp's flags (bit 0 below, bit 1 above), from the root beside the
                // stage's tree, registered where the tree is: flag level l at 2*l
                localparam [ACC_BITS:0] TLO = RQ_TLO[n*(ACC_BITS+1) +: ACC_BITS+1];
                localparam [ACC_BITS:0] THI = RQ_THI[n*(ACC_BITS+1) +: ACC_BITS+1];
                localparam integer JLO = tzeros(TLO), JHI = tzeros(THI);
                /* verilator lint_off UNUSEDSIGNAL */  // the bits below a threshold's zeros
                wire [ACC_BITS:0] rext = {root[ACC_BITS-1], root};
                /* verilator lint_on UNUSEDSIGNAL */
                wire lt_lo = $signed(rext[ACC_BITS:JLO]) < $signed(TLO[ACC_BITS:JLO]);
                wire lt_hi = $signed(rext[ACC_BITS:JHI]) < $signed(THI[ACC_BITS:JHI]);
                wire [2*RQ_TREE+1:0] flag;
                assign flag[1:0] = {RQ_CHI[n] && (lt_hi ^ !RQ_FLIP[n]),
                                    RQ_CLO[n] && (lt_lo ^ RQ_FLIP[n])};
                for (l = 1; l <= RQ_TREE; l = l + 1) begin : g_flag
                    if ((PL + TREE + l) % DEPTH == 0 && PL + TREE + l < LEVELS) begin : g_reg
                        reg [1:0] q;
                        always @(posedge aclk) if (en) q <= flag[2*l-2 +: 2];
                        assign flag[2*l +: 2] = q;
                    end else begin : g_wire
                        assign flag[2*l +: 2] = flag[2*l-2 +: 2];
                    end
                end
                // the clamp (level LEVELS): u = +-(v >>> SH) at OUT_BITS bits, or a bound
                localparam integer SH = {{(32-RQ_S_BITS){1'b0}}, RQ_S[n*RQ_S_BITS +: RQ_S_BITS]};
                // the bits below SH are shifted out, those above SH + OUT_BITS never needed
                /* verilator lint_off UNUSEDSIGNAL */
                localparam integer V = rq_offset(RQ_TREE) * RW;  // the stage's root
                wire [RW-1:0] v = rnode[V +: RW];
                /* verilator lint_on UNUSEDSIGNAL */
                wire [OUT_BITS-1:0] z = v[SH +: OUT_BITS];
                wire [OUT_BITS-1:0] u = RQ_FLIP[n] ? ~z : z;
                wire below = flag[2*RQ_TREE], above = flag[2*RQ_TREE+1];
                reg [OUT_BITS-1:0] out_q;
                always @(posedge aclk)
                    if (en) out_q <= below ? OUT_LO : above ? OUT_HI : u;
                assign m_axis_tdata[n*OW +: OW] = out_q;
            end
        end
    endgenerate
endmodule

`default_nettype wire
