package report

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// Evaluator evaluates a read transaction of the ledgerguard chaincode
// (fabric.Ledger.Evaluate has this shape).
type Evaluator func(ctx context.Context, contract, tx string, args ...string) ([]byte, error)

// maxPages guards against a ledger that keeps returning bookmarks.
const maxPages = 10000

// ReadLedger fills in's Batches, Alerts, Responses, Policies and Models
// for its Period and Scope, reading every page of pageSize records. It is
// what `ledgerguard report` and the console's report button both read, so
// both reports cover the same records. Errors name the contract and
// transaction.
func ReadLedger(ctx context.Context, eval Evaluator, in *Inputs, pageSize int) error {
	if pageSize <= 0 {
		pageSize = 100
	}
	p, scope := in.Period, in.Scope
	var err error
	if in.Batches, err = collect[wire.Batch](ctx, eval, pageSize, wire.ContractEvents, wire.TxListBatches,
		scope.MSP, scope.GatewayID, wire.NewTime(p.From).String(), wire.NewTime(p.To).String()); err != nil {
		return err
	}
	af := wire.AlertFilter{MSP: scope.MSP, GatewayID: scope.GatewayID, Since: wire.NewTime(p.From), Until: wire.NewTime(p.To)}
	if in.Alerts, err = collect[wire.Alert](ctx, eval, pageSize, wire.ContractAlerts, wire.TxListAlerts, filterArg(af)); err != nil {
		return err
	}
	rf := wire.ResponseFilter{MSP: scope.MSP, GatewayID: scope.GatewayID}
	if in.Responses, err = collect[wire.Response](ctx, eval, pageSize, wire.ContractResponses, wire.TxListResponses, filterArg(rf)); err != nil {
		return err
	}
	if in.Policies, err = collect[wire.Policy](ctx, eval, pageSize, wire.ContractPolicies, wire.TxListPolicies, ""); err != nil {
		return err
	}
	in.Models, err = collect[wire.ModelRecord](ctx, eval, pageSize, wire.ContractModels, wire.TxListModels, "")
	return err
}

// filterArg is a filter as the chaincode takes it: "" for the zero filter.
func filterArg[F comparable](f F) string {
	var zero F
	if f == zero {
		return ""
	}
	b, _ := json.Marshal(f)
	return string(b)
}

func collect[T any](ctx context.Context, eval Evaluator, pageSize int, contract, tx string, args ...string) ([]T, error) {
	var out []T
	bookmark := ""
	for range maxPages {
		b, err := eval(ctx, contract, tx, append(append([]string{}, args...), strconv.Itoa(pageSize), bookmark)...)
		if err != nil {
			return nil, fmt.Errorf("%s:%s: %w", contract, tx, err)
		}
		var page wire.Page[T]
		if err := json.Unmarshal(b, &page); err != nil {
			return nil, fmt.Errorf("%s:%s: decode result: %w", contract, tx, err)
		}
		out = append(out, page.Records...)
		if page.Bookmark == "" {
			return out, nil
		}
		bookmark = page.Bookmark
	}
	return out, fmt.Errorf("%s:%s: stopped after %d pages", contract, tx, maxPages)
}

// Signed is a report ready to file: its JSON, the HTML rendered from that
// JSON, and the detached signature over both (Sig, as Signature.Encode
// writes it) made for the file names Name+".json" and Name+".html".
type Signed struct {
	Report     *Report
	Name       string
	JSON, HTML []byte
	Sig        []byte
}

// Produce assembles the report from in, renders it and signs both files
// as name.json and name.html (name is the file name without extension, as
// the signature records it) at now.
func Produce(in Inputs, signer *Signer, now time.Time, name string) (*Signed, error) {
	rep, err := Assemble(in)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	js, err := rep.Encode()
	if err != nil {
		return nil, err
	}
	html, err := RenderHTML(js)
	if err != nil {
		return nil, err
	}
	sig, err := signer.Sign(now, File{Name: name + ".json", Data: js}, File{Name: name + ".html", Data: html})
	if err != nil {
		return nil, err
	}
	sb, err := sig.Encode()
	if err != nil {
		return nil, err
	}
	return &Signed{Report: rep, Name: name, JSON: js, HTML: html, Sig: sb}, nil
}
