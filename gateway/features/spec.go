// Package features turns gateway events into the numeric feature vectors
// detection models consume. It is the one implementation of feature
// extraction in the project: the gateway's scorer calls it at serving time
// and `ledgerguard features` calls it to write the training matrices, so
// training and serving can never disagree about a feature.
//
// What a model sees is described by data, not code: a Spec (the "features"
// section of a model's manifest) lists the features in column order, each
// one of a few kinds — numeric fields, categorical fields with a vocabulary,
// lexical statistics of strings, and sliding-window aggregates over the
// event stream — followed by optional transforms (log1p, clipping,
// scaling).
//
// Guarantees: Compile validates a Spec completely, so an Engine never fails
// on a well-formed spec at extraction time; Extract never panics on any
// event and maps missing or unparsable values to the feature's default;
// the same sequence of events always yields the same vectors (no clocks,
// no randomness, no map-order dependence: window time is the event's own
// time); window state is bounded by the spec's MaxKeys × MaxEvents.
package features

import (
	"fmt"
	"time"
)

// Kind is the kind of one feature.
type Kind string

// The feature kinds.
const (
	// KindNumeric reads a number (int, float, json.Number, numeric string,
	// bool as 0/1) from Field.
	KindNumeric Kind = "numeric"
	// KindCategorical maps the string value of Field onto Vocab: either
	// one column per vocabulary entry (Encoding "onehot", plus an "other"
	// column when Other is set) or one column holding the index (Encoding
	// "index"; values outside the vocabulary get len(Vocab)).
	KindCategorical Kind = "categorical"
	// KindLexical computes string statistics of Field, one column per entry
	// of Stats (see LexicalStats).
	KindLexical Kind = "lexical"
	// KindWindow reads an aggregate (Agg) of the sliding window named by
	// Window, for the current event's key, after the event was added.
	KindWindow Kind = "window"
	// KindEquals is 1 when the string value of Field equals Value, else 0.
	KindEquals Kind = "equals"
)

// Spec describes a model's input vector: the windows the engine maintains
// and the features, in column order.
type Spec struct {
	// Windows are the sliding-window aggregators the window features read.
	Windows []WindowSpec `json:"windows,omitempty"`
	// Features are the features in column order. A feature may produce
	// several columns (one-hot, lexical).
	Features []Feature `json:"features"`
}

// Feature is one entry of a Spec.
type Feature struct {
	// Name names the column (or, for multi-column kinds, prefixes
	// "name.entry").
	Name string `json:"name"`
	// Kind is the feature kind.
	Kind Kind `json:"kind"`
	// Field is the event field read (a Fields key such as "source.ip", or
	// one of the pseudo-fields "@class", "@sourcetype", "@host").
	// Ignored for window features.
	Field string `json:"field,omitempty"`
	// Default is the value used when the field is missing or unparsable
	// (numeric and window kinds) before transforms.
	Default float64 `json:"default,omitempty"`
	// Vocab is the categorical vocabulary (kind categorical).
	Vocab []string `json:"vocab,omitempty"`
	// Encoding is "onehot" (default) or "index" (kind categorical).
	Encoding string `json:"encoding,omitempty"`
	// Other adds an "other" column to a one-hot encoding for values not in
	// Vocab (kind categorical).
	Other bool `json:"other,omitempty"`
	// Lower lower-cases categorical values before lookup.
	Lower bool `json:"lower,omitempty"`
	// Value is the string compared against (kind equals).
	Value string `json:"value,omitempty"`
	// Stats lists the lexical statistics computed (kind lexical).
	Stats []string `json:"stats,omitempty"`
	// Part selects what part of a domain name lexical stats read: "full"
	// (default: the whole string, lower-cased, trailing dot removed) or
	// "sld" (the label left of the public suffix, see RegistrableLabel).
	Part string `json:"part,omitempty"`
	// Window names the WindowSpec (kind window).
	Window string `json:"window,omitempty"`
	// Agg is the window aggregate: "count", "distinct", "rate" (count per
	// second of window) or "matched_ratio" (count / all events of the key,
	// the window's filter applied to the numerator only).
	Agg string `json:"agg,omitempty"`
	// Transforms are applied in order to every column of the feature.
	Transforms []Transform `json:"transforms,omitempty"`
}

// Transform is one numeric transform.
type Transform struct {
	// Op is "log1p" (sign-preserving: sign(x)·ln(1+|x|)), "clip"
	// (to [Min, Max]), "scale" ((x − Offset) · Factor) or "standardize"
	// ((x − Mean) / Std, Std 0 treated as 1).
	Op     string  `json:"op"`
	Min    float64 `json:"min,omitempty"`
	Max    float64 `json:"max,omitempty"`
	Offset float64 `json:"offset,omitempty"`
	Factor float64 `json:"factor,omitempty"`
	Mean   float64 `json:"mean,omitempty"`
	Std    float64 `json:"std,omitempty"`
}

// WindowSpec is a per-key sliding window over the event stream: for each
// value of Key it remembers the times (and, when Distinct is set, a hash of
// the Distinct field) of the most recent events within Size. Events that
// lack every Key field are not counted and read as zero.
type WindowSpec struct {
	// Name is how features refer to the window.
	Name string `json:"name"`
	// Key lists fields; the first present one is the key (so
	// ["source.ip", "source.domain"] keys by IP, else by host name).
	// Prefix a field with "+" to concatenate it to the previous key part
	// instead (per-pair windows, e.g. ["source.ip", "+user.name"]).
	Key []string `json:"key"`
	// Size is the window length (Go duration, e.g. "10m").
	Size Duration `json:"size"`
	// Filter, when set, restricts the events counted to those whose fields
	// equal these string values (e.g. {"event.outcome": "failure"}).
	// matched_ratio divides by the unfiltered count.
	Filter map[string]string `json:"filter,omitempty"`
	// Distinct names the field whose distinct values "distinct" counts.
	Distinct string `json:"distinct,omitempty"`
	// MaxKeys bounds the number of keys remembered (default 65536); when
	// full, the key least recently seen is forgotten.
	MaxKeys int `json:"max_keys,omitempty"`
	// MaxEvents bounds the events remembered per key (default 1024); past
	// it the oldest are dropped, so counts saturate at MaxEvents.
	MaxEvents int `json:"max_events,omitempty"`
}

// Duration is a time.Duration that reads and writes JSON as a Go duration
// string ("90s", "10m").
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf("%q", time.Duration(d).String())), nil
}

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("duration must be a string such as \"10m\", got %s", b)
	}
	v, err := time.ParseDuration(string(b[1 : len(b)-1]))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}
