// axis_fork: copies one AXI4-Stream to N outputs (a tensor consumed by several layers).
// Every input beat goes to every output exactly once.  The outputs share one registered
// beat; output i's tvalid drops once output i has taken it, and the next beat is loaded
// when every output has taken the current one, so a slow output holds back the others
// (none loses or repeats a beat).  One beat per cycle when all outputs are ready.
// Registered outputs; s_axis_tready is a register too (a one-beat skid register takes
// the beat arriving while an output stalls).  Latency: one cycle.
`default_nettype none

module axis_fork #(
    parameter integer WIDTH = 8,  // tdata bits, >= 1
    parameter integer N     = 2   // outputs, >= 2
) (
    input  wire               aclk,
    input  wire               aresetn,
    input  wire [WIDTH-1:0]   s_axis_tdata,
    input  wire               s_axis_tvalid,
    output wire               s_axis_tready,
    input  wire               s_axis_tlast,
    output wire [N*WIDTH-1:0] m_axis_tdata,   // output i at [i*WIDTH +: WIDTH]
    output wire [N-1:0]       m_axis_tvalid,
    input  wire [N-1:0]       m_axis_tready,
    output wire [N-1:0]       m_axis_tlast
);
    initial begin
        if (WIDTH < 1) $error("axis_fork %m: WIDTH=%0d must be >= 1", WIDTH);
        if (N < 2) $error("axis_fork %m: N=%0d must be >= 2", N);
    end

    reg [WIDTH-1:0] out_data, skid_data;
    reg             out_last, skid_last;
    reg [N-1:0]     out_valid;
    reg             skid_valid;

    wire take = s_axis_tvalid && !skid_valid;
    // every output has taken the current beat or takes it in this cycle
    wire give = (out_valid & ~m_axis_tready) == {N{1'b0}};

    assign s_axis_tready = !skid_valid;
    assign m_axis_tdata  = {N{out_data}};
    assign m_axis_tvalid = out_valid;
    assign m_axis_tlast  = {N{out_last}};

    always @(posedge aclk) begin
        if (give) begin
            out_data <= skid_valid ? skid_data : s_axis_tdata;
            out_last <= skid_valid ? skid_last : s_axis_tlast;
        end
        if (take && !give) begin
            skid_data <= s_axis_tdata;
            skid_last <= s_axis_tlast;
        end
    end

    always @(posedge aclk) begin
        if (!aresetn) begin
            out_valid  <= {N{1'b0}};
            skid_valid <= 1'b0;
        end else if (give) begin
            out_valid  <= {N{skid_valid || take}};
            skid_valid <= 1'b0;
        end else begin
            out_valid <= out_valid & ~m_axis_tready;
            if (take) skid_valid <= 1'b1;
        end
    end
endmodule

`default_nettype wire
