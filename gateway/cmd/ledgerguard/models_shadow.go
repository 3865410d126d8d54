package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// envGatewayToken is read when --token is not given, so the token need not
// appear in the process list.
const envGatewayToken = "LEDGERGUARD_TOKEN"

// fetchShadow reads GET /v1/models/shadow from the gateway at base.
func fetchShadow(ctx context.Context, base, token string) (*shadowAnswer, error) {
	u, err := url.JoinPath(base, "/v1/models/shadow")
	if err != nil {
		return nil, usageError{fmt.Errorf("--url: %w", err)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, usageError{fmt.Errorf("--url: %w", err)}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("shadow-report: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("shadow-report: read %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("shadow-report: %s answered %s: %s", u, resp.Status, strings.TrimSpace(string(body)))
	}
	var out shadowAnswer
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("shadow-report: decode %s: %w", u, err)
	}
	if out.Shadow == nil {
		out.Shadow = []gateway.ShadowStats{}
	}
	if out.Drift == nil {
		out.Drift = []gateway.DriftStats{}
	}
	return &out, nil
}

// shadowAnswer is GET /v1/models/shadow's answer.
type shadowAnswer struct {
	Shadow []gateway.ShadowStats `json:"shadow"`
	Drift  []gateway.DriftStats  `json:"drift"`
}

func newModelsShadowReportCmd() *cobra.Command {
	var (
		base, token string
		asJSON      bool
		timeout     time.Duration
	)
	cmd := &cobra.Command{
		Use:   "shadow-report --url URL [--token T]",
		Short: "print how the gateway's shadow models compare with the served versions (agreement, would-be alerts, score drift)",
		Long: `shadow-report reads GET /v1/models/shadow from a gateway (a credential with
the read scope: --token, or $` + envGatewayToken + `). A model version is in
shadow while it is registered on the ledger but not yet approved, present
in the gateway's models directory and newer than the served version of its
name: it scores every anchored batch beside the served version and raises
no alert. AGREE is the share of events on which both flagged or both
passed, WOULD_ALERT the events the shadow flagged, SCORE_DRIFT the mean
absolute score difference. Once a quorum approves it the gateway serves it
and it leaves shadow (ACTIVE no). A second table gives each scored model's
input drift: the mean over features of |live mean − training mean| /
training scale (manifests with training statistics only: the anomaly and
hybrid models), with the feature that moved most.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if base == "" {
				return usageError{errors.New("shadow-report needs --url (the gateway, e.g. http://127.0.0.1:8088)")}
			}
			if token == "" {
				token = os.Getenv(envGatewayToken)
			}
			if token == "" {
				return usageError{fmt.Errorf("shadow-report needs --token or $%s (a credential with the read scope)", envGatewayToken)}
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			ans, err := fetchShadow(ctx, base, token)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if asJSON {
				return printJSON(w, ans)
			}
			rows := make([][]string, 0, len(ans.Shadow))
			for _, r := range ans.Shadow {
				active := "no"
				if r.Active {
					active = "yes"
				}
				rows = append(rows, []string{r.Model, r.Version, orDash(r.ServedVersion), active, strconv.FormatUint(r.Events, 10),
					strconv.FormatFloat(r.Agreement, 'f', 4, 64), strconv.FormatUint(r.WouldBeAlerts, 10), strconv.FormatUint(r.ServedAlerts, 10),
					strconv.FormatFloat(r.ScoreDrift, 'f', 4, 64)})
			}
			if err := table(w, []string{"MODEL", "VERSION", "SERVED", "ACTIVE", "EVENTS", "AGREE", "WOULD_ALERT", "SERVED_ALERTS", "SCORE_DRIFT"}, rows); err != nil {
				return err
			}
			fmt.Fprintln(w)
			rows = rows[:0]
			for _, d := range ans.Drift {
				drift, top := "no training stats", "-"
				if d.HasStats {
					drift = strconv.FormatFloat(d.Drift, 'f', 3, 64)
					top = fmt.Sprintf("%s (%.2f)", orDash(d.MaxFeature), d.MaxZ)
				}
				rows = append(rows, []string{d.Model, d.Version, strconv.FormatUint(d.Events, 10), drift, top})
			}
			return table(w, []string{"MODEL", "VERSION", "EVENTS", "INPUT_DRIFT", "MOST_DRIFTED_FEATURE (Z)"}, rows)
		},
	}
	f := cmd.Flags()
	f.StringVar(&base, "url", "", "gateway base URL")
	f.StringVar(&token, "token", "", "read-scope token (default $"+envGatewayToken+")")
	f.BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	f.DurationVar(&timeout, "timeout", 30*time.Second, "request timeout")
	return cmd
}
