// add3: a ternary adder, y = a +- b +- c (mod 2^W), combinational.
//
// On Xilinx 7-series and UltraScale(+) a three-operand adder costs what a two-operand one
// does: one LUT per bit on the carry chain.  Per bit i one LUT6_2 computes the 3:2
// compression of a[i], b[i], c[i]: O5 = maj(a, b, c), the carry-save bit of weight 2^(i+1),
// and O6 = a ^ b ^ c ^ cs[i], the propagate of the sum of the xor bits and the carry-save
// bits one place up (cs[i] is bit i-1's O5).  The carry chain adds them: DI = cs[i] (the
// generate, equal to the xor bit whenever the propagate is 0).  A subtracted operand is
// inverted inside the LUT (-v = ~v + 1): the +1s enter as cs[0] and the chain's carry in.
// Binary adder trees take twice the LUTs for the same sums; yosys and Vivado do not build
// this from `a + b + c` (yosys makes a carry-save array of LUT3s and a binary adder).
//
// Under `SYNTHESIS (defined by yosys and Vivado) the cell is that netlist of LUT6_2 and
// CARRY4 primitives (Vivado retargets CARRY4 to CARRY8 on UltraScale); simulators and lint
// see the arithmetic it computes.  tests/test_cell_add3.py simulates the primitive netlist
// (with yosys's Xilinx cell models) against that arithmetic, every operand value for small
// widths.  Define ARCHGEN_GENERIC_ADDERS to synthesize the arithmetic instead (another
// vendor's tools: Intel's ALMs build ternary adders from `a + b + c` themselves).
`default_nettype none

module add3 #(
    parameter integer W = 8,         // operand and result bits, >= 1
    parameter integer SUB_B = 0,     // 1: b is subtracted
    parameter integer SUB_C = 0      // 1: c is subtracted
) (
    input  wire [W-1:0] a,
    input  wire [W-1:0] b,
    input  wire [W-1:0] c,           // a constant is fine: it costs the same LUT per bit
    output wire [W-1:0] y
);
    initial begin
        if (W < 1) $error("add3 %m: W=%0d must be >= 1", W);
        if (SUB_B != 0 && SUB_B != 1) $error("add3 %m: SUB_B=%0d must be 0 or 1", SUB_B);
        if (SUB_C != 0 && SUB_C != 1) $error("add3 %m: SUB_C=%0d must be 0 or 1", SUB_C);
    end

`ifdef SYNTHESIS
`ifndef ARCHGEN_GENERIC_ADDERS
    // the truth table of bit i's LUT6_2 (I5 = 1: O6 from the upper 32 entries, O5 from the
    // lower): inputs I0 = a, I1 = b, I2 = c, I3 = cs[i]; b and c inverted when subtracted
    function [63:0] table6;
        input integer unused;  // (a constant function needs an input)
        integer e;
        reg x, u, v, q;
        begin
            table6 = 64'd0;
            for (e = 0; e < 32; e = e + 1) begin
                x = e[0];
                u = e[1] ^ (SUB_B != 0);
                v = e[2] ^ (SUB_C != 0);
                q = e[3];
                table6[e] = (x & u) | (x & v) | (u & v);
                table6[32 + e] = x ^ u ^ v ^ q;
            end
        end
    endfunction

    localparam integer NEG = SUB_B + SUB_C;  // the +1s of the inverted operands
    localparam integer N4 = (W + 3) / 4;     // CARRY4 cells
    wire [W:0] cs;                           // cs[i]: bit i-1's carry-save bit
    wire [4*N4-1:0] s, di, o;
    wire [N4:0] co;
    assign cs[0] = NEG >= 1;
    assign co[0] = 1'b0;
    genvar i;
    generate
        for (i = 0; i < W; i = i + 1) begin : g_bit
            LUT6_2 #(.INIT(table6(0))) lut (
                .O6(s[i]), .O5(cs[i+1]), .I0(a[i]), .I1(b[i]), .I2(c[i]), .I3(cs[i]),
                .I4(1'b0), .I5(1'b1));
            assign di[i] = cs[i];
        end
        for (i = W; i < 4 * N4; i = i + 1) begin : g_pad
            assign s[i] = 1'b0;
            assign di[i] = 1'b0;
        end
        for (i = 0; i < N4; i = i + 1) begin : g_c4
            wire [3:0] cout;
            CARRY4 c4 (.CO(cout), .O(o[4*i +: 4]), .CI(co[i]),
                       .CYINIT(i == 0 && NEG >= 2 ? 1'b1 : 1'b0),
                       .DI(di[4*i +: 4]), .S(s[4*i +: 4]));
            assign co[i+1] = cout[3];
        end
    endgenerate
    assign y = o[W-1:0];
`else
    assign y = (SUB_B != 0 ? a - b : a + b) + (SUB_C != 0 ? -c : c);
`endif
`else
    assign y = (SUB_B != 0 ? a - b : a + b) + (SUB_C != 0 ? -c : c);
`endif
endmodule

`default_nettype wire
