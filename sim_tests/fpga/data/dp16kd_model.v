// A behavioural model of the ECP5 DP16KD block RAM for the output-register test (test_bram_outreg.py).
//
// Yosys ships the primitive without behaviour, so the test brings its own. It covers what the test's RAM
// uses: both ports in the 18-bit mode (word address on AD13..AD4, byte enables on AD1..AD0 for a write),
// a read latch loaded at the clock edge with CE, and the output register of REGMODE = "OUTREG", loaded
// from the latch at the clock edge with OCE (Lattice TN1264, "Pipelined mode"). RST is not modelled: the
// pass only converts ports whose RST is tied to 0. Any other width stops the simulation.
module DP16KD (
  input DIA17, DIA16, DIA15, DIA14, DIA13, DIA12, DIA11, DIA10, DIA9, DIA8, DIA7, DIA6, DIA5, DIA4, DIA3, DIA2,
        DIA1, DIA0,
  input ADA13, ADA12, ADA11, ADA10, ADA9, ADA8, ADA7, ADA6, ADA5, ADA4, ADA3, ADA2, ADA1, ADA0,
  input CEA, OCEA, CLKA, WEA, RSTA, CSA2, CSA1, CSA0,
  output DOA17, DOA16, DOA15, DOA14, DOA13, DOA12, DOA11, DOA10, DOA9, DOA8, DOA7, DOA6, DOA5, DOA4, DOA3, DOA2,
         DOA1, DOA0,
  input DIB17, DIB16, DIB15, DIB14, DIB13, DIB12, DIB11, DIB10, DIB9, DIB8, DIB7, DIB6, DIB5, DIB4, DIB3, DIB2,
        DIB1, DIB0,
  input ADB13, ADB12, ADB11, ADB10, ADB9, ADB8, ADB7, ADB6, ADB5, ADB4, ADB3, ADB2, ADB1, ADB0,
  input CEB, OCEB, CLKB, WEB, RSTB, CSB2, CSB1, CSB0,
  output DOB17, DOB16, DOB15, DOB14, DOB13, DOB12, DOB11, DOB10, DOB9, DOB8, DOB7, DOB6, DOB5, DOB4, DOB3, DOB2,
         DOB1, DOB0
);
  parameter DATA_WIDTH_A = 18;
  parameter DATA_WIDTH_B = 18;
  parameter REGMODE_A = "NOREG";
  parameter REGMODE_B = "NOREG";
  parameter WRITEMODE_A = "NORMAL";
  parameter WRITEMODE_B = "NORMAL";

  reg [17:0] mem [0:1023];
  reg [17:0] latch_a = 0, latch_b = 0, out_a = 0, out_b = 0;
  integer i;
  initial begin
    for (i = 0; i < 1024; i = i + 1) mem[i] = 0;
    if (DATA_WIDTH_A != 18 || DATA_WIDTH_B != 18) begin
      $display("dp16kd_model: only the 18-bit mode is modelled");
      $finish;
    end
  end

  wire [17:0] dia = {DIA17, DIA16, DIA15, DIA14, DIA13, DIA12, DIA11, DIA10, DIA9, DIA8, DIA7, DIA6, DIA5, DIA4,
                     DIA3, DIA2, DIA1, DIA0};
  wire [17:0] dib = {DIB17, DIB16, DIB15, DIB14, DIB13, DIB12, DIB11, DIB10, DIB9, DIB8, DIB7, DIB6, DIB5, DIB4,
                     DIB3, DIB2, DIB1, DIB0};
  wire [9:0] word_a = {ADA13, ADA12, ADA11, ADA10, ADA9, ADA8, ADA7, ADA6, ADA5, ADA4};
  wire [9:0] word_b = {ADB13, ADB12, ADB11, ADB10, ADB9, ADB8, ADB7, ADB6, ADB5, ADB4};

  always @(posedge CLKA) begin
    if (CEA) begin
      latch_a <= mem[word_a];  // read before write
      if (WEA) begin
        if (ADA0) mem[word_a][8:0] <= dia[8:0];
        if (ADA1) mem[word_a][17:9] <= dia[17:9];
      end
    end
    if (OCEA) out_a <= latch_a;
  end
  always @(posedge CLKB) begin
    if (CEB) begin
      latch_b <= mem[word_b];
      if (WEB) begin
        if (ADB0) mem[word_b][8:0] <= dib[8:0];
        if (ADB1) mem[word_b][17:9] <= dib[17:9];
      end
    end
    if (OCEB) out_b <= latch_b;
  end

  wire [17:0] doa = REGMODE_A == "OUTREG" ? out_a : latch_a;
  wire [17:0] dob = REGMODE_B == "OUTREG" ? out_b : latch_b;
  assign {DOA17, DOA16, DOA15, DOA14, DOA13, DOA12, DOA11, DOA10, DOA9, DOA8, DOA7, DOA6, DOA5, DOA4, DOA3, DOA2,
          DOA1, DOA0} = doa;
  assign {DOB17, DOB16, DOB15, DOB14, DOB13, DOB12, DOB11, DOB10, DOB9, DOB8, DOB7, DOB6, DOB5, DOB4, DOB3, DOB2,
          DOB1, DOB0} = dob;
endmodule
