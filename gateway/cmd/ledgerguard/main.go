// Command ledgerguard is the project's command-line tool. Its subcommands
// run the gateway and let people work with the ledger: ping checks that the
// chaincode answers; later subcommands (gateway, verify, export, policy...)
// are added beside it. It exits 0 on success, 1 on a failure of the work
// itself, and 2 on bad usage, always with a message on stderr.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// usageError marks errors caused by how the command was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func main() {
	root := newRoot()
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "ledgerguard:", err)
		os.Exit(exitCode(err))
	}
}

// exitCode is the exit status for an error Execute returned: 0 for none, 2
// for bad usage, 1 for anything else.
func exitCode(err error) int {
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		return 2
	default:
		return 1
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "ledgerguard",
		Short:         "ledgerguard: collective threat defence on a Hyperledger Fabric ledger",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newPingCmd(), newFeaturesCmd(), newModelsCmd(), newExportCmd(), newVerifyCmd(), newPolicyCmd(), newResponseCmd(), newAlertCmd(), newRespondCmd(), newSuppressCmd(), newCapsCmd())
	root.AddCommand(newGatewayCmd())
	root.AddCommand(newReportCmd())
	root.AddCommand(newIntelCmd())
	return root
}
