package features

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// Mapping says how the rows of a raw dataset file become gateway events, so
// the training pipeline, the evaluation and the demo replay public datasets
// through exactly the path live events take. It is part of a model's
// manifest (the "datasets" section, by name).
//
// Field naming for CSV rows: a column listed in Fields gets that event
// field name (so "Src IP" can become "source.ip"); every other column
// becomes Prefix + the column name lower-cased with each run of characters
// other than letters and digits replaced by "_" ("Flow Duration" with
// prefix "cic." → "cic.flow_duration"; NSL-KDD's src_bytes with prefix
// "kdd." → "kdd.src_bytes"). Values that parse as numbers are stored as
// float64, all others as strings; empty values are left out.
type Mapping struct {
	// Format is "csv", "lines" (one value per line into TextField),
	// "json_array" (a JSON array of objects; Fields maps keys) or "log"
	// (lines decoded by the gateway's own normaliser, supplied by the
	// caller as a LineDecoder).
	Format string `json:"format"`
	// Class and Sourcetype are given to the events made (a "log" decoder
	// sets its own).
	Class      gateway.Class `json:"class,omitempty"`
	Sourcetype string        `json:"sourcetype,omitempty"`
	// Header says the CSV's first row names the columns; otherwise Columns
	// does.
	Header  bool     `json:"header,omitempty"`
	Columns []string `json:"columns,omitempty"`
	// Delimiter is the CSV field separator, one character ("\t" for Zeek's
	// TSV logs; default ","). Comment, when set, is the character that
	// starts a line to skip ("#" for Zeek's header lines, so Columns must
	// name the columns).
	Delimiter string `json:"delimiter,omitempty"`
	Comment   string `json:"comment,omitempty"`
	// Prefix is prepended to derived field names.
	Prefix string `json:"prefix,omitempty"`
	// Fields maps a column (or JSON key) to an explicit event field name.
	Fields map[string]string `json:"fields,omitempty"`
	// Skip lists columns not turned into fields (labels, row ids).
	Skip []string `json:"skip,omitempty"`
	// TextField is the event field a "lines" row is stored in.
	TextField string `json:"text_field,omitempty"`
	// TimeColumn and TimeLayout give the event time (Go layout, UTC).
	TimeColumn string `json:"time_column,omitempty"`
	TimeLayout string `json:"time_layout,omitempty"`
	// RefTime resolves year-less log timestamps (RFC 3339).
	RefTime string `json:"ref_time,omitempty"`
	// LabelColumn holds the raw label of a CSV row.
	LabelColumn string `json:"label_column,omitempty"`
	// LabelMap maps a raw label to the model's label; raw labels not in it
	// map to LabelDefault when that is set, else stay as they are.
	LabelMap     map[string]string `json:"label_map,omitempty"`
	LabelDefault string            `json:"label_default,omitempty"`
	// GroupMap maps a raw label to a reporting group (e.g. NSL-KDD attack
	// name → DoS/Probe/R2L/U2R); unmapped raw labels are their own group.
	GroupMap map[string]string `json:"group_map,omitempty"`
	// LabelRule, when set, labels the events of a whole file in hindsight
	// (see LabelRule); the file is read fully before rows are emitted.
	LabelRule *LabelRule `json:"label_rule,omitempty"`
}

// LabelRule labels events by what their key did over the whole file: every
// event of a key with at least MinCount matching events, and at least
// MinDistinct distinct values of Distinct among them, gets Label; all other
// events get Else. This is a weak, hindsight label (it sees the future of
// the file), so a model that scores each event causally from sliding
// windows is not simply re-learning it: it must flag the key early.
type LabelRule struct {
	Key         []string          `json:"key"`
	Filter      map[string]string `json:"filter,omitempty"`
	Distinct    string            `json:"distinct,omitempty"`
	MinCount    int               `json:"min_count"`
	MinDistinct int               `json:"min_distinct,omitempty"`
	Label       string            `json:"label"`
	Else        string            `json:"else"`
}

// Row is one dataset row as an event, with its labels.
type Row struct {
	// Index is the 0-based row number in the file (data rows only).
	Index int
	Event gateway.Event
	// RawLabel is the dataset's own label; Label the model's; Group the
	// reporting group.
	RawLabel, Label, Group string
}

// LineDecoder turns one log line into an event; ok false skips the line.
// The gateway's ingest normaliser is wired in by the command (features
// must not import an adapter).
type LineDecoder func(line []byte) (ev gateway.Event, ok bool)

// ErrDataset is the sentinel wrapped by dataset reading errors.
var ErrDataset = errors.New("dataset")

// DatasetError locates a dataset reading failure.
type DatasetError struct {
	Path string
	Row  int
	Err  error
}

func (e *DatasetError) Error() string {
	return fmt.Sprintf("%v %s row %d: %v", ErrDataset, e.Path, e.Row, e.Err)
}

// Unwrap returns the cause; errors.Is(err, ErrDataset) also holds.
func (e *DatasetError) Unwrap() []error { return []error{ErrDataset, e.Err} }

// Open opens a dataset file, transparently decompressing ".gz" files and
// reading the first entry of ".zip" files (how the shared data ships).
func Open(path string) (io.ReadCloser, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".gz":
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		z, err := gzip.NewReader(bufio.NewReader(f))
		if err != nil {
			f.Close()
			return nil, &DatasetError{path, 0, err}
		}
		return struct {
			io.Reader
			io.Closer
		}{z, f}, nil
	case ".zip":
		z, err := zip.OpenReader(path)
		if err != nil {
			return nil, &DatasetError{path, 0, err}
		}
		for _, zf := range z.File {
			if zf.FileInfo().IsDir() {
				continue
			}
			r, err := zf.Open()
			if err != nil {
				z.Close()
				return nil, &DatasetError{path, 0, err}
			}
			return struct {
				io.Reader
				io.Closer
			}{r, z}, nil
		}
		z.Close()
		return nil, &DatasetError{path, 0, errors.New("empty zip")}
	}
	return os.Open(path)
}

// FieldName returns the event field a CSV column maps to (see Mapping).
func (m *Mapping) FieldName(column string) string {
	if f, ok := m.Fields[column]; ok {
		return f
	}
	var b strings.Builder
	b.WriteString(m.Prefix)
	under := false
	for _, r := range strings.TrimSpace(column) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
			under = false
		} else if !under {
			b.WriteByte('_')
			under = true
		}
	}
	return b.String()
}

func (m *Mapping) label(raw string) (label, group string) {
	label = raw
	if l, ok := m.LabelMap[raw]; ok {
		label = l
	} else if m.LabelDefault != "" {
		label = m.LabelDefault
	}
	group = raw
	if g, ok := m.GroupMap[raw]; ok {
		group = g
	}
	return label, group
}

// ReadRows reads the dataset r (named path in errors) with mapping m and
// calls fn for each row in file order. label, when not empty, is the raw
// label of every row (for files that hold one class, such as a list of one
// DGA family's domains). decode is required for the "log" format only.
func ReadRows(ctx context.Context, r io.Reader, path string, m Mapping, label string, decode LineDecoder, fn func(Row) error) error {
	emit := fn
	var held []Row
	if m.LabelRule != nil {
		emit = func(row Row) error { held = append(held, row); return nil }
	}
	var err error
	switch m.Format {
	case "csv":
		err = readCSV(ctx, r, path, m, label, emit)
	case "lines", "log":
		if m.Format == "log" && decode == nil {
			return &DatasetError{path, 0, errors.New("format log needs a line decoder")}
		}
		err = readLines(ctx, r, path, m, label, decode, emit)
	case "json_array":
		err = readJSONArray(ctx, r, path, m, label, emit)
	default:
		return &DatasetError{path, 0, fmt.Errorf("unknown format %q", m.Format)}
	}
	if err != nil || m.LabelRule == nil {
		return err
	}
	m.LabelRule.apply(held)
	for _, row := range held {
		if err := fn(row); err != nil {
			return err
		}
	}
	return nil
}

func (lr *LabelRule) apply(rows []Row) {
	w := newWindow(WindowSpec{Key: lr.Key, Filter: lr.Filter})
	type tally struct {
		n     int
		users map[string]bool
	}
	keys := make([]string, len(rows))
	t := map[string]*tally{}
	for i := range rows {
		ev := &rows[i].Event
		k := string(w.keyOf(ev, nil))
		keys[i] = k
		if k == "" || !w.matches(ev) {
			continue
		}
		c := t[k]
		if c == nil {
			c = &tally{users: map[string]bool{}}
			t[k] = c
		}
		c.n++
		if lr.Distinct != "" {
			if v, ok := stringField(ev, lr.Distinct); ok {
				c.users[v] = true
			}
		}
	}
	for i := range rows {
		c := t[keys[i]]
		lab := lr.Else
		if c != nil && c.n >= lr.MinCount && len(c.users) >= lr.MinDistinct {
			lab = lr.Label
		}
		rows[i].RawLabel, rows[i].Label, rows[i].Group = lab, lab, lab
	}
}

func (m *Mapping) newEvent(fields map[string]any) gateway.Event {
	return gateway.Event{Class: m.Class, Sourcetype: m.Sourcetype, Fields: fields}
}

func parseValue(s string) any {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f
	}
	return s
}

func readCSV(ctx context.Context, r io.Reader, path string, m Mapping, label string, fn func(Row) error) error {
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<16))
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	for _, o := range []struct {
		v   string
		dst *rune
	}{{m.Delimiter, &cr.Comma}, {m.Comment, &cr.Comment}} {
		if o.v == "" {
			continue
		}
		r := []rune(o.v)
		if len(r) != 1 {
			return &DatasetError{path, 0, fmt.Errorf("delimiter and comment must be one character, got %q", o.v)}
		}
		*o.dst = r[0]
	}
	cols := m.Columns
	line := 0
	if m.Header {
		h, err := cr.Read()
		if err != nil {
			return &DatasetError{path, 0, fmt.Errorf("header: %w", err)}
		}
		cols = append([]string(nil), h...)
		line++
	}
	if len(cols) == 0 {
		return &DatasetError{path, 0, errors.New("no columns: set header or columns")}
	}
	names := make([]string, len(cols))
	skip := map[string]bool{}
	for _, s := range m.Skip {
		skip[s] = true
	}
	labelIdx, timeIdx := -1, -1
	for i, c := range cols {
		names[i] = m.FieldName(c)
		if c == m.LabelColumn {
			labelIdx = i
		}
		if c == m.TimeColumn {
			timeIdx = i
		}
		if skip[c] || c == m.LabelColumn {
			names[i] = ""
		}
	}
	if m.LabelColumn != "" && labelIdx < 0 {
		return &DatasetError{path, 0, fmt.Errorf("label column %q not found", m.LabelColumn)}
	}
	for idx := 0; ; idx++ {
		if idx%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return &DatasetError{path, idx, err}
		}
		if len(rec) != len(cols) {
			return &DatasetError{path, idx, fmt.Errorf("%d fields, want %d", len(rec), len(cols))}
		}
		fields := make(map[string]any, len(cols))
		for i, v := range rec {
			if names[i] == "" || v == "" {
				continue
			}
			fields[names[i]] = parseValue(v)
		}
		ev := m.newEvent(fields)
		if timeIdx >= 0 {
			if t, err := time.Parse(m.TimeLayout, strings.TrimSpace(rec[timeIdx])); err == nil {
				ev.Time = t.UTC()
			}
		}
		raw := label
		if labelIdx >= 0 {
			raw = strings.TrimSpace(rec[labelIdx])
		}
		row := Row{Index: idx, Event: ev, RawLabel: raw}
		row.Label, row.Group = m.label(raw)
		if err := fn(row); err != nil {
			return err
		}
	}
}

func readLines(ctx context.Context, r io.Reader, path string, m Mapping, label string, decode LineDecoder, fn func(Row) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<20)
	idx := 0
	for sc.Scan() {
		if idx%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		line := bytes.TrimRight(sc.Bytes(), "\r")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var ev gateway.Event
		if m.Format == "log" {
			var ok bool
			if ev, ok = decode(line); !ok {
				continue
			}
		} else {
			ev = m.newEvent(map[string]any{m.TextField: string(bytes.TrimSpace(line))})
		}
		row := Row{Index: idx, Event: ev, RawLabel: label}
		row.Label, row.Group = m.label(label)
		if err := fn(row); err != nil {
			return err
		}
		idx++
	}
	if err := sc.Err(); err != nil {
		return &DatasetError{path, idx, err}
	}
	return nil
}

func readJSONArray(ctx context.Context, r io.Reader, path string, m Mapping, label string, fn func(Row) error) error {
	var objs []map[string]any
	d := json.NewDecoder(r)
	d.UseNumber()
	if err := d.Decode(&objs); err != nil {
		return &DatasetError{path, 0, err}
	}
	for idx, o := range objs {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fields := make(map[string]any, len(o))
		for k, v := range o {
			if n, ok := v.(json.Number); ok {
				f, err := n.Float64()
				if err == nil {
					v = f
				}
			}
			fields[m.FieldName(k)] = v
		}
		row := Row{Index: idx, Event: m.newEvent(fields), RawLabel: label}
		row.Label, row.Group = m.label(label)
		if err := fn(row); err != nil {
			return err
		}
	}
	return nil
}

// FileRef names a data file relative to the data directory, with its
// sha256 (of the file as stored) and row count.
type FileRef struct {
	Path    string `json:"path"`
	SHA256  string `json:"sha256,omitempty"`
	Mapping string `json:"mapping"`
	// Label is the raw label of every row, for one-class files.
	Label string `json:"label,omitempty"`
	Rows  int    `json:"rows,omitempty"`
	// Filter keeps only rows whose raw label is (or, with "!", is not) in
	// the list; used to hold families out (e.g. ["!conficker"]).
	Filter []string `json:"filter,omitempty"`
	// Select, when set, keeps part of this file's rows (applied before the
	// split's own Select), e.g. the last 20% of a list of benign domains.
	Select *Select `json:"select,omitempty"`
}

// Split is a named evaluation set: the dataset and split names reported by
// `ledgerguard models eval`, and its files. A split may be the later part
// of a file (RowsFrom) when the honest split is by capture order.
type Split struct {
	Dataset string    `json:"dataset"`
	Split   string    `json:"split"`
	Files   []FileRef `json:"files"`
	// Select keeps rows by position (see Select).
	Select *Select `json:"select,omitempty"`
	// Note explains the split (shown in reports).
	Note string `json:"note,omitempty"`
	// HeldOut, when not empty, makes the split a zero-day test: it names
	// the attack families (raw labels) absent from the model's training
	// data, which the split's name must also say. Evaluation reports the
	// detection rate at fixed false-positive rates for such splits.
	HeldOut []string `json:"held_out,omitempty"`
}

// Select keeps rows of a split by their ordinal position, so training and
// evaluation agree on a split without copying data: rows are ordered by
// OrderBy (an event field, e.g. the capture timestamp; file order when
// empty) and those with Fraction in [From, To) are kept.
type Select struct {
	OrderBy string  `json:"order_by,omitempty"`
	From    float64 `json:"from"`
	To      float64 `json:"to"`
	// PerGroup applies the fraction within each raw label separately
	// (each class is split by its own time order).
	PerGroup bool `json:"per_group,omitempty"`
}

// ReadSplit reads the rows of split from files under dataDir, using the
// named mappings, applies each file's label filter and the split's Select,
// and calls fn for each row: in file order, or in OrderBy order (stable)
// when the split orders its rows. Row.Index stays the row's position in its
// file. For "log" files, decoders is called once per file (decoders keep
// per-stream state such as Zeek headers) for the LineDecoder.
func ReadSplit(ctx context.Context, dataDir string, split Split, mappings map[string]Mapping, decoders func(Mapping) LineDecoder, fn func(file FileRef, row Row) error) error {
	var all []held
	for fi, f := range split.Files {
		m, ok := mappings[f.Mapping]
		if !ok {
			return &DatasetError{f.Path, 0, fmt.Errorf("unknown mapping %q", f.Mapping)}
		}
		path := filepath.Join(dataDir, f.Path)
		r, err := Open(path)
		if err != nil {
			return err
		}
		keep := labelFilter(f.Filter)
		var decode LineDecoder
		if decoders != nil {
			decode = decoders(m)
		}
		var rows []held
		err = ReadRows(ctx, r, path, m, f.Label, decode, func(row Row) error {
			if !keep(row.RawLabel) {
				return nil
			}
			if split.Select == nil && f.Select == nil {
				return fn(f, row)
			}
			rows = append(rows, held{fi, row})
			return nil
		})
		r.Close()
		if err != nil {
			return err
		}
		if f.Select != nil {
			rows = applySelect(rows, f.Select)
		}
		if split.Select == nil {
			for _, h := range rows {
				if err := fn(f, h.row); err != nil {
					return err
				}
			}
			continue
		}
		all = append(all, rows...)
	}
	if split.Select == nil {
		return nil
	}
	for _, h := range applySelect(all, split.Select) {
		if err := fn(split.Files[h.file], h.row); err != nil {
			return err
		}
	}
	return nil
}

type held struct {
	file int
	row  Row
}

// applySelect orders rows by sel.OrderBy (stable; "@time" is the event
// time) and keeps those whose fractional position, overall or within their
// raw label, lies in [From, To).
func applySelect(rows []held, sel *Select) []held {
	order := func(h held) float64 {
		if sel.OrderBy == "@time" {
			return float64(h.row.Event.Time.UnixNano())
		}
		v, _ := numberField(&h.row.Event, sel.OrderBy)
		return v
	}
	if sel.OrderBy != "" {
		sort.SliceStable(rows, func(i, j int) bool { return order(rows[i]) < order(rows[j]) })
	}
	groupOf := func(h held) string {
		if sel.PerGroup {
			return h.row.RawLabel
		}
		return ""
	}
	total := map[string]int{}
	for _, h := range rows {
		total[groupOf(h)]++
	}
	pos := map[string]int{}
	out := rows[:0:0]
	for _, h := range rows {
		g := groupOf(h)
		p := pos[g]
		pos[g]++
		frac := float64(p) / float64(total[g])
		if frac >= sel.From && frac < sel.To {
			out = append(out, h)
		}
	}
	return out
}

// labelFilter returns the predicate for a FileRef.Filter: entries without
// "!" form an allow list (empty: allow all), entries with "!" a deny list.
func labelFilter(list []string) func(string) bool {
	allow, deny := map[string]bool{}, map[string]bool{}
	for _, l := range list {
		if d, ok := strings.CutPrefix(l, "!"); ok {
			deny[d] = true
		} else {
			allow[l] = true
		}
	}
	return func(raw string) bool {
		if deny[raw] {
			return false
		}
		return len(allow) == 0 || allow[raw]
	}
}
