package esbulk

import (
	"strings"
	"time"
)

var zeroTime time.Time

// Header values official Elasticsearch clients check: since 7.14 they refuse
// a 2xx answer without X-Elastic-Product: Elasticsearch.
const (
	HeaderProduct      = "X-Elastic-Product"
	HeaderProductValue = "Elasticsearch"
	contentTypeJSON    = "application/json"
	contentTypeCompat  = "application/vnd.elasticsearch+json;compatible-with=8"
)

// ContentType returns the Content-Type to answer with: the versioned
// compatibility media type when the client asked for it (the 8.x clients
// send "compatible-with=8" in Accept or Content-Type), else
// application/json.
func ContentType(requestAccept, requestContentType string) string {
	if strings.Contains(requestAccept, "compatible-with=") || strings.Contains(requestContentType, "compatible-with=") {
		return contentTypeCompat
	}
	return contentTypeJSON
}

// Headers returns the response headers for any answer to a client that
// believes it talks to Elasticsearch.
func Headers(requestAccept, requestContentType string) map[string]string {
	return map[string]string{
		HeaderProduct:  HeaderProductValue,
		"Content-Type": ContentType(requestAccept, requestContentType),
	}
}

// BulkResponse is the JSON body of a _bulk answer.
type BulkResponse struct {
	Took   int64                   `json:"took"`
	Errors bool                    `json:"errors"`
	Items  []map[string]ItemResult `json:"items"`
}

// ItemResult is one entry of items[], keyed by the action name.
type ItemResult struct {
	Index       string     `json:"_index"`
	ID          string     `json:"_id"`
	Version     int64      `json:"_version,omitempty"`
	Result      string     `json:"result,omitempty"`
	Shards      *Shards    `json:"_shards,omitempty"`
	SeqNo       *uint64    `json:"_seq_no,omitempty"`
	PrimaryTerm int64      `json:"_primary_term,omitempty"`
	Status      int        `json:"status"`
	Error       *ItemError `json:"error,omitempty"`
}

// Shards is the _shards object of a successful item.
type Shards struct {
	Total      int `json:"total"`
	Successful int `json:"successful"`
	Failed     int `json:"failed"`
}

// NewBulkResponse shapes the answer for a parsed request once its events
// are stored. seq returns the store's sequence number for Events[i] (used as
// _seq_no; pass nil to omit it); took is the handling time.
func NewBulkResponse(r Result, took time.Duration, seq func(event int) uint64) BulkResponse {
	out := BulkResponse{Took: took.Milliseconds(), Errors: r.Errors(), Items: make([]map[string]ItemResult, len(r.Items))}
	for i, it := range r.Items {
		ir := ItemResult{Index: it.Index, ID: it.ID, Status: it.Status, Error: it.Error}
		if it.Error == nil {
			ir.Version = 1
			ir.Result = "created"
			ir.Shards = &Shards{Total: 1, Successful: 1}
			ir.PrimaryTerm = 1
			if seq != nil && it.Event >= 0 {
				s := seq(it.Event)
				ir.SeqNo = &s
			}
		}
		out.Items[i] = map[string]ItemResult{it.Action: ir}
	}
	return out
}

// DefaultVersion is the Elasticsearch version the gateway claims. Beats and
// Logstash refuse a cluster older than themselves (same major, and for
// Beats not an older minor), so it is the last 8.x minor; set a 9.x version
// in Info for 9.x shippers.
const DefaultVersion = "8.19.0"

// InfoResponse is the body of GET /, which shippers read to check the
// product and version before sending.
type InfoResponse struct {
	Name        string      `json:"name"`
	ClusterName string      `json:"cluster_name"`
	ClusterUUID string      `json:"cluster_uuid"`
	Version     InfoVersion `json:"version"`
	Tagline     string      `json:"tagline"`
}

// InfoVersion is the version object of InfoResponse.
type InfoVersion struct {
	Number                           string `json:"number"`
	BuildFlavor                      string `json:"build_flavor"`
	BuildType                        string `json:"build_type"`
	BuildHash                        string `json:"build_hash"`
	BuildDate                        string `json:"build_date"`
	BuildSnapshot                    bool   `json:"build_snapshot"`
	LuceneVersion                    string `json:"lucene_version"`
	MinimumWireCompatibilityVersion  string `json:"minimum_wire_compatibility_version"`
	MinimumIndexCompatibilityVersion string `json:"minimum_index_compatibility_version"`
}

// Info returns the GET / body. name names the node and cluster, uuid is a
// stable cluster id (the caller's; shippers only display it), version is
// the claimed Elasticsearch version ("" for DefaultVersion).
func Info(name, uuid, version string) InfoResponse {
	if version == "" {
		version = DefaultVersion
	}
	return InfoResponse{
		Name:        name,
		ClusterName: name,
		ClusterUUID: uuid,
		Version: InfoVersion{
			Number:                           version,
			BuildFlavor:                      "default",
			BuildType:                        "ledgerguard",
			BuildHash:                        "ledgerguard",
			BuildDate:                        "2026-01-01T00:00:00.000000000Z",
			LuceneVersion:                    "9.12.0",
			MinimumWireCompatibilityVersion:  "7.17.0",
			MinimumIndexCompatibilityVersion: "7.0.0",
		},
		Tagline: "You Know, for Search",
	}
}
