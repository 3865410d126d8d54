package features

import (
	"math"
	"math/bits"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// LexicalStats are the statistics a lexical feature may compute, each in
// one column, in the order the feature lists them. All are defined on the
// lower-cased string; ratios are 0 for the empty string.
//
//	length               bytes
//	labels               dot-separated labels
//	entropy              Shannon entropy of the byte distribution, bits
//	digit_ratio          digits / length
//	vowel_ratio          a e i o u / length
//	consonant_ratio      other ASCII letters / length
//	hex_ratio            [0-9a-f] / length
//	special_ratio        not [a-z0-9] / length (hyphens, dots, ...)
//	unique_ratio         distinct bytes / length
//	max_consonant_run    longest run of consonants
//	max_digit_run        longest run of digits
//	switch_ratio         letter<->digit transitions / (length − 1)
//	bigram_common_ratio  bigrams among the 100 most frequent English ones / bigrams
//	bigram_unique_ratio  distinct bigrams / bigrams
var LexicalStats = []string{
	"length", "labels", "entropy", "digit_ratio", "vowel_ratio", "consonant_ratio",
	"hex_ratio", "special_ratio", "unique_ratio", "max_consonant_run", "max_digit_run",
	"switch_ratio", "bigram_common_ratio", "bigram_unique_ratio",
}

var lexicalIndex = func() map[string]int {
	m := make(map[string]int, len(LexicalStats))
	for i, s := range LexicalStats {
		m[s] = i
	}
	return m
}()

// commonBigrams are the 100 most frequent letter bigrams of English text
// (Norvig's counts over the Google books corpus). A fixed table rather than
// one learned from the training domains, so the statistic cannot leak the
// training labels and needs no fitted state in the manifest.
var commonBigrams = func() *[1 << 16]bool {
	const list = "th he in er an re on at en nd ti es or te of ed is it al ar st to nt ng " +
		"se ha as ou io le ve co me de hi ri ro ic ne ea ra ce li ch ll be ma si " +
		"om ur ca el ta la ns di fo ho pe ec pr no ct us ac ot il tr ly nc et ut " +
		"ss so rs un lo wa ge ie wh ee wi em ad ol rt po we na ul ni ts mo ow pa " +
		"im mi ai sh ir su id os iv ia am fi ci vi"
	// A flat table indexed by the two bytes: one load per bigram, no
	// hashing, no allocation (this runs for every DNS event).
	var m [1 << 16]bool
	for _, b := range strings.Fields(list) {
		m[int(b[0])<<8|int(b[1])] = true
	}
	return &m
}()

// RegistrableLabel returns the label of a domain name just left of its
// public suffix ("mail.google.co.uk" → "google"), using the public suffix
// list compiled into golang.org/x/net/publicsuffix (kept current by the Go
// team, so no hand-made TLD list drifts). A name with a single label is
// returned as is; the name is lower-cased and a trailing dot removed.
func RegistrableLabel(name string) string {
	name = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(name)), ".")
	if !strings.Contains(name, ".") {
		return name
	}
	etld1, err := publicsuffix.EffectiveTLDPlusOne(name)
	if err != nil {
		// The name is itself a public suffix (or malformed): fall back to
		// its leftmost label.
		first, _, _ := strings.Cut(name, ".")
		return first
	}
	label, _, _ := strings.Cut(etld1, ".")
	return label
}

// maxSetBigrams is the most bigrams lexical counts in its small set
// (longer strings, rare in DNS names, use a map).
const maxSetBigrams = 96

// entropyTerms[n][c] is entropyTerm(c, n) for n up to maxEntropyN,
// computed once (33 KB, 2,080 logarithms): a DNS name's entropy adds one
// term per distinct byte, and math.Log2 was a quarter of a DNS model's
// extraction.
const maxEntropyN = 64

var entropyTerms = func() *[maxEntropyN + 1][maxEntropyN + 1]float64 {
	var t [maxEntropyN + 1][maxEntropyN + 1]float64
	for n := 1; n <= maxEntropyN; n++ {
		for c := 1; c <= n; c++ {
			t[n][c] = entropyTermOf(c, n)
		}
	}
	return &t
}()

// entropyTerm is p·log2(p) for p = c/n (0 < c <= n), the term a byte
// seen c times in n adds to the Shannon entropy (subtracted): from the
// table when n is small, the same bits either way.
func entropyTerm(c, n int) float64 {
	if n <= maxEntropyN {
		return entropyTerms[n][c]
	}
	return entropyTermOf(c, n)
}

// entropyTermOf computes entropyTerm; the conversion rounds the product
// before it is subtracted, as the reference does, so no compiler fuses
// the multiplication and the subtraction in one place and not the other.
func entropyTermOf(c, n int) float64 {
	p := float64(c) / float64(n)
	return float64(p * math.Log2(p))
}

func isVowel(c byte) bool  { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' }
func isLetter(c byte) bool { return c >= 'a' && c <= 'z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

// The LexicalStats indexes, in order, so lexical switches on integers.
const (
	statLength = iota
	statLabels
	statEntropy
	statDigitRatio
	statVowelRatio
	statConsonantRatio
	statHexRatio
	statSpecialRatio
	statUniqueRatio
	statMaxConsonantRun
	statMaxDigitRun
	statSwitchRatio
	statBigramCommonRatio
	statBigramUniqueRatio
)

// lexClass holds, per byte (already lower-cased), the classes lexical
// counts, so its loop reads one table entry per byte instead of testing
// ranges and vowels with branches the bytes of a random name mispredict.
var lexClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		var k uint8
		switch {
		case isDigit(b):
			k = lcDigit
		case isVowel(b):
			k = lcLetter | lcVowel
		case isLetter(b):
			k = lcLetter | lcConsonant
		}
		if isDigit(b) || (b >= 'a' && b <= 'f') {
			k |= lcHex
		}
		if bigramCode(b) == noBigramCode {
			k |= lcOutside
		}
		t[c] = k
	}
	return t
}()

// lexClass bits. lcDigit and lcLetter are the two low bits, so a
// letter-digit switch is a pair of bytes whose kinds OR to 3.
const (
	lcDigit = 1 << iota
	lcLetter
	lcVowel
	lcConsonant
	lcHex
	lcOutside // not in bigramCode's alphabet
)

// bigramAlphabet is how many bytes bigramCode numbers: a-z, 0-9, '-'
// and '.', every byte of a lower-cased DNS name.
const (
	bigramAlphabet = 38
	noBigramCode   = 0xff
)

// bigramCode numbers the bytes of DNS names 0–37 (noBigramCode for the
// others), so a bigram of two of them indexes a 1,444-bit set.
func bigramCode(c byte) uint8 {
	switch {
	case c >= 'a' && c <= 'z':
		return c - 'a'
	case isDigit(c):
		return 26 + c - '0'
	case c == '-':
		return 36
	case c == '.':
		return 37
	}
	return noBigramCode
}

// bigramCodes is bigramCode as a table, and commonBigramSet
// commonBigrams over bigramCodes' alphabet (both bytes are letters).
var (
	bigramCodes = func() (t [256]uint8) {
		for c := range t {
			t[c] = bigramCode(byte(c))
		}
		return t
	}()
	commonBigramSet = func() (set [bigramWords]uint64) {
		for a := 0; a < 256; a++ {
			for b := 0; b < 256; b++ {
				if commonBigrams[a<<8|b] {
					k := uint(bigramCodes[a])*bigramAlphabet + uint(bigramCodes[b])
					set[k>>6] |= 1 << (k & 63)
				}
			}
		}
		return set
	}()
)

// bigramWords is the number of words of a set of bigrams of bigramCode's
// alphabet (1,444 bits need 23), a power of two so that an index masked
// by it needs no bounds check.
const bigramWords = 32

// lexical computes the statistics idx (indexes into LexicalStats) of s,
// writing one value per index into dst. It runs for every DNS event, so it
// makes one pass over the bytes and then visits only the distinct bytes
// (a 256-bit set walked in byte order, so the entropy sum adds the same
// terms in the same order as a scan of all 256 counts and gives the same
// bits; FuzzLexicalReference checks this against the plain version).
// The pass reads each byte's classes from lexClass and keeps the runs
// and counts without a branch per byte.
func lexical(s string, idx []int, dst []float64) {
	s = strings.ToLower(s)
	n := len(s)
	// Counts fit 16 bits below 64 KiB (any DNS name): a 512-byte array
	// to zero per call instead of 2 KB; longer strings count again in
	// full (countAll).
	var counts [256]uint16
	var seen [4]uint64 // which bytes occur
	var digits, vowels, consonants, hex, switches int
	var run, maxCons, drun, maxDigit int
	var prevKind, outside uint8
	for i := 0; i < n; i++ {
		c := s[i]
		counts[c]++
		seen[c>>6] |= 1 << (c & 63)
		cl := lexClass[c]
		outside |= cl
		digits += int(cl & lcDigit)
		vowels += int(cl >> 2 & 1)
		cons := int(cl >> 3 & 1)
		consonants += cons
		hex += int(cl >> 4 & 1)
		run = (run + 1) * cons
		maxCons = max(maxCons, run)
		drun = (drun + 1) * int(cl&lcDigit)
		maxDigit = max(maxDigit, drun)
		kind := cl & (lcDigit | lcLetter)
		if prevKind|kind == lcDigit|lcLetter {
			switches++ // prevKind is 0 before the first byte
		}
		prevKind = kind
	}
	special := n - digits - vowels - consonants
	ratio := func(a, b int) float64 {
		if b <= 0 {
			return 0
		}
		return float64(a) / float64(b)
	}
	// Bigram statistics are computed once, on first use: over
	// bigramCode's alphabet in a 1,444-bit set when every byte is in it
	// (no hashing, no branch per bigram), else in a small
	// open-addressing set, or a map for long strings.
	common, uniq, bigramsDone := 0, 0, false
	bigrams := func() {
		if bigramsDone || n < 2 {
			return
		}
		bigramsDone = true
		if outside&lcOutside == 0 {
			var set [bigramWords]uint64
			prev := uint(bigramCodes[s[0]])
			for i := 1; i < n; i++ {
				c := uint(bigramCodes[s[i]])
				k := prev*bigramAlphabet + c
				w, bit := k>>6, k&63
				common += int(commonBigramSet[w&(bigramWords-1)] >> bit & 1)
				uniq += int(^set[w&(bigramWords-1)] >> bit & 1)
				set[w&(bigramWords-1)] |= 1 << bit
				prev = c
			}
			return
		}
		if n <= maxSetBigrams+1 {
			// Distinct bigrams in a small open-addressing set (at most
			// maxSetBigrams of 128 slots used): a few probes per bigram
			// instead of a scan of all the distinct ones before it.
			var set [128]uint32 // bigram+1; 0: empty
			for i := 1; i < n; i++ {
				bg := uint16(s[i-1])<<8 | uint16(s[i])
				if commonBigrams[bg] {
					common++
				}
				key := uint32(bg) + 1
				for h := (uint32(bg) * 0x9e3779b1) >> 25; ; h = (h + 1) & 127 {
					if set[h] == key {
						break
					}
					if set[h] == 0 {
						set[h] = key
						uniq++
						break
					}
				}
			}
			return
		}
		seen := map[uint16]struct{}{}
		for i := 1; i < n; i++ {
			bg := uint16(s[i-1])<<8 | uint16(s[i])
			if commonBigrams[bg] {
				common++
			}
			if _, dup := seen[bg]; !dup {
				seen[bg] = struct{}{}
				uniq++
			}
		}
	}
	for j, k := range idx {
		var v float64
		switch k {
		case statLength:
			v = float64(n)
		case statLabels:
			if n > 0 {
				v = float64(strings.Count(s, ".") + 1)
			}
		case statEntropy:
			var all *[256]int
			if n > math.MaxUint16 {
				all = countAll(s)
			}
			for w, word := range seen {
				for word != 0 {
					b := w<<6 | bits.TrailingZeros64(word)
					word &= word - 1
					c := int(counts[b])
					if all != nil {
						c = all[b]
					}
					v -= entropyTerm(c, n)
				}
			}
			if v == 0 {
				v = 0 // normalise -0
			}
		case statDigitRatio:
			v = ratio(digits, n)
		case statVowelRatio:
			v = ratio(vowels, n)
		case statConsonantRatio:
			v = ratio(consonants, n)
		case statHexRatio:
			v = ratio(hex, n)
		case statSpecialRatio:
			v = ratio(special, n)
		case statUniqueRatio:
			distinct := 0
			for _, word := range seen {
				distinct += bits.OnesCount64(word)
			}
			v = ratio(distinct, n)
		case statMaxConsonantRun:
			v = float64(maxCons)
		case statMaxDigitRun:
			v = float64(maxDigit)
		case statSwitchRatio:
			v = ratio(switches, n-1)
		case statBigramCommonRatio:
			bigrams()
			v = ratio(common, n-1)
		case statBigramUniqueRatio:
			bigrams()
			v = ratio(uniq, n-1)
		}
		dst[j] = v
	}
}

// countAll counts each byte of s, for strings too long for lexical's
// 16-bit counts.
func countAll(s string) *[256]int {
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	return &counts
}
