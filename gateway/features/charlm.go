package features

import (
	"fmt"
	"math"
	"strings"
)

// KindCharLM scores the string value of Field (or its registrable label,
// Part "sld") under a character n-gram language model carried in the
// manifest (CharLM), one column per entry of Stats (see CharLMStats). The
// model is fitted on benign training names only, so its surprisal measures
// how unlike benign names a string is, whatever generator made it: unlike a
// classifier trained on known DGA families, it has no family to overfit.
const KindCharLM Kind = "charlm"

// CharLMStats are the statistics a charlm feature may compute, all in nats:
//
//	surprisal       −Σ ln P(cᵢ | the Order−1 characters before it), over every
//	                character and the end marker (grows with length: a long
//	                unlikely name is more surprising than a short one)
//	mean_surprisal  surprisal / (length + 1)
//	max_surprisal   the largest single term
var CharLMStats = []string{"surprisal", "mean_surprisal", "max_surprisal"}

// CharLM is a character n-gram model with additive smoothing, stored as
// natural-log probabilities so the engine only looks them up:
//
//	ln P(c | ctx) = LogP[ctx+c]         for n-grams seen in training,
//	              = Context[ctx]        for a seen context followed by an unseen c,
//	              = Unseen              for a context never seen.
//
// The string is padded with Order−1 '^' on the left and one '$' on the
// right, so the first characters and the end of the name are scored too.
// The training pipeline (models/train/dga_lm.py) writes these tables.
type CharLM struct {
	// Order is the n-gram length, 2 to 8 (an n-gram is packed in a uint64).
	Order   int                `json:"order"`
	LogP    map[string]float64 `json:"logp"`
	Context map[string]float64 `json:"context"`
	Unseen  float64            `json:"unseen"`
}

// charLM is a compiled CharLM: n-grams and contexts packed into integers,
// so scoring a name costs one integer-keyed lookup per character and never
// allocates (this runs for every DNS event). A model of order 4 or less
// (every served one) is held in two gramTables; higher orders, whose
// n-grams do not fit in 32 bits, in Go maps.
type charLM struct {
	order   int
	logp    map[uint64]float64 // order > 4 only
	context map[uint64]float64 // order > 4 only
	small   *gramTables        // order <= 4
	unseen  float64
	stats   []int
}

// pack packs up to 8 bytes into a uint64, first byte highest. Keys of
// different lengths never meet in one map (all n-grams have Order bytes,
// all contexts Order−1), so no length tag is needed.
func pack(b string) uint64 {
	var k uint64
	for i := 0; i < len(b); i++ {
		k = k<<8 | uint64(b[i])
	}
	return k
}

func compileCharLM(f Feature) (*charLM, error) {
	m := f.CharLM
	if m == nil {
		return nil, fmt.Errorf("charlm table required")
	}
	if m.Order < 2 || m.Order > 8 {
		return nil, fmt.Errorf("charlm order %d outside 2..8", m.Order)
	}
	if len(m.LogP) == 0 {
		return nil, fmt.Errorf("charlm logp table empty")
	}
	c := &charLM{order: m.Order, unseen: m.Unseen}
	if m.Order <= maxSmallOrder {
		c.small = &gramTables{}
	} else {
		c.logp, c.context = make(map[uint64]float64, len(m.LogP)), make(map[uint64]float64, len(m.Context))
	}
	// A log-probability is at most 0; anything else (or NaN) is a corrupt table.
	bad := func(v float64) bool { return !(v <= 0) || math.IsInf(v, -1) }
	if bad(m.Unseen) {
		return nil, fmt.Errorf("charlm unseen %v is not a finite log-probability", m.Unseen)
	}
	for k, v := range m.LogP {
		if len(k) != m.Order || bad(v) {
			return nil, fmt.Errorf("charlm logp entry %q: want %d bytes and a finite log-probability ≤ 0, got %v", k, m.Order, v)
		}
		if c.small == nil {
			c.logp[pack(k)] = v
		}
	}
	for k, v := range m.Context {
		if len(k) != m.Order-1 || bad(v) {
			return nil, fmt.Errorf("charlm context entry %q: want %d bytes and a finite log-probability ≤ 0, got %v", k, m.Order-1, v)
		}
		if c.small == nil {
			c.context[pack(k)] = v
		}
	}
	if c.small != nil {
		c.small.build(m.LogP, m.Context)
	}
	for _, s := range f.Stats {
		j := -1
		for i, name := range CharLMStats {
			if name == s {
				j = i
			}
		}
		if j < 0 {
			return nil, fmt.Errorf("unknown charlm stat %q", s)
		}
		c.stats = append(c.stats, j)
	}
	return c, nil
}

// score writes c.stats of s (already lower-cased) into dst.
func (c *charLM) score(s string, dst []float64) {
	if c.small != nil {
		c.scoreSmall(s, dst)
		return
	}
	mask := uint64(1)<<(8*uint(c.order-1)) - 1 // order ≤ 8: the context fits in 7 bytes
	// The context window slides over '^'×(Order−1) + s + '$'.
	var ctx uint64
	for i := 0; i < c.order-1; i++ {
		ctx = ctx<<8 | '^'
	}
	var sum, worst float64
	step := func(b byte) {
		var lp float64
		if v, ok := c.logp[ctx<<8|uint64(b)]; ok {
			lp = v
		} else if v, ok := c.context[ctx]; ok {
			lp = v
		} else {
			lp = c.unseen
		}
		sum -= lp
		worst = max(worst, -lp)
		ctx = (ctx<<8 | uint64(b)) & mask
	}
	for i := 0; i < len(s); i++ {
		step(s[i])
	}
	step('$')
	c.put(sum, worst, len(s), dst)
}

// put writes c.stats from the surprisal sum and its largest term over a
// string of n bytes.
func (c *charLM) put(sum, worst float64, n int, dst []float64) {
	for j, k := range c.stats {
		switch k {
		case 0:
			dst[j] = sum
		case 1:
			dst[j] = sum / float64(n+1)
		case 2:
			dst[j] = worst
		}
	}
}

// charLMInput is the string a charlm feature scores: as for lexical
// features, the registrable label (Part "sld") or the lower-cased string
// without a trailing dot.
func charLMInput(s, part string) string {
	if part == "sld" {
		return RegistrableLabel(s)
	}
	return strings.TrimSuffix(strings.ToLower(s), ".")
}
