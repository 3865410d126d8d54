package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"sync"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// session is one signed-in person: who (the credential's name), what the
// credential allows, the CSRF token of its forms and when it ends.
type session struct {
	id      string
	name    string
	analyst bool
	csrf    string
	created time.Time
	expires time.Time
}

// sessions is the in-memory session store: a restart signs everyone out.
// It holds at most max sessions; when full, the oldest is dropped.
type sessions struct {
	mu    sync.Mutex
	ttl   time.Duration
	max   int
	now   func() time.Time
	byID  map[string]*session
	order []string // creation order, for eviction
}

func newSessions(ttl time.Duration, max int, now func() time.Time) *sessions {
	return &sessions{ttl: ttl, max: max, now: now, byID: map[string]*session{}}
}

// randomToken returns 32 random bytes, base64url.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session for credential c.
func (s *sessions) create(c gateway.Credential) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.sweepLocked(now)
	for len(s.byID) >= s.max && len(s.order) > 0 {
		delete(s.byID, s.order[0])
		s.order = s.order[1:]
	}
	ss := &session{id: randomToken(), name: c.Name, analyst: c.Has(gateway.ScopeAnalyst), csrf: randomToken(),
		created: now, expires: now.Add(s.ttl)}
	s.byID[ss.id] = ss
	s.order = append(s.order, ss.id)
	return ss
}

// lookupResult says why a cookie did not yield a session.
type lookupResult int

const (
	sessionOK lookupResult = iota
	sessionUnknown
	sessionExpired
)

// get returns the live session with id.
func (s *sessions) get(id string) (*session, lookupResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.byID[id]
	if !ok {
		return nil, sessionUnknown
	}
	if !s.now().Before(ss.expires) {
		s.removeLocked(id)
		return nil, sessionExpired
	}
	return ss, sessionOK
}

// remove ends a session (sign-out).
func (s *sessions) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removeLocked(id)
}

func (s *sessions) removeLocked(id string) {
	delete(s.byID, id)
	for i, o := range s.order {
		if o == id {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
}

// sweepLocked drops expired sessions (sessions expire in creation order).
func (s *sessions) sweepLocked(now time.Time) {
	i := 0
	for ; i < len(s.order); i++ {
		ss := s.byID[s.order[i]]
		if ss != nil && now.Before(ss.expires) {
			break
		}
		delete(s.byID, s.order[i])
	}
	s.order = s.order[i:]
}

// tokenEqual compares secrets in constant time.
func tokenEqual(a, b string) bool {
	return len(a) > 0 && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
