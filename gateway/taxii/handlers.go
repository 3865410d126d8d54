package taxii

import (
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"net/http"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/intel"
)

// CollectionID returns the collection id of a group: a UUID (version 5
// layout) derived from the group's name, so every gateway of every
// organisation names the same group the same way.
func CollectionID(g intel.Group) string {
	h := sha1.Sum([]byte("ledgerguard/taxii/collection/" + string(g)))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

func (s *Server) rootURL() string { return Prefix + "/" + s.cfg.APIRoot + "/" }

func (s *Server) discovery(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"title":       s.cfg.Title,
		"description": "Threat intelligence shared on the ledgerguard ledger, as " + s.orgName() + " may read it",
		"default":     s.rootURL(),
		"api_roots":   []string{s.rootURL()},
	})
}

func (s *Server) orgName() string {
	if s.deps.Org == "" {
		return "this organisation"
	}
	return s.deps.Org
}

func (s *Server) apiRoot(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"title":              s.cfg.Title + " intel",
		"description":        "Indicators by TLP group; objects are in ledger order",
		"versions":           []string{MediaTAXII},
		"max_content_length": s.cfg.MaxContentLength,
	})
}

func (s *Server) collectionResource(g intel.Group) map[string]any {
	title, desc := "TLP:CLEAR and TLP:GREEN", "Indicators every member may read"
	if g == intel.GroupAmber {
		title, desc = "TLP:AMBER", "AMBER and AMBER+STRICT indicators addressed to "+s.orgName()
	}
	return map[string]any{
		"id":          CollectionID(g),
		"title":       title,
		"alias":       string(g),
		"description": desc,
		"can_read":    true,
		"can_write":   s.deps.Publisher != nil,
		"media_types": []string{MediaSTIX},
	}
}

func (s *Server) collections(w http.ResponseWriter, r *http.Request) {
	var cs []map[string]any
	for _, g := range intel.Groups {
		cs = append(cs, s.collectionResource(g))
	}
	writeJSON(w, http.StatusOK, map[string]any{"collections": cs})
}

func (s *Server) collection(w http.ResponseWriter, r *http.Request) {
	if g, ok := s.group(w, r); ok {
		writeJSON(w, http.StatusOK, s.collectionResource(g))
	}
}

// envelope is the TAXII 2.1 envelope resource.
type envelope struct {
	More    bool              `json:"more"`
	Next    string            `json:"next,omitempty"`
	Objects []json.RawMessage `json:"objects,omitempty"`
}

// dateHeaders sets X-TAXII-Date-Added-First/Last from a page.
func dateHeaders(w http.ResponseWriter, objs []intel.Object) {
	if len(objs) == 0 {
		return
	}
	w.Header().Set("X-TAXII-Date-Added-First", formatTime(objs[0].DateAdded))
	w.Header().Set("X-TAXII-Date-Added-Last", formatTime(objs[len(objs)-1].DateAdded))
}

func (s *Server) serveEnvelope(w http.ResponseWriter, r *http.Request, g intel.Group, f filter) {
	p, err := s.scan(r.Context(), g, f)
	if err != nil {
		s.sourceFailed(w, err)
		return
	}
	env := envelope{More: p.more, Objects: make([]json.RawMessage, 0, len(p.objs))}
	for _, o := range p.objs {
		env.Objects = append(env.Objects, o.Body)
	}
	if p.more {
		env.Next = EncodeCursor(g, p.objs[len(p.objs)-1].Pos)
	}
	dateHeaders(w, p.objs)
	writeJSON(w, http.StatusOK, env)
}

func (s *Server) sourceFailed(w http.ResponseWriter, err error) {
	s.log.Warn("taxii: reading the intel catalog failed", "err", err)
	writeError(w, &apiError{http.StatusServiceUnavailable, "unavailable", "the intel catalog could not be read; retry"})
}

func (s *Server) getObjects(w http.ResponseWriter, r *http.Request) {
	g, ok := s.group(w, r)
	if !ok {
		return
	}
	f, e := s.parseFilter(g, r.URL.RawQuery, "added_after", "limit", "next", "match[id]", "match[type]", "match[version]", "match[spec_version]")
	if e != nil {
		writeError(w, e)
		return
	}
	s.serveEnvelope(w, r, g, f)
}

func (s *Server) getObject(w http.ResponseWriter, r *http.Request) {
	g, ok := s.group(w, r)
	if !ok {
		return
	}
	f, e := s.parseFilter(g, r.URL.RawQuery, "added_after", "limit", "next", "match[version]", "match[spec_version]")
	if e != nil {
		writeError(w, e)
		return
	}
	id := r.PathValue("obj")
	if !s.known(w, r, g, id) {
		return
	}
	f.ids = []string{id}
	s.serveEnvelope(w, r, g, f)
}

// known answers 404 when the collection holds no version of id.
func (s *Server) known(w http.ResponseWriter, r *http.Request, g intel.Group, id string) bool {
	vs, err := s.deps.Source.Versions(r.Context(), g, id)
	if err != nil {
		s.sourceFailed(w, err)
		return false
	}
	if len(vs) == 0 {
		writeError(w, &apiError{http.StatusNotFound, "object not found", "collection " + string(g) + " holds no object " + id})
		return false
	}
	return true
}

func (s *Server) getVersions(w http.ResponseWriter, r *http.Request) {
	g, ok := s.group(w, r)
	if !ok {
		return
	}
	f, e := s.parseFilter(g, r.URL.RawQuery, "added_after", "limit", "next", "match[spec_version]")
	if e != nil {
		writeError(w, e)
		return
	}
	id := r.PathValue("obj")
	if !s.known(w, r, g, id) {
		return
	}
	f.ids, f.versions = []string{id}, []string{"all"}
	p, err := s.scan(r.Context(), g, f)
	if err != nil {
		s.sourceFailed(w, err)
		return
	}
	out := struct {
		More     bool     `json:"more"`
		Next     string   `json:"next,omitempty"`
		Versions []string `json:"versions,omitempty"`
	}{More: p.more}
	for _, o := range p.objs {
		out.Versions = append(out.Versions, o.Version)
	}
	if p.more {
		out.Next = EncodeCursor(g, p.objs[len(p.objs)-1].Pos)
	}
	dateHeaders(w, p.objs)
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getManifest(w http.ResponseWriter, r *http.Request) {
	g, ok := s.group(w, r)
	if !ok {
		return
	}
	f, e := s.parseFilter(g, r.URL.RawQuery, "added_after", "limit", "next", "match[id]", "match[type]", "match[version]", "match[spec_version]")
	if e != nil {
		writeError(w, e)
		return
	}
	p, err := s.scan(r.Context(), g, f)
	if err != nil {
		s.sourceFailed(w, err)
		return
	}
	type record struct {
		ID        string `json:"id"`
		DateAdded string `json:"date_added"`
		Version   string `json:"version"`
		MediaType string `json:"media_type"`
	}
	out := struct {
		More    bool     `json:"more"`
		Next    string   `json:"next,omitempty"`
		Objects []record `json:"objects,omitempty"`
	}{More: p.more}
	for _, o := range p.objs {
		out.Objects = append(out.Objects, record{o.ID, formatTime(o.DateAdded), o.Version, MediaSTIX})
	}
	if p.more {
		out.Next = EncodeCursor(g, p.objs[len(p.objs)-1].Pos)
	}
	dateHeaders(w, p.objs)
	writeJSON(w, http.StatusOK, out)
}

// publishStatus maps a Publisher error to a TAXII error: the envelope's
// fault is a 400 naming it, a ledger refusal a 4xx by its code, an
// unreachable ledger a 503 (nothing was shared; retry).
func publishStatus(err error) *apiError {
	var rej *gateway.LedgerRejectedError
	var unav *gateway.LedgerUnavailableError
	switch {
	case errors.As(err, &unav):
		return &apiError{http.StatusServiceUnavailable, "ledger unavailable", "nothing was shared; retry later: " + err.Error()}
	case errors.As(err, &rej):
		st := http.StatusBadRequest
		switch rej.Code {
		case wire.CodeDenied:
			st = http.StatusForbidden
		case wire.CodeConflict, wire.CodeState:
			st = http.StatusConflict
		case wire.CodeUnavailable:
			st = http.StatusServiceUnavailable
		}
		return &apiError{st, "ledger refused the share", "nothing was shared: " + rej.Reason}
	case gateway.ErrorCode(err) == gateway.CodeTooLarge:
		return &apiError{http.StatusRequestEntityTooLarge, "envelope over a limit", "nothing was shared: " + err.Error()}
	case gateway.ErrorCode(err).Class() == gateway.CodeInvalid:
		return badRequest("nothing was shared: " + err.Error())
	case gateway.ErrorCode(err) == gateway.CodeUnavailable:
		return &apiError{http.StatusServiceUnavailable, "unavailable", "nothing was shared; retry: " + err.Error()}
	}
	return &apiError{http.StatusInternalServerError, "internal error", "sharing failed: " + err.Error()}
}
