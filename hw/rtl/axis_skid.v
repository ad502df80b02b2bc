// axis_skid: a two-entry skid buffer (register slice) on an AXI4-Stream.
// Full throughput (one beat per cycle), registered outputs, and s_axis_tready
// registered too, so it cuts every combinational path between the two sides.
`default_nettype none

module axis_skid #(
    parameter integer WIDTH = 8  // tdata bits, >= 1
) (
    input  wire             aclk,
    input  wire             aresetn,
    input  wire [WIDTH-1:0] s_axis_tdata,
    input  wire             s_axis_tvalid,
    output wire             s_axis_tready,
    input  wire             s_axis_tlast,
    output wire [WIDTH-1:0] m_axis_tdata,
    output wire             m_axis_tvalid,
    input  wire             m_axis_tready,
    output wire             m_axis_tlast
);
    initial begin
        if (WIDTH < 1) $error("axis_skid %m: WIDTH=%0d must be >= 1", WIDTH);
    end

    reg [WIDTH-1:0] out_data, skid_data;
    reg             out_last, skid_last;
    reg             out_valid, skid_valid;

    assign s_axis_tready = !skid_valid;
    assign m_axis_tdata  = out_data;
    assign m_axis_tvalid = out_valid;
    assign m_axis_tlast  = out_last;

    wire take = s_axis_tvalid && !skid_valid;
    wire give = !out_valid || m_axis_tready;

    always @(posedge aclk) begin
        if (!aresetn) begin
            out_valid  <= 1'b0;
            skid_valid <= 1'b0;
        end else begin
            if (give) begin
                if (skid_valid) begin
                    out_valid  <= 1'b1;
                    skid_valid <= 1'b0;
                end else begin
                    out_valid <= take;
                end
            end else if (take) begin
                skid_valid <= 1'b1;
            end
        end
    end

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
endmodule

`default_nettype wire
