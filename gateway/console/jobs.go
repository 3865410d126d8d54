package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway/evidence"
)

// job is one bundle verification running in the background.
type job struct {
	id      string
	owner   string // session id: only its owner sees it
	name    string // the uploaded file's name
	online  bool
	started time.Time

	mu       sync.Mutex
	progress evidence.Progress
	done     bool
	ended    time.Time
	report   *evidence.Report
	err      error
	cancel   context.CancelFunc
}

// jobs runs at most max verifications at once and keeps finished ones
// for an hour.
type jobs struct {
	mu   sync.Mutex
	byID map[string]*job
	// reports are the compliance reports being produced or kept (reports.go).
	reports map[string]*reportJob
	sem     chan struct{}
	dir     string
	now     func() time.Time
}

func newJobs(max int, dir string, now func() time.Time) *jobs {
	return &jobs{byID: map[string]*job{}, reports: map[string]*reportJob{}, sem: make(chan struct{}, max), dir: dir, now: now}
}

func (js *jobs) get(id, owner string) *job {
	js.mu.Lock()
	defer js.mu.Unlock()
	j := js.byID[id]
	if j == nil || j.owner != owner {
		return nil
	}
	return j
}

func (js *jobs) expire(after time.Duration) {
	js.mu.Lock()
	defer js.mu.Unlock()
	now := js.now()
	for id, j := range js.byID {
		j.mu.Lock()
		old := j.done && now.Sub(j.ended) > after
		j.mu.Unlock()
		if old {
			delete(js.byID, id)
		}
	}
	for id, j := range js.reports {
		j.mu.Lock()
		old := j.done && now.Sub(j.ended) > after
		j.mu.Unlock()
		if old {
			delete(js.reports, id)
		}
	}
}

func (js *jobs) closeAll() {
	js.mu.Lock()
	defer js.mu.Unlock()
	for _, j := range js.byID {
		if j.cancel != nil {
			j.cancel()
		}
	}
	for _, j := range js.reports {
		j.cancel()
	}
}

// uploadError is a bad upload: its status and what to tell the person.
type uploadError struct {
	status int
	title  string
	msg    string
}

// receive reads the multipart upload: the csrf part first (checked
// against want before anything else is read), then optional online, then
// the bundle, written to a temporary file of at most max bytes.
func (js *jobs) receive(r *http.Request, want string, max int64) (path, name string, online bool, uerr *uploadError) {
	mr, err := r.MultipartReader()
	if err != nil {
		return "", "", false, &uploadError{http.StatusBadRequest, "Bad upload", "The request is not a multipart form upload: " + err.Error()}
	}
	csrfOK := false
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return "", "", false, tooLarge(max)
			}
			return "", "", false, &uploadError{http.StatusBadRequest, "Bad upload", "The upload could not be read: " + err.Error()}
		}
		switch p.FormName() {
		case "csrf":
			v, _ := io.ReadAll(io.LimitReader(p, 256))
			csrfOK = tokenEqual(string(v), want)
		case "online":
			online = true
		case "bundle":
			if !csrfOK {
				return "", "", false, csrfUpload()
			}
			if path != "" {
				os.Remove(path)
				return "", "", false, &uploadError{http.StatusBadRequest, "Bad upload", "Upload one bundle at a time."}
			}
			path, name, uerr = js.save(p, max)
			if uerr != nil {
				return "", "", false, uerr
			}
		}
		p.Close()
	}
	if !csrfOK {
		if path != "" {
			os.Remove(path)
		}
		return "", "", false, csrfUpload()
	}
	if path == "" {
		return "", "", false, &uploadError{http.StatusBadRequest, "No bundle", "Choose an evidence bundle file (written by ledgerguard export) to upload."}
	}
	return path, name, online, nil
}

func csrfUpload() *uploadError {
	return &uploadError{http.StatusForbidden, "Request refused: CSRF token missing or wrong",
		"The upload did not carry this session's CSRF token before the file, so nothing was checked. Reload the page and try again."}
}

func tooLarge(max int64) *uploadError {
	return &uploadError{http.StatusRequestEntityTooLarge, "Bundle too large",
		fmt.Sprintf("The upload is larger than this console accepts (%d bytes, console.max_bundle_bytes). Verify it with the CLI: ledgerguard verify BUNDLE.", max)}
}

func (js *jobs) save(p *multipart.Part, max int64) (string, string, *uploadError) {
	f, err := os.CreateTemp(js.dir, "lg-console-bundle-*")
	if err != nil {
		return "", "", &uploadError{http.StatusInternalServerError, "Upload failed", "No room for the upload: " + err.Error()}
	}
	n, err := io.Copy(f, io.LimitReader(p, max+1))
	cerr := f.Close()
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe) || n > max:
		os.Remove(f.Name())
		return "", "", tooLarge(max)
	case err != nil || cerr != nil:
		os.Remove(f.Name())
		return "", "", &uploadError{http.StatusBadRequest, "Bad upload", fmt.Sprintf("The upload could not be read: %v", firstErr(err, cerr))}
	case n == 0:
		os.Remove(f.Name())
		return "", "", &uploadError{http.StatusBadRequest, "Malformed bundle", "The uploaded file is empty: it is not an evidence bundle."}
	}
	return f.Name(), p.FileName(), nil
}

// checkHeader reads the bundle's header so a file that is not a bundle
// (or of another version) is refused at once with a 400.
func checkHeader(path string) *uploadError {
	f, err := os.Open(path)
	if err != nil {
		return &uploadError{http.StatusInternalServerError, "Upload failed", err.Error()}
	}
	defer f.Close()
	if _, err := evidence.NewDecoder(f); err != nil {
		return &uploadError{http.StatusBadRequest, "Malformed bundle",
			"The file is not an evidence bundle this gateway can read (ledgerguard export writes them): " + err.Error()}
	}
	return nil
}

// start verifies the bundle at path in the background; the file is
// removed when the job ends.
func (js *jobs) start(owner, path, name string, online evidence.OnlineSource) *job {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	j := &job{id: randomToken()[:22], owner: owner, name: name, online: online != nil, started: js.now(), cancel: cancel}
	js.mu.Lock()
	js.byID[j.id] = j
	js.mu.Unlock()
	go func() {
		defer cancel()
		defer os.Remove(path)
		select {
		case js.sem <- struct{}{}:
			defer func() { <-js.sem }()
		case <-ctx.Done():
			j.finish(nil, ctx.Err(), js.now())
			return
		}
		f, err := os.Open(path)
		if err != nil {
			j.finish(nil, err, js.now())
			return
		}
		defer f.Close()
		opts := []evidence.VerifyOption{evidence.WithProgress(func(p evidence.Progress) {
			j.mu.Lock()
			j.progress = p
			j.mu.Unlock()
		})}
		if online != nil {
			opts = append(opts, evidence.WithOnline(online))
		}
		rep, err := evidence.Verify(ctx, f, opts...)
		j.finish(rep, err, js.now())
	}()
	return j
}

func (j *job) finish(rep *evidence.Report, err error, at time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.report, j.err, j.done, j.ended = rep, err, true, at
	if rep != nil {
		j.progress.Events, j.progress.Batches = rep.Events, rep.Batches
		if j.progress.TotalEvents < rep.Events {
			j.progress.TotalEvents = rep.Events
		}
	}
}

// jobView is a job's state for the page and the status endpoint.
type jobView struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Done        bool     `json:"done"`
	Events      int      `json:"events"`
	TotalEvents int      `json:"totalEvents"`
	Batches     int      `json:"batches"`
	Percent     int      `json:"percent"`
	OK          bool     `json:"ok"`
	Error       string   `json:"error,omitempty"`
	Lines       []string `json:"lines,omitempty"`
	Findings    []string `json:"findings,omitempty"`
	Verdict     string   `json:"verdict,omitempty"`
	Kinds       []string `json:"kinds,omitempty"`
}

func (j *job) view() jobView {
	j.mu.Lock()
	defer j.mu.Unlock()
	v := jobView{ID: j.id, Name: j.name, Done: j.done, Events: j.progress.Events, TotalEvents: j.progress.TotalEvents, Batches: j.progress.Batches}
	v.Percent = percent(v.Events, v.TotalEvents)
	if !j.done {
		return v
	}
	v.Percent = 100
	if j.err != nil {
		v.Error = "The bundle could not be checked to the end: " + j.err.Error()
		v.Verdict = "FAILED: the bundle could not be verified"
		return v
	}
	rep := j.report
	mode := "offline"
	if j.online {
		mode = "online"
	}
	// The same lines `ledgerguard verify` prints.
	v.Lines = append(v.Lines, fmt.Sprintf("bundle of gateway %s/%s on channel %s (chaincode %s)", rep.GatewayMSP, rep.GatewayID, rep.Channel, rep.Chaincode))
	for _, o := range rep.Orgs {
		for _, fp := range o.Fingerprints {
			v.Lines = append(v.Lines, fmt.Sprintf("trusted CA of %s: sha256 %s", o.MSPID, fp))
		}
	}
	v.Lines = append(v.Lines, fmt.Sprintf("checked (%s): %d events, %d batches, %d transactions, %d valid endorsements",
		mode, rep.Events, rep.Batches, rep.Transactions, rep.Endorsements))
	seen := map[string]bool{}
	for _, f := range rep.Findings {
		v.Findings = append(v.Findings, f.String())
		if !seen[string(f.Kind)] {
			seen[string(f.Kind)] = true
			v.Kinds = append(v.Kinds, string(f.Kind))
		}
	}
	v.OK = rep.OK()
	if v.OK {
		v.Verdict = "OK: every event, batch, transaction and endorsement verified"
	} else {
		v.Verdict = fmt.Sprintf("FAILED: %d problems", len(rep.Findings))
	}
	return v
}

func percent(n, total int) int {
	if total <= 0 {
		return 0
	}
	return min(100, n*100/total)
}

// verify receives an upload and starts its verification.
func (c *Console) verify(w http.ResponseWriter, r *http.Request, s *session) {
	// The multipart framing adds a little to the file itself.
	r.Body = http.MaxBytesReader(w, r.Body, c.cfg.MaxBundleBytes+64<<10)
	path, name, online, uerr := c.jobs.receive(r, s.csrf, c.cfg.MaxBundleBytes)
	if uerr == nil {
		if uerr = checkHeader(path); uerr != nil {
			os.Remove(path)
		}
	}
	if uerr != nil {
		c.fail(w, r, s, uerr.status, uerr.title, uerr.msg)
		return
	}
	var src evidence.OnlineSource
	if online {
		src = c.deps.Online
	}
	j := c.jobs.start(s.id, path, name, src)
	c.log.Info("console: verifying a bundle", "credential", s.name, "job", j.id, "file", name, "online", src != nil)
	http.Redirect(w, r, Prefix+"/evidence/jobs/"+j.id, http.StatusSeeOther)
}

func (c *Console) job(w http.ResponseWriter, r *http.Request, s *session) {
	j := c.jobs.get(r.PathValue("id"), s.id)
	if j == nil {
		c.fail(w, r, s, http.StatusNotFound, "No such verification", "This verification is not known (it belongs to another session, is older than an hour, or the gateway restarted).")
		return
	}
	c.render(w, r, s, http.StatusOK, "job", "evidence", "Verifying "+j.name, j.view())
}

func (c *Console) jobStatus(w http.ResponseWriter, r *http.Request, s *session) {
	j := c.jobs.get(r.PathValue("id"), s.id)
	w.Header().Set("Content-Type", "application/json")
	if j == nil {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":"no such verification"}`))
		return
	}
	_ = json.NewEncoder(w).Encode(j.view())
}
