package features

import (
	"math"
	"strings"
	"testing"
)

// lexicalReference is the straightforward implementation lexical must match
// bit for bit (kept here as the oracle of FuzzLexicalReference); it computes the statistics idx (indexes into LexicalStats) of s,
// writing one value per index into dst.
func lexicalReference(s string, idx []int, dst []float64) {
	s = strings.ToLower(s)
	n := len(s)
	var counts [256]int
	var digits, vowels, consonants, hex, special, switches int
	var run, maxCons, drun, maxDigit int
	for i := 0; i < n; i++ {
		c := s[i]
		counts[c]++
		switch {
		case isDigit(c):
			digits++
		case isVowel(c):
			vowels++
		case isLetter(c):
			consonants++
		default:
			special++
		}
		if isDigit(c) || (c >= 'a' && c <= 'f') {
			hex++
		}
		if isLetter(c) && !isVowel(c) {
			run++
			maxCons = max(maxCons, run)
		} else {
			run = 0
		}
		if isDigit(c) {
			drun++
			maxDigit = max(maxDigit, drun)
		} else {
			drun = 0
		}
		if i > 0 {
			p := s[i-1]
			if (isDigit(p) && isLetter(c)) || (isLetter(p) && isDigit(c)) {
				switches++
			}
		}
	}
	ratio := func(a, b int) float64 {
		if b <= 0 {
			return 0
		}
		return float64(a) / float64(b)
	}
	// Bigram statistics are computed once, on first use. Distinct bigrams
	// are counted with a small stack array scanned linearly (domain labels
	// are at most 63 bytes), avoiding a map per call.
	common, uniq, bigramsDone := 0, 0, false
	bigrams := func() {
		if bigramsDone || n < 2 {
			return
		}
		bigramsDone = true
		var seen [64]uint16
		var extra map[uint16]struct{}
		ns := 0
		for i := 1; i < n; i++ {
			bg := uint16(s[i-1])<<8 | uint16(s[i])
			if commonBigrams[bg] {
				common++
			}
			dup := false
			for _, x := range seen[:ns] {
				if x == bg {
					dup = true
					break
				}
			}
			if !dup {
				if _, ok := extra[bg]; ok {
					dup = true
				}
			}
			if dup {
				continue
			}
			uniq++
			if ns < len(seen) {
				seen[ns] = bg
				ns++
			} else {
				if extra == nil {
					extra = map[uint16]struct{}{}
				}
				extra[bg] = struct{}{}
			}
		}
	}
	for j, k := range idx {
		var v float64
		switch LexicalStats[k] {
		case "length":
			v = float64(n)
		case "labels":
			if n > 0 {
				v = float64(strings.Count(s, ".") + 1)
			}
		case "entropy":
			for _, c := range counts {
				if c > 0 {
					p := float64(c) / float64(n)
					v -= p * math.Log2(p)
				}
			}
			if v == 0 {
				v = 0 // normalise -0
			}
		case "digit_ratio":
			v = ratio(digits, n)
		case "vowel_ratio":
			v = ratio(vowels, n)
		case "consonant_ratio":
			v = ratio(consonants, n)
		case "hex_ratio":
			v = ratio(hex, n)
		case "special_ratio":
			v = ratio(special, n)
		case "unique_ratio":
			distinct := 0
			for _, c := range counts {
				if c > 0 {
					distinct++
				}
			}
			v = ratio(distinct, n)
		case "max_consonant_run":
			v = float64(maxCons)
		case "max_digit_run":
			v = float64(maxDigit)
		case "switch_ratio":
			v = ratio(switches, n-1)
		case "bigram_common_ratio":
			bigrams()
			v = ratio(common, n-1)
		case "bigram_unique_ratio":
			bigrams()
			v = ratio(uniq, n-1)
		}
		dst[j] = v
	}
}

func TestLexicalStatConstants(t *testing.T) {
	want := []int{statLength, statLabels, statEntropy, statDigitRatio, statVowelRatio, statConsonantRatio,
		statHexRatio, statSpecialRatio, statUniqueRatio, statMaxConsonantRun, statMaxDigitRun,
		statSwitchRatio, statBigramCommonRatio, statBigramUniqueRatio}
	for i, name := range LexicalStats {
		if got := lexicalIndex[name]; got != want[i] {
			t.Errorf("%s: index %d, constant %d", name, got, want[i])
		}
	}
}

// FuzzLexicalReference checks lexical against lexicalReference bit for
// bit on every statistic.
func FuzzLexicalReference(f *testing.F) {
	for _, s := range []string{"", "a", "Example.COM", "xkcdq123a4", "thethe", "qx7z-9k.ddns.net", strings.Repeat("ab1.", 40)} {
		f.Add(s)
	}
	f.Fuzz(sameAsReference)
}

// sameAsReference fails t unless lexical and lexicalReference give the
// same bits for every statistic of s.
func sameAsReference(t *testing.T, s string) {
	idx := make([]int, len(LexicalStats))
	for i := range idx {
		idx[i] = i
	}
	got := make([]float64, len(idx))
	want := make([]float64, len(idx))
	lexical(s, idx, got)
	lexicalReference(s, idx, want)
	for i := range got {
		if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
			t.Fatalf("%q (%d bytes): %s = %v, reference %v", s[:min(len(s), 80)], len(s), LexicalStats[i], got[i], want[i])
		}
	}
}

// TestLexicalLong checks lexical against lexicalReference on strings
// longer than its 16-bit counts hold.
func TestLexicalLong(t *testing.T) {
	for _, s := range []string{strings.Repeat("a", 1<<16), strings.Repeat("ab1.", 1<<14) + "x", strings.Repeat("q7-", 30000)} {
		sameAsReference(t, s)
	}
}
