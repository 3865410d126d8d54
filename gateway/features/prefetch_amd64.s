#include "textflag.h"

// func prefetchLines(p *byte, n int)
// Issues PREFETCHT0 for the n cache lines from p on (n >= 1). A prefetch
// never faults, so lines past the end of p's allocation are harmless.
TEXT ·prefetchLines(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), AX
	MOVQ n+8(FP), CX
loop:
	PREFETCHT0 (AX)
	ADDQ $64, AX
	DECQ CX
	JNZ loop
	RET
