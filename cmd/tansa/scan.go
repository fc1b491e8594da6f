package main

import (
	"context"
	"errors"
	"flag"

	"github.com/tansa-sec/tansa/internal/scan"
)

// cmdScan runs the endpoint scanner. Its flags and help belong to the
// scanner package, which imports nothing of the server: the same code runs
// on 20,000 endpoints that never see the rest of Tansa.
func cmdScan(ctx context.Context, e *env, args []string) error {
	err := scan.Main(ctx, args, e.getenv, e.stdout, e.stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}
