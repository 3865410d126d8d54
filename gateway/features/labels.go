package features

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ReadEventLabels reads a file mapping event ids to labels (for example
// analysts' dispositions of alerts, exported from the ledger), named path in
// errors. Three forms are accepted, told apart by the first non-blank byte:
//
//   - a JSON object {"<event id>": "<label>", ...};
//   - a JSON array of objects with "event_id" (or "id") and "label";
//   - CSV with a header row naming an "event_id" (or "id") column and a
//     "label" column; other columns are ignored.
//
// Ids and labels are trimmed; an empty id or label, or an id given two
// different labels, is an error (*DatasetError).
func ReadEventLabels(r io.Reader, path string) (map[string]string, error) {
	br := bufio.NewReader(r)
	first, err := firstByte(br)
	if err != nil {
		return nil, &DatasetError{path, 0, err}
	}
	out := map[string]string{}
	add := func(row int, id, label string) error {
		id, label = strings.TrimSpace(id), strings.TrimSpace(label)
		if id == "" || label == "" {
			return &DatasetError{path, row, errors.New("empty event id or label")}
		}
		if prev, ok := out[id]; ok && prev != label {
			return &DatasetError{path, row, fmt.Errorf("event %s labelled both %q and %q", id, prev, label)}
		}
		out[id] = label
		return nil
	}
	switch first {
	case '{':
		var m map[string]string
		if err := json.NewDecoder(br).Decode(&m); err != nil {
			return nil, &DatasetError{path, 0, err}
		}
		for id, l := range m {
			if err := add(0, id, l); err != nil {
				return nil, err
			}
		}
	case '[':
		var rows []struct {
			EventID string `json:"event_id"`
			ID      string `json:"id"`
			Label   string `json:"label"`
		}
		if err := json.NewDecoder(br).Decode(&rows); err != nil {
			return nil, &DatasetError{path, 0, err}
		}
		for i, r := range rows {
			id := r.EventID
			if id == "" {
				id = r.ID
			}
			if err := add(i, id, r.Label); err != nil {
				return nil, err
			}
		}
	default:
		cr := csv.NewReader(br)
		cr.FieldsPerRecord = -1
		h, err := cr.Read()
		if err != nil {
			return nil, &DatasetError{path, 0, fmt.Errorf("header: %w", err)}
		}
		idIdx, labelIdx := -1, -1
		for i, c := range h {
			switch strings.ToLower(strings.TrimSpace(c)) {
			case "event_id":
				idIdx = i
			case "id":
				if idIdx < 0 {
					idIdx = i
				}
			case "label":
				labelIdx = i
			}
		}
		if idIdx < 0 || labelIdx < 0 {
			return nil, &DatasetError{path, 0, errors.New(`header must name an "event_id" (or "id") and a "label" column`)}
		}
		for row := 0; ; row++ {
			rec, err := cr.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, &DatasetError{path, row, err}
			}
			if len(rec) <= max(idIdx, labelIdx) {
				return nil, &DatasetError{path, row, fmt.Errorf("%d fields", len(rec))}
			}
			if err := add(row, rec[idIdx], rec[labelIdx]); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// firstByte skips a UTF-8 byte order mark and blank space and returns the
// first other byte without consuming it.
func firstByte(br *bufio.Reader) (byte, error) {
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte("\ufeff")) {
		_, _ = br.Discard(3)
	}
	for {
		b, err := br.Peek(1)
		if err == io.EOF {
			return 0, errors.New("empty labels file")
		}
		if err != nil {
			return 0, err
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			_, _ = br.Discard(1)
		default:
			return b[0], nil
		}
	}
}
