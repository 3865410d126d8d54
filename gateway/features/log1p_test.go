package features

import (
	"compress/gzip"
	"encoding/csv"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// log1pRef is what finish wrote for the log1p transform before log1pF32:
// float32(log1pSigned(v)), 0 for NaN and infinities.
func log1pRef(v float64) float32 {
	v = log1pSigned(v)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return float32(v)
}

// checkLog1pF32 fails t when log1pF32(v) is not log1pRef(v), bit for bit.
func checkLog1pF32(t testing.TB, v float64) {
	t.Helper()
	if got, want := log1pF32(v), log1pRef(v); math.Float32bits(got) != math.Float32bits(want) {
		t.Fatalf("log1pF32(%v [%#x]) = %v [%#x], want %v [%#x]", v, math.Float64bits(v), got, math.Float32bits(got), want, math.Float32bits(want))
	}
}

// TestLog1pF32 compares log1pF32 with math.Log1p's float32 over the whole
// float64 range (random bit patterns), log-uniformly over the fast
// path's range and either side of its bounds, on decimals written with
// few digits as flow records write them (rates, means, durations), on
// integers, and on the special values.
func TestLog1pF32(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 1))
	n := 2_000_000
	if testing.Short() {
		n = 200_000
	}
	for _, v := range []float64{0, math.Copysign(0, -1), math.NaN(), math.Inf(1), math.Inf(-1),
		log1pFastMin, math.Nextafter(log1pFastMin, 0), log1pFastMax, math.Nextafter(log1pFastMax, 0),
		math.MaxFloat64, math.SmallestNonzeroFloat64, 1, 2, 1023, 1024, 1025, 0x1p52, 0x1p53, 0x1p53 + 2, -1, -0.5} {
		checkLog1pF32(t, v)
		checkLog1pF32(t, -v)
	}
	for i := -100_000; i <= 100_000; i++ {
		checkLog1pF32(t, float64(i))
	}
	for range n {
		checkLog1pF32(t, math.Float64frombits(r.Uint64())) // the whole range, NaNs and subnormals included
		// log-uniform over [2^-8, 2^1002), both signs
		v := math.Ldexp(1+r.Float64(), r.IntN(1010)-8)
		if r.IntN(2) == 0 {
			v = -v
		}
		checkLog1pF32(t, v)
		// decimals as flow records write them: a few digits each side of the dot
		s := strconv.FormatFloat(float64(r.Uint64N(1_000_000_000))/math.Pow10(r.IntN(12)), 'f', -1, 64)
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatal(err)
		}
		checkLog1pF32(t, x)
		// 17 significant digits, as Python writes a mean or a rate
		x, _ = strconv.ParseFloat(strconv.FormatFloat(r.Float64()*math.Pow10(r.IntN(10)), 'g', 17, 64), 64)
		checkLog1pF32(t, x)
	}
}

// TestLog1pF32Fallback: the fast path refuses (and log1pF32 still gives
// math.Log1p's float32) near float32 rounding boundaries: values whose
// log1p is within a few float64 ulps of the midpoint between two
// float32s, found by inverting the midpoint.
func TestLog1pF32Fallback(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	refused := 0
	for range 20_000 {
		y := float32(math.Ldexp(1+r.Float64(), r.IntN(12)-5))
		mid := (float64(y) + float64(math.Nextafter32(y, float32(math.Inf(1))))) / 2
		v := math.Expm1(mid)
		for _, x := range []float64{v, math.Nextafter(v, 0), math.Nextafter(v, math.Inf(1))} {
			if x >= log1pFastMin && x < log1pFastMax {
				if _, ok := log1pFast(x); !ok {
					refused++
				}
			}
			checkLog1pF32(t, x)
			checkLog1pF32(t, -x)
		}
	}
	if refused == 0 {
		t.Fatal("log1pFast never refused a value next to a float32 rounding boundary: its check is not doing anything")
	}
}

// FuzzLog1pF32 compares log1pF32 with math.Log1p's float32 on arbitrary
// float64s (the seed corpus in testdata/fuzz/FuzzLog1pF32 holds values
// from flow records and the fast path's bounds).
func FuzzLog1pF32(f *testing.F) {
	for _, v := range []float64{0, 1, 0.5, 11.178571428571429, 3.3333333333333335, 120000000, 1e-7, log1pFastMin, log1pFastMax, -2.5, math.Inf(1), math.NaN()} {
		f.Add(math.Float64bits(v))
	}
	f.Fuzz(func(t *testing.T, b uint64) {
		checkLog1pF32(t, math.Float64frombits(b))
	})
}

// BenchmarkLog1pF32 compares the transform's cost before (math.Log1p's
// float32) and after on non-integer flow-like values.
func BenchmarkLog1pF32(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	vs := make([]float64, 4096)
	for i := range vs {
		vs[i] = math.Ldexp(1+r.Float64(), r.IntN(30))
	}
	var sink float32
	b.Run("ref", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			sink += log1pRef(vs[i&4095])
		}
	})
	b.Run("fast", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			sink += log1pF32(vs[i&4095])
		}
	})
	_ = sink
}

// TestLog1pF32OnDatasets compares log1pF32 with math.Log1p's float32 on
// every number of the flow datasets the models read (CIC-IDS2017's
// sample, NSL-KDD's test set), both signs: the values the committed
// models' inputs are made of. It skips when the datasets are absent.
func TestLog1pF32OnDatasets(t *testing.T) {
	dir := os.Getenv("LEDGERGUARD_DATA_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "data")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "cic-ids2017-improved-sample", "*.csv.gz"))
	files = append(files, filepath.Join(dir, "nsl-kdd", "KDDTest+.txt"))
	if _, err := os.Stat(files[len(files)-1]); err != nil || len(files) < 2 {
		t.Skipf("datasets not found at %s (set LEDGERGUARD_DATA_DIR): %v", dir, err)
	}
	numbers, fast := 0, 0
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = f
		if strings.HasSuffix(path, ".gz") {
			if r, err = gzip.NewReader(f); err != nil {
				t.Fatal(err)
			}
		}
		rd := csv.NewReader(r)
		rd.FieldsPerRecord = -1
		for {
			rec, err := rd.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			for _, cell := range rec {
				v, err := strconv.ParseFloat(cell, 64)
				if err != nil {
					continue
				}
				numbers++
				if a := math.Abs(v); a >= log1pFastMin && a < log1pFastMax && (a >= log1pInts || a != math.Trunc(a)) {
					fast++
				}
				checkLog1pF32(t, v)
				checkLog1pF32(t, -v)
			}
		}
		f.Close()
	}
	t.Logf("%d numbers in %d files, %d of them through log1pFast", numbers, len(files), fast)
}
