package features

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"

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

// compiled is one feature ready to run.
type compiled struct {
	f      Feature
	col    int // first output column
	width  int
	vocab  map[string]int
	lex    []int
	lm     *charLM // kind charlm
	window int     // index into Engine.windows
	pseudo bool    // a string-reading kind on a pseudo-field (@class, ...)

	// baseline marks a baseline aggregate: baselineColumns writes it.
	baseline bool
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
	bfeats  []int // indexes into feats of the baseline aggregates
	mu      sync.Mutex
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
				names = []string{f.Name}
			default:
				return nil, &SpecError{i, f.Name, fmt.Sprintf("unknown encoding %q", f.Encoding)}
			}
		case KindLexical:
			if f.Field == "" || len(f.Stats) == 0 {
				return nil, &SpecError{i, f.Name, "field and stats required"}
			}
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
			for _, s := range f.Stats {
				names = append(names, f.Name+"."+s)
			}
		case KindWindow:
			w, ok := winIdx[f.Window]
			if !ok {
				return nil, &SpecError{i, f.Name, fmt.Sprintf("unknown window %q", f.Window)}
			}
			switch f.Agg {
			case "count", "rate", "matched_ratio":
			case "distinct":
				if spec.Windows[w].Distinct == "" {
					return nil, &SpecError{i, f.Name, "distinct needs the window's distinct field"}
				}
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
			case "log1p", "scale", "standardize":
			case "clip":
				if t.Min > t.Max {
					return nil, &SpecError{i, f.Name, "clip min above max"}
				}
			default:
				return nil, &SpecError{i, f.Name, fmt.Sprintf("unknown transform %q", t.Op)}
			}
		}
		c.pseudo = f.Kind != KindNumeric && f.Kind != KindWindow && pseudoField(f.Field)
		c.width = len(names)
		col += c.width
		e.names = append(e.names, names...)
		e.feats = append(e.feats, c)
	}
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
		for _, w := range e.windows {
			aggs = append(aggs, w.observe(ev))
		}
		e.baselineColumns(dst)
		e.mu.Unlock()
	}
	for i := range e.feats {
		c := &e.feats[i]
		if c.f.Kind == KindWindow {
			if c.baseline {
				continue
			}
			a := aggs[c.window]
			var v float64
			switch c.f.Agg {
			case "count":
				v = a.count
			case "distinct":
				v = a.distinct
			case "rate":
				v = a.rate
			case "matched_ratio":
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
	out := dst[c.col : c.col+c.width]
	switch c.f.Kind {
	case KindNumeric:
		x, ok := numberValue(v, present)
		if !ok {
			x = c.f.Default
		}
		out[0] = c.finish(x)
	case KindEquals:
		s, _ := stringValue(v, present)
		b := 0.0
		if s == c.f.Value {
			b = 1
		}
		out[0] = c.finish(b)
	case KindCategorical:
		s, _ := stringValue(v, present)
		if c.f.Lower {
			s = strings.ToLower(s)
		}
		j, ok := c.vocab[s]
		if c.f.Encoding == "index" {
			if !ok {
				j = len(c.f.Vocab)
			}
			out[0] = c.finish(float64(j))
			return
		}
		zero := c.finish(0)
		for k := range out {
			out[k] = zero
		}
		if ok {
			out[j] = c.finish(1)
		} else if c.f.Other {
			out[len(out)-1] = c.finish(1)
		}
	case KindLexical:
		s, _ := stringValue(v, present)
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
	case KindCharLM:
		s, _ := stringValue(v, present)
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
	for _, t := range c.f.Transforms {
		switch t.Op {
		case "log1p":
			if v < 0 {
				v = -math.Log1p(-v)
			} else {
				v = math.Log1p(v)
			}
		case "clip":
			v = math.Min(math.Max(v, t.Min), t.Max)
		case "scale":
			v = (v - t.Offset) * t.Factor
		case "standardize":
			s := t.Std
			if s == 0 {
				s = 1
			}
			v = (v - t.Mean) / s
		}
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return float32(v)
}

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
