`default_nettype none

// One node of cmvm's trees: y = a +- b +- c at the node's NW bits (its exact range),
// extended to W: with zeros when UNS (the value is never negative, NW unsigned bits), else
// with its sign.  ARGS 0 or 1: y = a (the node passes its one child, or a zero);
// 2: a binary adder (b subtracted when SUB_B), yosys finds the wires below its operands'
// trailing zeros; 3: add3 over bits LO.. (NW > LO), the bits below LO being the
// operands' OR (at most one of them is nonzero there, and it is added).
module cmvm_node #(
    parameter integer W = 16,     // the tree's wires, >= 1
    parameter integer NW = 16,    // the node's bits, 1..W
    parameter integer LO = 0,     // ARGS = 3: the wire bits, 0..NW-1
    parameter integer ARGS = 2,   // 0 .. 3, see above
    parameter integer SUB_B = 0,  // 1: b is subtracted
    parameter integer SUB_C = 0,  // 1: c is subtracted
    parameter integer UNS = 0     // 1: the value is never negative (zero-extended)
) (
    // bits above NW are extension copies; b unread with ARGS < 2, c with ARGS < 3
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [W-1:0] a,
    input  wire [W-1:0] b,
    input  wire [W-1:0] c,
    /* verilator lint_on UNUSEDSIGNAL */
    output wire [W-1:0] y
);
    initial begin
        if (NW < 1 || NW > W) $error("cmvm_node %m: NW=%0d must be in 1..W=%0d", NW, W);
        if (ARGS == 3 && (LO < 0 || LO >= NW))
            $error("cmvm_node %m: LO=%0d must be in 0..NW-1=%0d", LO, NW - 1);
    end

    generate
        if (ARGS < 2) begin : g_pass
            assign y = a;
        end else begin : g_add
            wire [NW-1:0] v;
            if (ARGS == 2) begin : g_two
                assign v = SUB_B != 0 ? a[NW-1:0] - b[NW-1:0] : a[NW-1:0] + b[NW-1:0];
            end else begin : g_three
                wire [NW-LO-1:0] s;
                add3 #(.W(NW - LO), .SUB_B(SUB_B), .SUB_C(SUB_C))
                    u_add (.a(a[NW-1:LO]), .b(b[NW-1:LO]), .c(c[NW-1:LO]), .y(s));
                if (LO > 0) begin : g_low  // one operand's bits: wires
                    assign v = {s, a[LO-1:0] | b[LO-1:0] | c[LO-1:0]};
                end else begin : g_all
                    assign v = s;
                end
            end
            if (NW == W) begin : g_full
                assign y = v;
            end else if (UNS != 0) begin : g_zext
                assign y = {{(W-NW){1'b0}}, v};
            end else begin : g_ext
                assign y = {{(W-NW){v[NW-1]}}, v};
            end
        end
    endgenerate
endmodule

`default_nettype wire
