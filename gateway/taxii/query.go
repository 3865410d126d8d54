package taxii

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway/intel"
)

// filter is a request's paging and match parameters, parsed.
type filter struct {
	after      intel.Position
	addedAfter time.Time
	limit      int
	ids        []string
	types      []string
	versions   []string // "first", "last", "all" or timestamps; default last
	specs      []string // default: the latest, 2.1
}

// timestampLayout is how TAXII timestamps are written: RFC 3339, UTC,
// microseconds (what the catalog keeps).
const timestampLayout = "2006-01-02T15:04:05.000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timestampLayout) }

// parseFilter reads the parameters allowed (a set of names) from q.
// Unknown match[...] fields and malformed values are 400s naming the
// parameter.
func (s *Server) parseFilter(g intel.Group, rawQuery string, allowed ...string) (filter, *apiError) {
	f := filter{limit: s.cfg.DefaultLimit, versions: []string{"last"}, specs: []string{"2.1"}}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return f, badRequest("the query string does not parse: " + err.Error())
	}
	for name, vals := range q {
		if !slices.Contains(allowed, name) {
			return f, badRequest("parameter " + name + " is not supported here (supported: " + strings.Join(allowed, ", ") + ")")
		}
		if len(vals) != 1 {
			return f, badRequest("parameter " + name + " is given more than once")
		}
		v := vals[0]
		switch name {
		case "added_after":
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return f, badRequest("added_after must be an RFC 3339 timestamp such as 2026-01-02T03:04:05.000Z (got " + quoteOr(v, "empty") + ")")
			}
			f.addedAfter = t
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return f, badRequest("limit must be a positive integer (got " + quoteOr(v, "empty") + ")")
			}
			f.limit = min(n, s.cfg.MaxLimit)
		case "next":
			p, err := DecodeCursor(g, v)
			if err != nil {
				return f, badRequest(err.Error())
			}
			f.after = p
		case "match[id]":
			f.ids = splitList(v)
		case "match[type]":
			f.types = splitList(v)
		case "match[version]":
			f.versions = splitList(v)
			for _, x := range f.versions {
				if x == "first" || x == "last" || x == "all" {
					continue
				}
				if _, err := time.Parse(time.RFC3339Nano, x); err != nil {
					return f, badRequest("match[version] takes first, last, all or RFC 3339 timestamps (got " + quoteOr(x, "empty") + ")")
				}
			}
		case "match[spec_version]":
			f.specs = splitList(v)
		}
		if strings.HasPrefix(name, "match[") && len(splitList(v)) == 0 {
			return f, badRequest(name + " is empty")
		}
	}
	return f, nil
}

func splitList(v string) []string {
	var out []string
	for _, x := range strings.Split(v, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// matches applies the match[...] parameters to one version.
func (f *filter) matches(o intel.Object) bool {
	if len(f.ids) > 0 && !slices.Contains(f.ids, o.ID) {
		return false
	}
	if len(f.types) > 0 && !slices.Contains(f.types, o.Type) {
		return false
	}
	if !slices.Contains(f.specs, o.SpecVersion) {
		return false
	}
	for _, v := range f.versions {
		switch v {
		case "all":
			return true
		case "first":
			if o.First {
				return true
			}
		case "last":
			if o.Latest {
				return true
			}
		default:
			if sameInstant(v, o.Version) {
				return true
			}
		}
	}
	return false
}

// sameInstant compares two timestamps as instants (precision and zone
// spelling may differ), falling back to string equality.
func sameInstant(a, b string) bool {
	ta, ea := time.Parse(time.RFC3339Nano, a)
	tb, eb := time.Parse(time.RFC3339Nano, b)
	if ea != nil || eb != nil {
		return a == b
	}
	return ta.Equal(tb)
}

// page is one page of matching versions.
type page struct {
	objs []intel.Object
	more bool
}

// scan collects up to f.limit matching versions of g (only those of
// stixID when it is set) and whether more follow.
func (s *Server) scan(ctx context.Context, g intel.Group, f filter) (page, error) {
	var p page
	err := s.deps.Source.Scan(ctx, g, f.after, f.addedAfter, func(o intel.Object) bool {
		if !f.matches(o) {
			return true
		}
		if len(p.objs) == f.limit {
			p.more = true
			return false
		}
		p.objs = append(p.objs, o)
		return true
	})
	return p, err
}
