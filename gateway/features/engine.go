package features

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// ErrSpec is the sentinel every spec validation error wraps.
var ErrSpec = errors.New("invalid feature spec")

// SpecError reports what is wrong with a Spec: the feature (or window)
// index and name, and why. It wraps ErrSpec.
type SpecError struct {
	Index  int    // position in Features or Windows; -1 for the spec itself
	Name   string // feature or window name
	Reason string
}

func (e *SpecError) Error() string {
	return fmt.Sprintf("%v: %s #%d: %s", ErrSpec, e.Name, e.Index, e.Reason)
}

// Unwrap returns ErrSpec.
func (e *SpecError) Unwrap() error { return ErrSpec }

// compiled is one feature ready to run. Everything Extract would otherwise
// decide per event from the spec's strings (kind, aggregate, transform
// names) is decided once here, and the columns a one-hot or equals feature
// can only ever hold (finish(0), finish(1)) are computed once: extraction
// runs for every event of every anchored batch.
type compiled struct {
	f    Feature
	kind kindCode
	agg  aggCode
	ops  []op
	zero float32 // finish(0)
	one  float32 // finish(1)
	// missing is finish(f.Default), a numeric feature's column when its
	// field is absent or unparsable: computed once, since a model's
	// fields absent from an event (a cic-ids2017 model reading an NSL-KDD
	// flow reads none of its fields) cost 1.5 % of the gateway's CPU
	// under ingest load when each went through finish.
	missing float32
	col     int // first output column
	width   int
	vocab   map[string]int
	lex     []int
	lm      *charLM // kind charlm
	window  int     // index into Engine.windows
	pseudo  bool    // a string-reading kind on a pseudo-field (@class, ...)

	// baseline marks a baseline aggregate: baselineColumns writes it.
	baseline bool
	// log1pOnly: ops is the one transform log1p (every numeric feature
	// of the flow models), which finish applies without its loop.
	log1pOnly bool
}

// kindCode is a Kind resolved at Compile.
type kindCode uint8

const (
	kNumeric kindCode = iota
	kEquals
	kCategorical
	kCategoricalIndex
	kLexical
	kWindow
	kCharLM
)

// aggCode is a window aggregate resolved at Compile.
type aggCode uint8

const (
	aggCount aggCode = iota
	aggDistinct
	aggRate
	aggMatchedRatio
)

// opCode is a transform resolved at Compile.
type opCode uint8

const (
	opLog1p opCode = iota
	opClip
	opScale
	opStandardize
)

// op is one transform with its operands: clip (a, b) = (min, max), scale
// (a, b) = (offset, factor), standardize (a, b) = (mean, std or 1 when the
// spec's std is 0).
type op struct {
	code opCode
	a, b float64
}

// Engine extracts feature vectors for one Spec. Extract is safe for
// concurrent use: window state is behind a mutex (taken only when the spec
// has windows), so callers that need stream order for windows must call
// Extract in that order.
type Engine struct {
	spec    Spec
	feats   []compiled
	names   []string
	windows []*window
	// wfields are the fields the windows read, by the index bindWindows
	// gave them (fieldMemo).
	wfields []string
	bfeats  []int // indexes into feats of the baseline aggregates
	mu      sync.Mutex

	// keys are the distinct event fields the non-window features read
	// from Fields and the required fields (Require), sorted (the order of a canonical event's keys), and
	// slot[i] is feature i's index into keys (-1: a window or pseudo-field
	// feature); see ExtractCanonical.
	keys []string
	slot []int
	// steps are extractVals' compact view of feats (indexKeys).
	steps []step
	// members are keys as canonical bytes write them (`"key":`), nil
	// unless every key is written verbatim (plainKeyName), so that
	// scanObject and scanTail may compare them as bytes.
	members []string
	// required are the fields Require named, reqSlot their indexes into
	// keys.
	required []string
	reqSlot  []int
	// tailMiss: the last event scanTail read had no wanted member among
	// the last of its fields (see tryTail).
	tailMiss atomic.Bool
}

// Compile validates spec and returns its Engine. Every error is a
// *SpecError.
func Compile(spec Spec) (*Engine, error) {
	e := &Engine{spec: spec}
	winIdx := map[string]int{}
	for i, w := range spec.Windows {
		switch {
		case w.Name == "":
			return nil, &SpecError{i, w.Name, "window without a name"}
		case len(w.Key) == 0 || strings.HasPrefix(w.Key[0], "+"):
			return nil, &SpecError{i, w.Name, "window key must start with a field (not a +field)"}
		case w.Size <= 0:
			return nil, &SpecError{i, w.Name, "window size must be positive"}
		case w.MaxKeys < 0 || w.MaxEvents < 0:
			return nil, &SpecError{i, w.Name, "negative bound"}
		case baselineProblem(w) != "":
			return nil, &SpecError{i, w.Name, baselineProblem(w)}
		}
		if _, dup := winIdx[w.Name]; dup {
			return nil, &SpecError{i, w.Name, "duplicate window name"}
		}
		winIdx[w.Name] = i
		e.windows = append(e.windows, newWindow(w))
	}
	if len(spec.Features) == 0 {
		return nil, &SpecError{-1, "spec", "no features"}
	}
	seen := map[string]bool{}
	col := 0
	for i, f := range spec.Features {
		c := compiled{f: f, col: col, window: -1}
		if f.Name == "" {
			return nil, &SpecError{i, f.Name, "feature without a name"}
		}
		if seen[f.Name] {
			return nil, &SpecError{i, f.Name, "duplicate feature name"}
		}
		seen[f.Name] = true
		var names []string
		switch f.Kind {
		case KindNumeric, KindEquals:
			if f.Field == "" {
				return nil, &SpecError{i, f.Name, "field required"}
			}
			c.kind = kNumeric
			if f.Kind == KindEquals {
				c.kind = kEquals
			}
			names = []string{f.Name}
		case KindCategorical:
			if f.Field == "" || len(f.Vocab) == 0 {
				return nil, &SpecError{i, f.Name, "field and vocab required"}
			}
			c.vocab = make(map[string]int, len(f.Vocab))
			for j, v := range f.Vocab {
				if f.Lower {
					v = strings.ToLower(v)
				}
				if _, dup := c.vocab[v]; dup {
					return nil, &SpecError{i, f.Name, fmt.Sprintf("duplicate vocabulary entry %q", v)}
				}
				c.vocab[v] = j
			}
			c.kind = kCategorical
			switch f.Encoding {
			case "", "onehot":
				for _, v := range f.Vocab {
					names = append(names, f.Name+"."+v)
				}
				if f.Other {
					names = append(names, f.Name+".other")
				}
			case "index":
				if f.Other {
					return nil, &SpecError{i, f.Name, "other applies to onehot only"}
				}
				c.kind = kCategoricalIndex
				names = []string{f.Name}
			default:
				return nil, &SpecError{i, f.Name, fmt.Sprintf("unknown encoding %q", f.Encoding)}
			}
		case KindLexical:
			if f.Field == "" || len(f.Stats) == 0 {
				return nil, &SpecError{i, f.Name, "field and stats required"}
			}
			c.kind = kLexical
			if f.Part != "" && f.Part != "full" && f.Part != "sld" {
				return nil, &SpecError{i, f.Name, fmt.Sprintf("unknown part %q", f.Part)}
			}
			for _, s := range f.Stats {
				k, ok := lexicalIndex[s]
				if !ok {
					return nil, &SpecError{i, f.Name, fmt.Sprintf("unknown lexical stat %q", s)}
				}
				c.lex = append(c.lex, k)
				names = append(names, f.Name+"."+s)
			}
		case KindCharLM:
			if f.Field == "" || len(f.Stats) == 0 {
				return nil, &SpecError{i, f.Name, "field and stats required"}
			}
			if f.Part != "" && f.Part != "full" && f.Part != "sld" {
				return nil, &SpecError{i, f.Name, fmt.Sprintf("unknown part %q", f.Part)}
			}
			lm, err := compileCharLM(f)
			if err != nil {
				return nil, &SpecError{i, f.Name, err.Error()}
			}
			c.lm = lm
			c.kind = kCharLM
			for _, s := range f.Stats {
				names = append(names, f.Name+"."+s)
			}
		case KindWindow:
			w, ok := winIdx[f.Window]
			if !ok {
				return nil, &SpecError{i, f.Name, fmt.Sprintf("unknown window %q", f.Window)}
			}
			c.kind = kWindow
			switch f.Agg {
			case "count":
				c.agg = aggCount
			case "rate":
				c.agg = aggRate
			case "matched_ratio":
				c.agg = aggMatchedRatio
			case "distinct":
				if spec.Windows[w].Distinct == "" {
					return nil, &SpecError{i, f.Name, "distinct needs the window's distinct field"}
				}
				c.agg = aggDistinct
			case AggBaselineZ, AggBaselineRatio, AggBaselineMean, AggBaselineBuckets:
				if spec.Windows[w].Baseline == nil {
					return nil, &SpecError{i, f.Name, f.Agg + " needs the window's baseline"}
				}
				c.baseline = true
				e.bfeats = append(e.bfeats, i)
			default:
				return nil, &SpecError{i, f.Name, fmt.Sprintf("unknown aggregate %q", f.Agg)}
			}
			c.window = w
			names = []string{f.Name}
		default:
			return nil, &SpecError{i, f.Name, fmt.Sprintf("unknown kind %q", f.Kind)}
		}
		for _, t := range f.Transforms {
			switch t.Op {
			case "log1p":
				c.ops = append(c.ops, op{code: opLog1p})
			case "scale":
				c.ops = append(c.ops, op{opScale, t.Offset, t.Factor})
			case "standardize":
				sd := t.Std
				if sd == 0 {
					sd = 1
				}
				c.ops = append(c.ops, op{opStandardize, t.Mean, sd})
			case "clip":
				if t.Min > t.Max {
					return nil, &SpecError{i, f.Name, "clip min above max"}
				}
				c.ops = append(c.ops, op{opClip, t.Min, t.Max})
			default:
				return nil, &SpecError{i, f.Name, fmt.Sprintf("unknown transform %q", t.Op)}
			}
		}
		c.log1pOnly = len(c.ops) == 1 && c.ops[0].code == opLog1p
		c.zero, c.one, c.missing = c.finish(0), c.finish(1), c.finish(f.Default)
		// A numeric feature never reads a pseudo-field (Extract reads
		// Fields for it); the other kinds read @class & co. from the
		// event itself.
		c.pseudo = c.kind != kNumeric && c.kind != kWindow && pseudoField(f.Field)
		c.width = len(names)
		col += c.width
		e.names = append(e.names, names...)
		e.feats = append(e.feats, c)
	}
	e.wfields = bindWindows(e.windows)
	e.indexKeys()
	return e, nil
}

// pseudoField reports whether name is one of stringField's pseudo-fields.
func pseudoField(name string) bool {
	switch name {
	case "@class", "@sourcetype", "@host", "@source":
		return true
	}
	return false
}

// Width is the number of columns Extract writes.
func (e *Engine) Width() int { return len(e.names) }

// Names returns the column names in order (a copy).
func (e *Engine) Names() []string { return append([]string(nil), e.names...) }

// ColumnNames returns the column names in order without copying them, for
// callers on the scoring path; the slice must not be modified.
func (e *Engine) ColumnNames() []string { return e.names }

// Spec returns the spec the engine was compiled from.
func (e *Engine) Spec() Spec { return e.spec }

// Stateful reports whether the spec has windows, i.e. whether the vectors
// depend on the events seen before.
func (e *Engine) Stateful() bool { return len(e.windows) > 0 }

// Reset forgets all window state.
func (e *Engine) Reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, w := range e.windows {
		e.windows[i] = newWindow(w.spec)
	}
	e.wfields = bindWindows(e.windows)
}

// Extract writes the feature vector of ev into dst, which must have at
// least Width elements, and records ev in the windows. Non-finite results
// are written as 0 so a model never sees NaN or Inf.
func (e *Engine) Extract(ev *gateway.Event, dst []float32) {
	var aggs []windowAggs
	if len(e.windows) > 0 {
		var buf [8]windowAggs
		aggs = buf[:0]
		e.mu.Lock()
		m := fieldMemo{ev: ev}
		if e.wfields != nil { // under the lock: Reset rebinds
			var vals [maxMemoFields]memoValue
			m.names, m.vals = e.wfields, &vals
		}
		for _, w := range e.windows {
			aggs = append(aggs, w.observe(&m))
		}
		e.baselineColumns(dst)
		e.mu.Unlock()
	}
	for i := range e.feats {
		c := &e.feats[i]
		if c.kind == kWindow {
			if c.baseline {
				continue
			}
			a := aggs[c.window]
			var v float64
			switch c.agg {
			case aggCount:
				v = a.count
			case aggDistinct:
				v = a.distinct
			case aggRate:
				v = a.rate
			case aggMatchedRatio:
				if a.all > 0 {
					v = a.count / a.all
				}
			}
			dst[c.col] = c.finish(v)
			continue
		}
		if c.pseudo {
			v, ok := stringField(ev, c.f.Field)
			c.fromValue(v, ok, dst)
			continue
		}
		v, ok := ev.Fields[c.f.Field]
		c.fromValue(v, ok, dst)
	}
}

// fromValue writes the columns of a non-window feature whose field holds
// v (present false: the event lacks the field).
func (c *compiled) fromValue(v any, present bool, dst []float32) {
	if c.kind == kNumeric {
		x, ok := numberValue(v, present)
		c.putNumber(x, ok, dst)
		return
	}
	s, _ := stringValue(v, present)
	c.putString(s, dst)
}

// putNumber writes a numeric feature's column from the number read (ok
// false: missing or unparsable, so the default).
func (c *compiled) putNumber(x float64, ok bool, dst []float32) {
	if !ok {
		dst[c.col] = c.missing
		return
	}
	dst[c.col] = c.finish(x)
}

// putString writes the columns of a string-reading feature (equals,
// categorical, lexical) from the field's string value ("" when absent).
func (c *compiled) putString(s string, dst []float32) {
	out := dst[c.col : c.col+c.width]
	switch c.kind {
	case kEquals:
		out[0] = c.zero
		if s == c.f.Value {
			out[0] = c.one
		}
	case kCategorical, kCategoricalIndex:
		if c.f.Lower {
			s = strings.ToLower(s)
		}
		j, ok := c.vocab[s]
		if c.kind == kCategoricalIndex {
			if !ok {
				j = len(c.f.Vocab)
			}
			out[0] = c.finish(float64(j))
			return
		}
		for k := range out {
			out[k] = c.zero
		}
		if ok {
			out[j] = c.one
		} else if c.f.Other {
			out[len(out)-1] = c.one
		}
	case kLexical:
		if c.f.Part == "sld" {
			s = RegistrableLabel(s)
		} else {
			s = strings.TrimSuffix(strings.ToLower(s), ".")
		}
		var lexBuf [32]float64
		vals := lexBuf[:0]
		if len(c.lex) > len(lexBuf) {
			vals = make([]float64, 0, len(c.lex))
		}
		vals = vals[:len(c.lex)]
		lexical(s, c.lex, vals)
		for k, x := range vals {
			out[k] = c.finish(x)
		}
	case kCharLM:
		var buf [8]float64
		vals := buf[:0]
		if len(c.lm.stats) > len(buf) {
			vals = make([]float64, 0, len(c.lm.stats))
		}
		vals = vals[:len(c.lm.stats)]
		c.lm.score(charLMInput(s, c.f.Part), vals)
		for k, x := range vals {
			out[k] = c.finish(x)
		}
	}
}

// finish applies the transforms and converts to float32.
func (c *compiled) finish(v float64) float32 {
	if c.log1pOnly {
		return log1pF32(v) // the same float32, mostly without math.Log1p (log1p.go)
	}
	for _, t := range c.ops {
		switch t.code {
		case opLog1p:
			v = log1pSigned(v)
		case opClip:
			v = math.Min(math.Max(v, t.a), t.b)
		case opScale:
			v = (v - t.a) * t.b
		case opStandardize:
			v = (v - t.a) / t.b
		}
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return float32(v)
}

// log1pSigned is the log1p transform, sign(v)·ln(1+|v|), computed by
// math.Log1p, or read from log1pTable for the integers it holds; zeros
// (a third of a flow record's values) are their own answer, as
// math.Log1p returns them.
func log1pSigned(v float64) float64 {
	switch {
	case v == 0:
		return v
	case v >= 1 && v < log1pInts && v == float64(int(v)):
		return log1pTable[int(v)]
	case v < 0:
		return -math.Log1p(-v)
	}
	return math.Log1p(v)
}

// log1pInts bounds the integers whose log1p is read from log1pTable.
const log1pInts = 1024

// log1pTable[n] is math.Log1p(n) for n in [0, log1pInts): the same bits,
// computed once by the same function. Flow records are mostly small
// counts (packets, flags, ports of a few digits) and every numeric
// feature of the flow models is log1p'd, where math.Log1p (pure Go,
// about 13 ns) was a quarter of extracting a CIC-IDS2017 record.
var log1pTable = func() *[log1pInts]float64 {
	var t [log1pInts]float64
	for i := range t {
		t[i] = math.Log1p(float64(i))
	}
	return &t
}()

// stringField reads a field as a string. Pseudo-fields: @class,
// @sourcetype, @host, @source.
func stringField(ev *gateway.Event, name string) (string, bool) {
	switch name {
	case "@class":
		return string(ev.Class), true
	case "@sourcetype":
		return ev.Sourcetype, true
	case "@host":
		return ev.Host, true
	case "@source":
		return ev.Source, true
	}
	v, ok := ev.Fields[name]
	return stringValue(v, ok)
}

// stringValue is stringField on a value already read (present false: the
// field is absent).
func stringValue(v any, present bool) (string, bool) {
	if !present || v == nil {
		return "", false
	}
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case int:
		return strconv.Itoa(x), true
	default:
		return fmt.Sprint(x), true
	}
}

// numberField reads a field as a number. Strings are parsed; booleans are
// 0/1.
func numberField(ev *gateway.Event, name string) (float64, bool) {
	v, ok := ev.Fields[name]
	return numberValue(v, ok)
}

// numberValue is numberField on a value already read (present false: the
// field is absent).
func numberValue(v any, present bool) (float64, bool) {
	if !present {
		return 0, false
	}
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case int32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case json.Number:
		return parseNumber(string(x))
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case string:
		return parseNumberString(x)
	}
	return 0, false
}
