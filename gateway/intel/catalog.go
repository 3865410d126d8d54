package intel

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// Position is the place of one indicator version in ledger order: the
// block of its transaction, the transaction's index in that block and the
// indicator's index in the transaction. Every gateway of an organisation
// derives the same positions from the same ledger, so a cursor built on a
// position (TAXII's next) is served identically by any of them, and unlike
// a timestamp it is unique even when one transaction shares thousands of
// indicators.
type Position struct {
	Block uint64
	Tx    uint32
	Index uint32
}

// Compare orders positions as the ledger does: -1, 0 or +1.
func (p Position) Compare(q Position) int {
	if c := cmp.Compare(p.Block, q.Block); c != 0 {
		return c
	}
	if c := cmp.Compare(p.Tx, q.Tx); c != 0 {
		return c
	}
	return cmp.Compare(p.Index, q.Index)
}

// IsZero reports whether p is the zero position, "before everything".
func (p Position) IsZero() bool { return p == Position{} }

// Group is a set of TLP markings served together (one TAXII collection).
type Group string

// The groups. An organisation's catalog holds only what it may read, so
// GroupAmber holds AMBER and AMBER+STRICT indicators addressed to it.
const (
	GroupShared Group = "shared" // TLP CLEAR and GREEN
	GroupAmber  Group = "amber"  // TLP AMBER and AMBER+STRICT
)

// Groups lists every group in a fixed order.
var Groups = []Group{GroupShared, GroupAmber}

// GroupOf returns the group of a TLP marking; RED and unknown markings
// belong to none (they are never shared).
func GroupOf(tlp string) (Group, bool) {
	switch tlp {
	case wire.TLPClear, wire.TLPGreen:
		return GroupShared, true
	case wire.TLPAmber, wire.TLPAmberStrict:
		return GroupAmber, true
	}
	return "", false
}

// Object is one version of one STIX object in the catalog.
type Object struct {
	// ID is the STIX id ("indicator--…").
	ID string
	// Type is the STIX type ("indicator").
	Type string
	// Version is the STIX "modified" timestamp as Body carries it.
	Version string
	// SpecVersion is the STIX version of Body ("2.1").
	SpecVersion string
	// DateAdded is when the version was committed; Add keeps it
	// non-decreasing within a group.
	DateAdded time.Time
	// Pos is the version's place in ledger order.
	Pos Position
	// Body is the STIX object exactly as served.
	Body json.RawMessage
	// First and Latest say whether this is the first or the latest
	// version of ID the group holds; Scan and Versions set them (Add
	// ignores them), so TAXII's match[version]=first|last needs no
	// second lookup.
	First, Latest bool
}

// OutOfOrderError reports an Add whose position is not after the group's
// last one; the catalog is unchanged.
type OutOfOrderError struct {
	Group     Group
	Pos, Last Position
}

func (e *OutOfOrderError) Error() string {
	return fmt.Sprintf("intel catalog %s: position %v is not after the last position %v", e.Group, e.Pos, e.Last)
}

// Catalog is the organisation's readable indicators as STIX objects, per
// group, in ledger order: the data TAXII pages over. It lives in memory
// (the sync rebuilds it from the ledger); it is safe for concurrent use.
// Appends are O(1), a seek by position or by date added is a binary
// search, so a page costs the same at the end of a million objects as at
// the start.
type Catalog struct {
	mu     sync.RWMutex
	groups map[Group]*groupIndex
}

type groupIndex struct {
	objs []Object
	gone []bool           // parallel to objs: removed by a purge
	byID map[string][]int // STIX id → indexes into objs, in order
	live int
}

// NewCatalog returns an empty catalog.
func NewCatalog() *Catalog {
	c := &Catalog{groups: make(map[Group]*groupIndex, len(Groups))}
	for _, g := range Groups {
		c.groups[g] = &groupIndex{byID: map[string][]int{}}
	}
	return c
}

func (c *Catalog) group(g Group) (*groupIndex, error) {
	gi, ok := c.groups[g]
	if !ok {
		return nil, fmt.Errorf("intel catalog: unknown group %q", g)
	}
	return gi, nil
}

// Add appends one version to g. o.Pos must be after every position already
// in g, else it returns *OutOfOrderError and changes nothing — except that
// re-adding the last version (same position, id and version) is a no-op,
// so a replayed ledger event is harmless, and so is a later record of a
// version g already serves (the same STIX object shared again). DateAdded is raised to the
// group's last DateAdded when it is earlier (transaction timestamps are
// the clients', not strictly increasing), which keeps added_after seeks
// exact.
func (c *Catalog) Add(g Group, o Object) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	gi, err := c.group(g)
	if err != nil {
		return err
	}
	// Microseconds: what a TAXII timestamp carries, so a client that feeds
	// a served date back as added_after gets exactly what came after it.
	o.DateAdded = o.DateAdded.Truncate(time.Microsecond)
	if n := len(gi.objs); n > 0 {
		last := gi.objs[n-1]
		switch d := o.Pos.Compare(last.Pos); {
		case d == 0 && o.ID == last.ID && o.Version == last.Version:
			return nil
		case d <= 0:
			return &OutOfOrderError{Group: g, Pos: o.Pos, Last: last.Pos}
		}
		if o.DateAdded.Before(last.DateAdded) {
			o.DateAdded = last.DateAdded
		}
	}
	// One STIX object version is served once: the same object can reach
	// the ledger twice (re-shared under a rotated key, or by two members),
	// and TAXII identifies a version by (id, modified) alone.
	for _, i := range gi.byID[o.ID] {
		if !gi.gone[i] && gi.objs[i].Version == o.Version {
			return nil
		}
	}
	o.First, o.Latest = false, false
	gi.byID[o.ID] = append(gi.byID[o.ID], len(gi.objs))
	gi.objs = append(gi.objs, o)
	gi.gone = append(gi.gone, false)
	gi.live++
	return nil
}

// Remove drops every version of stixID from g (a purge removed its
// plaintext); positions of other objects are unchanged.
func (c *Catalog) Remove(g Group, stixID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	gi, err := c.group(g)
	if err != nil {
		return
	}
	for _, i := range gi.byID[stixID] {
		if !gi.gone[i] {
			gi.gone[i] = true
			gi.objs[i].Body = nil
			gi.live--
		}
	}
	delete(gi.byID, stixID)
}

// Scan calls fn for every version in g whose position is after `after`
// and whose DateAdded is after addedAfter (zero: no bound), in ledger
// order, until fn returns false or ctx ends. fn runs under the catalog's
// read lock: it must not call the catalog.
func (c *Catalog) Scan(ctx context.Context, g Group, after Position, addedAfter time.Time, fn func(Object) bool) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	gi, err := c.group(g)
	if err != nil {
		return err
	}
	start := 0
	if !after.IsZero() {
		start, _ = slices.BinarySearchFunc(gi.objs, after, func(o Object, p Position) int {
			if o.Pos.Compare(p) <= 0 {
				return -1
			}
			return 1
		})
	}
	if !addedAfter.IsZero() {
		i, _ := slices.BinarySearchFunc(gi.objs, addedAfter, func(o Object, t time.Time) int {
			if !o.DateAdded.After(t) {
				return -1
			}
			return 1
		})
		start = max(start, i)
	}
	for i := start; i < len(gi.objs); i++ {
		if i%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if gi.gone[i] {
			continue
		}
		if !fn(gi.at(i)) {
			return nil
		}
	}
	return nil
}

// Versions returns every version of stixID in g in ledger order, nil when
// g holds none.
func (c *Catalog) Versions(ctx context.Context, g Group, stixID string) ([]Object, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	gi, err := c.group(g)
	if err != nil {
		return nil, err
	}
	var out []Object
	for _, i := range gi.byID[stixID] {
		if !gi.gone[i] {
			out = append(out, gi.at(i))
		}
	}
	return out, ctx.Err()
}

// at returns version i with First and Latest set.
func (gi *groupIndex) at(i int) Object {
	o := gi.objs[i]
	if ids := gi.byID[o.ID]; len(ids) > 0 {
		o.First, o.Latest = ids[0] == i, ids[len(ids)-1] == i
	}
	return o
}

// Len returns the number of versions g holds.
func (c *Catalog) Len(g Group) int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if gi, ok := c.groups[g]; ok {
		return gi.live
	}
	return 0
}
