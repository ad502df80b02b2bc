// axis_fifo: synchronous AXI4-Stream FIFO of DEPTH beats (tdata + tlast).
// Storage is a memory (LUTRAM/BRAM by size) with a registered output stage; accepts
// one beat and gives one beat per cycle; s_axis_tready is low only when full.
// Simulation builds that define ARCHGEN_FIFO_PEAK keep the most beats the memory held at
// once in `peak` (the output register not counted): FIFO sizing by simulation reads it.
`default_nettype none

module axis_fifo #(
    parameter integer WIDTH = 8,  // tdata bits, >= 1
    parameter integer DEPTH = 16  // beats, >= 2 (rounded up to a power of two)
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
    function integer clog2;
        input integer v;
        integer r;
        begin
            r = 0;
            while ((1 << r) < v) r = r + 1;
            clog2 = r;
        end
    endfunction

    localparam integer AW = clog2(DEPTH < 2 ? 2 : DEPTH);

    initial begin
        if (WIDTH < 1) $error("axis_fifo %m: WIDTH=%0d must be >= 1", WIDTH);
        if (DEPTH < 2) $error("axis_fifo %m: DEPTH=%0d must be >= 2", DEPTH);
    end

    reg [WIDTH:0] mem [0:(1 << AW)-1];
    reg [AW:0]    wr_ptr, rd_ptr;
    reg [WIDTH:0] out_word;
    reg           out_valid;

    wire empty = wr_ptr == rd_ptr;
    wire full  = wr_ptr == {~rd_ptr[AW], rd_ptr[AW-1:0]};
    wire push  = s_axis_tvalid && !full;
    wire pop   = !empty && (!out_valid || m_axis_tready);

    assign s_axis_tready = !full;
    assign m_axis_tdata  = out_word[WIDTH-1:0];
    assign m_axis_tlast  = out_word[WIDTH];
    assign m_axis_tvalid = out_valid;

    always @(posedge aclk) begin
        if (push) mem[wr_ptr[AW-1:0]] <= {s_axis_tlast, s_axis_tdata};
        if (pop) out_word <= mem[rd_ptr[AW-1:0]];
    end

    always @(posedge aclk) begin
        if (!aresetn) begin
            wr_ptr    <= {(AW+1){1'b0}};
            rd_ptr    <= {(AW+1){1'b0}};
            out_valid <= 1'b0;
        end else begin
            if (push) wr_ptr <= wr_ptr + 1'b1;
            if (pop) rd_ptr <= rd_ptr + 1'b1;
            if (pop) out_valid <= 1'b1;
            else if (m_axis_tready) out_valid <= 1'b0;
        end
    end

`ifdef ARCHGEN_FIFO_PEAK
    wire [AW:0] held = wr_ptr - rd_ptr;
    reg  [AW:0] peak;
    always @(posedge aclk) begin
        if (!aresetn) peak <= {(AW+1){1'b0}};
        else if (held > peak) peak <= held;
    end
`endif
endmodule

`default_nettype wire
