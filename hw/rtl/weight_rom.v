// weight_rom: a constant memory with a registered read port, placed as STYLE says; the
// weight tables of mvu, vvu and synapse.
//
// The attribute on the array is all that differs between the placements:
//   "bram":   (* rom_style = "block" *), block RAM (yosys and Vivado);
//   "lutram": distributed ROM, LUT6 64 x 1 ROMs (Vivado's rom_style "distributed"; yosys
//             0.23 has no ROM in its xc7 LUT-RAM library, fails to map rom_style
//             "distributed" alone and reads rom_block first: the same ROMs, built as logic);
//   "logic":  LUTs and registers as synthesis builds them (yosys: rom_block "logic";
//             Vivado chooses by itself).
// Initialized from the constant INIT (an indexed part-select of a wide constant is a
// multiplexer tree that synthesis tools handle poorly, so the array is filled from it) or
// from FILE with $readmemh.  data holds word addr one cycle after en.
`default_nettype none

module weight_rom #(
    parameter integer WIDTH = 8,          // word bits, >= 1
    parameter integer DEPTH = 1,          // words, >= 1
    parameter integer AW = 1,             // address bits, >= 1, 2^AW >= DEPTH
    parameter [DEPTH*WIDTH-1:0] INIT = 0, // word a at [a*WIDTH +: WIDTH]; used when FILE is ""
    parameter FILE = "",                  // $readmemh file of the DEPTH words, or ""
    parameter [8*6-1:0] STYLE = "logic"   // "bram", "lutram" or "logic"
) (
    input  wire             aclk,
    input  wire             en,
    input  wire [AW-1:0]    addr,
    output reg  [WIDTH-1:0] data
);
    initial begin
        if (WIDTH < 1 || DEPTH < 1) $error("weight_rom %m: WIDTH=%0d, DEPTH=%0d must be >= 1", WIDTH, DEPTH);
        if (AW < 1 || (1 << AW) < DEPTH) $error("weight_rom %m: AW=%0d must address DEPTH=%0d", AW, DEPTH);
        if (STYLE != "bram" && STYLE != "lutram" && STYLE != "logic")
            $error("weight_rom %m: STYLE=\"%0s\" must be \"bram\", \"lutram\" or \"logic\"", STYLE);
    end

    generate
        if (STYLE == "bram") begin : g_bram
            (* rom_style = "block" *)
            reg [WIDTH-1:0] rom [0:DEPTH-1];
            if (FILE == "") begin : g_const
                integer i;
                initial for (i = 0; i < DEPTH; i = i + 1) rom[i] = INIT[i*WIDTH +: WIDTH];
            end else begin : g_file
                initial $readmemh(FILE, rom);
            end
            always @(posedge aclk) if (en) data <= rom[addr];
        end else if (STYLE == "lutram") begin : g_lutram
            (* rom_block = "logic", rom_style = "distributed" *)
            reg [WIDTH-1:0] rom [0:DEPTH-1];
            if (FILE == "") begin : g_const
                integer i;
                initial for (i = 0; i < DEPTH; i = i + 1) rom[i] = INIT[i*WIDTH +: WIDTH];
            end else begin : g_file
                initial $readmemh(FILE, rom);
            end
            always @(posedge aclk) if (en) data <= rom[addr];
        end else begin : g_logic
            (* rom_block = "logic" *)
            reg [WIDTH-1:0] rom [0:DEPTH-1];
            if (FILE == "") begin : g_const
                integer i;
                initial for (i = 0; i < DEPTH; i = i + 1) rom[i] = INIT[i*WIDTH +: WIDTH];
            end else begin : g_file
                initial $readmemh(FILE, rom);
            end
            always @(posedge aclk) if (en) data <= rom[addr];
        end
    endgenerate
endmodule

`default_nettype wire
