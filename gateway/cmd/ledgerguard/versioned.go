package main

// Commands shared by the ledger's versioned, approved records (response
// policies, hygiene rules): both are addressed by ID and VERSION, approved
// by organisations' admins, revoked with a reason and shown by version (0:
// the active one, else the latest). One builder each, so the two command
// families cannot drift apart.

import (
	"errors"
	"io"
	"strconv"

	"github.com/spf13/cobra"
)

// versioned names one family of versioned records for the shared commands.
type versioned[T any] struct {
	cmd      string // the CLI command, e.g. "policy"
	noun     string // the record in help texts, e.g. "policy"
	contract string
	approve  string // transaction names
	revoke   string
	get      string
	print    func(l *ledgerCmd) func(io.Writer, *T) error
}

// approveCmd submits the approval of ID VERSION for the caller's org.
func (v versioned[T]) approveCmd() *cobra.Command {
	var l ledgerCmd
	cmd := &cobra.Command{
		Use:   "approve ID VERSION",
		Short: "approve a proposed " + v.noun + " version for your organisation (admin)",
		Args:  argsExactly("ID", "VERSION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := parseVersion(args[1], false)
			if err != nil {
				return err
			}
			return runOne(cmd, &l, submit(v.contract, v.approve, args[0], strconv.FormatUint(uint64(n), 10)), v.print(&l))
		},
	}
	l.register(cmd, "")
	return cmd
}

// revokeCmd submits the revocation of ID VERSION with a required reason.
func (v versioned[T]) revokeCmd() *cobra.Command {
	var l ledgerCmd
	var reason string
	cmd := &cobra.Command{
		Use:   "revoke ID VERSION --reason TEXT",
		Short: "revoke a " + v.noun + " version (author or admin of the owning organisation)",
		Args:  argsExactly("ID", "VERSION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := parseVersion(args[1], false)
			if err != nil {
				return err
			}
			if err := requireReason(reason); err != nil {
				return err
			}
			return runOne(cmd, &l, submit(v.contract, v.revoke, args[0], strconv.FormatUint(uint64(n), 10), reason), v.print(&l))
		},
	}
	l.register(cmd, "author")
	cmd.Flags().StringVar(&reason, "reason", "", "why (required, recorded on the ledger)")
	return cmd
}

// showCmd evaluates ID [VERSION] (no VERSION: the active one, else the latest).
func (v versioned[T]) showCmd() *cobra.Command {
	var l ledgerCmd
	cmd := &cobra.Command{
		Use:   "show ID [VERSION]",
		Short: "show a " + v.noun + " version (default: the active one, else the latest)",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usageError{errors.New(v.cmd + " show takes ID and an optional VERSION")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			n := uint32(0)
			if len(args) == 2 {
				var err error
				if n, err = parseVersion(args[1], false); err != nil {
					return err
				}
			}
			return runOne(cmd, &l, evaluate(v.contract, v.get, args[0], strconv.FormatUint(uint64(n), 10)), v.print(&l))
		},
	}
	l.register(cmd, "")
	return cmd
}
