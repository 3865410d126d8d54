package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway/evidence"
	"github.com/ledgerguard/ledgerguard/gateway/report"
)

// Reports is what the console needs to produce signed compliance reports
// (the Evidence view's report form), the same report `ledgerguard report`
// writes: read through gateway/report (ReadLedger, Produce) and signed by
// Signer, the console's ledger identity.
type Reports struct {
	Signer             *report.Signer
	Channel, Chaincode string
	// Evidence writes this gateway's evidence bundle of events in [from,
	// to) (gzip, as ledgerguard export does) to w; it returns
	// evidence.ErrNothingToExport when no batch holds such events. Nil:
	// reports carry no verified evidence (their verdict says so).
	Evidence func(ctx context.Context, w io.Writer, from, to time.Time) error
	// PageSize is the records per ledger query (default 100).
	PageSize int
}

// reportJob is one report being produced in the background.
type reportJob struct {
	id      string
	owner   string
	period  report.Period
	started time.Time

	mu     sync.Mutex
	stage  string
	done   bool
	ended  time.Time
	signed *report.Signed
	err    error
	cancel context.CancelFunc
}

// reportView is a report job's state for the page and the status endpoint.
type reportView struct {
	ID      string `json:"id"`
	From    string `json:"from"`
	To      string `json:"to"`
	Done    bool   `json:"done"`
	Stage   string `json:"stage"`
	Error   string `json:"error,omitempty"`
	Verdict string `json:"verdict,omitempty"`
	Summary string `json:"summary,omitempty"`
	Name    string `json:"name,omitempty"`
	// OK: the evidence verified (or nothing was anchored in the period).
	OK bool `json:"ok"`
}

func (j *reportJob) view() reportView {
	j.mu.Lock()
	defer j.mu.Unlock()
	v := reportView{ID: j.id, From: j.period.From.Format(time.RFC3339), To: j.period.To.Format(time.RFC3339), Done: j.done, Stage: j.stage}
	if j.err != nil {
		v.Error = "The report could not be produced: " + j.err.Error()
	}
	if s := j.signed; s != nil {
		r := s.Report
		v.Name, v.Verdict = s.Name, string(r.Evidence.Verdict)
		v.OK = r.Evidence.Verdict == report.VerdictVerified || r.Evidence.Verdict == report.VerdictNothingAnchored
		v.Summary = fmt.Sprintf("%d batches (%d events), %d alerts, %d policies in force, %d responses, %d models; signed by %s",
			r.Anchoring.Batches, r.Anchoring.Events, r.Alerts.Total, len(r.Policies), r.Responses.Total, len(r.Models), r.Org)
	}
	return v
}

func (j *reportJob) setStage(s string) {
	j.mu.Lock()
	j.stage = s
	j.mu.Unlock()
}

// reportName is the reports' file name without extension (what the
// signature names).
func reportName(p report.Period) string {
	const f = "20060102T150405Z"
	return "ledgerguard-report-" + p.From.UTC().Format(f) + "-" + p.To.UTC().Format(f)
}

// startReport starts producing the report of the form's period. Read
// scope suffices: a report changes nothing on the ledger.
func (c *Console) startReport(w http.ResponseWriter, r *http.Request, s *session) {
	rs := c.deps.Reports
	if rs == nil || rs.Signer == nil {
		c.fail(w, r, s, http.StatusNotImplemented, "Reports not available",
			"This console has no signing identity for reports. Use ledgerguard report.")
		return
	}
	from, err1 := parseWhen(r.PostFormValue("from"))
	to, err2 := parseWhen(r.PostFormValue("to"))
	if err := firstErr(err1, err2); err != nil {
		c.fail(w, r, s, http.StatusBadRequest, "Bad period", err.Error()+". Nothing was started.")
		return
	}
	if from.IsZero() || to.IsZero() || !from.Before(to) {
		c.fail(w, r, s, http.StatusBadRequest, "Bad period", "Give a period with From before To. Nothing was started.")
		return
	}
	j := c.jobs.startReport(s.id, report.Period{From: from, To: to}, func(ctx context.Context, j *reportJob) (*report.Signed, error) {
		return c.produceReport(ctx, j)
	})
	c.log.Info("console: producing a report", "credential", s.name, "job", j.id, "from", from, "to", to)
	http.Redirect(w, r, Prefix+"/evidence/reports/"+j.id, http.StatusSeeOther)
}

// produceReport reads the ledger, exports and checks the period's
// evidence, and signs the report, as ledgerguard report does.
func (c *Console) produceReport(ctx context.Context, j *reportJob) (*report.Signed, error) {
	rs := c.deps.Reports
	scope := report.Scope{MSP: c.deps.GatewayMSP, GatewayID: c.deps.GatewayID}
	name := reportName(j.period)
	in := report.Inputs{GeneratedAt: c.now(), Org: rs.Signer.MSPID(), Channel: rs.Channel, Chaincode: rs.Chaincode,
		Period: j.period, Scope: scope}
	if rs.Evidence != nil {
		j.setStage("exporting and verifying the period's evidence")
		ev, err := c.reportEvidence(ctx, rs, j.period, name)
		if err != nil {
			return nil, err
		}
		in.Evidence = ev
	}
	j.setStage("reading the ledger")
	if err := report.ReadLedger(ctx, c.deps.Ledger.Evaluate, &in, rs.PageSize); err != nil {
		return nil, fmt.Errorf("read the ledger: %w", err)
	}
	j.setStage("signing")
	return report.Produce(in, rs.Signer, c.now(), name)
}

func (c *Console) reportEvidence(ctx context.Context, rs *Reports, p report.Period, name string) (*report.Evidence, error) {
	f, err := os.CreateTemp(c.deps.TempDir, "lg-console-report-*.jsonl.gz")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if err := rs.Evidence(ctx, f, p.From, p.To); errors.Is(err, evidence.ErrNothingToExport) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("export the period's evidence: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return report.CheckBundle(ctx, f, "exported from the gateway's store", name+".bundle.jsonl.gz")
}

// startReport runs produce in the background (sharing the verifications'
// bound on concurrent work) and keeps the job for its owner.
func (js *jobs) startReport(owner string, p report.Period, produce func(context.Context, *reportJob) (*report.Signed, error)) *reportJob {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	j := &reportJob{id: randomToken()[:22], owner: owner, period: p, started: js.now(), stage: "waiting for a free slot", cancel: cancel}
	js.mu.Lock()
	js.reports[j.id] = j
	js.mu.Unlock()
	go func() {
		defer cancel()
		var signed *report.Signed
		var err error
		select {
		case js.sem <- struct{}{}:
			signed, err = produce(ctx, j)
			<-js.sem
		case <-ctx.Done():
			err = ctx.Err()
		}
		j.mu.Lock()
		j.signed, j.err, j.done, j.ended = signed, err, true, js.now()
		j.stage = "done"
		j.mu.Unlock()
	}()
	return j
}

func (js *jobs) getReport(id, owner string) *reportJob {
	js.mu.Lock()
	defer js.mu.Unlock()
	j := js.reports[id]
	if j == nil || j.owner != owner {
		return nil
	}
	return j
}

func (c *Console) reportPage(w http.ResponseWriter, r *http.Request, s *session) {
	j := c.jobs.getReport(r.PathValue("id"), s.id)
	if j == nil {
		c.fail(w, r, s, http.StatusNotFound, "No such report", "This report is not known (it belongs to another session, is older than an hour, or the gateway restarted).")
		return
	}
	c.render(w, r, s, http.StatusOK, "report", "evidence", "Compliance report", j.view())
}

func (c *Console) reportStatus(w http.ResponseWriter, r *http.Request, s *session) {
	j := c.jobs.getReport(r.PathValue("id"), s.id)
	w.Header().Set("Content-Type", "application/json")
	if j == nil {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":"no such report"}`))
		return
	}
	_ = json.NewEncoder(w).Encode(j.view())
}

// reportFile downloads the report's JSON, HTML or signature under the
// names the signature records, so ledgerguard report verify checks them.
func (c *Console) reportFile(w http.ResponseWriter, r *http.Request, s *session) {
	j := c.jobs.getReport(r.PathValue("id"), s.id)
	var signed *report.Signed
	if j != nil {
		j.mu.Lock()
		signed = j.signed
		j.mu.Unlock()
	}
	if signed == nil {
		c.fail(w, r, s, http.StatusNotFound, "No such report", "This report is not known or not finished.")
		return
	}
	var data []byte
	var ctype string
	switch ext := r.PathValue("ext"); ext {
	case "json":
		data, ctype = signed.JSON, "application/json"
	case "html":
		data, ctype = signed.HTML, "text/html; charset=utf-8"
	case "sig":
		data, ctype = signed.Sig, "application/json"
	default:
		c.fail(w, r, s, http.StatusNotFound, "Not found", "A report has .json, .html and .sig files.")
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s"`, signed.Name, r.PathValue("ext")))
	_, _ = w.Write(data)
}
