package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/fabric"
)

type ledgerFlags struct {
	profile   string
	identity  string
	channel   string
	chaincode string
	timeout   time.Duration
}

func (f *ledgerFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.profile, "profile", "network/run/connection-org1.json", "connection profile (Fabric common connection profile JSON)")
	cmd.Flags().StringVar(&f.identity, "identity", "", "enrolled identity of the profile's org (gateway, author, analyst, auditor); default: the org admin")
	cmd.Flags().StringVar(&f.channel, "channel", wire.Channel, "channel name")
	cmd.Flags().StringVar(&f.chaincode, "chaincode", wire.Chaincode, "chaincode name")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 30*time.Second, "overall time limit")
}

func (f *ledgerFlags) dial(ctx context.Context) (*fabric.Client, error) {
	p, err := fabric.LoadProfile(f.profile)
	if err != nil {
		return nil, usageError{err}
	}
	var opts []fabric.Option
	if f.identity != "" {
		opts = append(opts, fabric.WithIdentity(f.identity))
	}
	return fabric.Dial(ctx, p, opts...)
}

func newPingCmd() *cobra.Command {
	var lf ledgerFlags
	var submit bool
	cmd := &cobra.Command{
		Use:   "ping",
		Short: "check that the ledgerguard chaincode answers on the profile's peer",
		Long: `ping evaluates system:Ping on the profile's peer. With --submit it also
commits a system:Heartbeat transaction, which every member organisation must
endorse, retrying until --timeout: right after the network starts, a peer
learns the other organisations' peers through gossip a few seconds after it
answers, and scripts use --submit to wait for that moment.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), lf.timeout)
			defer cancel()
			c, err := lf.dial(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
			start := time.Now()
			ledger := fabric.NewLedger(c, lf.channel, lf.chaincode)
			out, err := ledger.Ping(ctx)
			if err != nil {
				return fmt.Errorf("ping %s on %s: %w", lf.chaincode, lf.channel, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s (%s)\n", out, time.Since(start).Round(time.Millisecond))
			if !submit {
				return nil
			}
			start = time.Now()
			for {
				_, err = ledger.Submit(ctx, wire.ContractSystem, wire.TxHeartbeat, "ping --submit")
				if err == nil {
					fmt.Fprintf(cmd.OutOrStdout(), "heartbeat committed, endorsed by every member (%s)\n", time.Since(start).Round(time.Millisecond))
					return nil
				}
				select {
				case <-ctx.Done():
					return fmt.Errorf("heartbeat not committed within %s: %w", lf.timeout, err)
				case <-time.After(500 * time.Millisecond):
				}
			}
		},
	}
	lf.register(cmd)
	cmd.Flags().BoolVar(&submit, "submit", false, "also commit a heartbeat endorsed by every member, retrying until --timeout")
	return cmd
}
