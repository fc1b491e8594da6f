// Command tansa is the whole platform in one binary: the server, its demo,
// the administrative commands and (in later subcommands) the endpoint
// scanner and offline tools. main only sets up signals; run is the program.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	_ "time/tzdata" // tenants' time zones must resolve on machines without a zoneinfo database
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		if err != errUsage {
			fmt.Fprintln(os.Stderr, "tansa:", err)
		}
		os.Exit(exitCode(err))
	}
}
