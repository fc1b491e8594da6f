package main

import (
	"context"
	"fmt"

	"github.com/tansa-sec/tansa/internal/detect/ruletest"
)

// cmdRules dispatches "tansa rules <action>"; each action is one line of
// the table.
func cmdRules(ctx context.Context, e *env, args []string) error {
	return subcommand(ctx, e, "rules", args, map[string]func(context.Context, *env, []string) error{
		"test":   rulesTest,
		"import": rulesImport,
	}, `Work with Sigma rule sets.
Run "tansa rules test --help" or "tansa rules import --help" for the flags of an action.`)
}

func rulesTest(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "rules test", "PATH...", `
Run the regression cases that rule files carry, through Tansa's Sigma engine,
and print one line per failed case and "N passed, M failed".

PATH is a rule file or a directory (walked recursively for .yml and .yaml).
Two conventions are understood:

  SigmaHQ   a rule's regression_tests_path names an info.yml whose EVTX files
            the rule must match at least match_count times; the path is
            relative to the rule set's root (the directory above the rule
            file that holds it, as SigmaHQ's repository keeps
            regression_data beside rules).
  Tansa     a document of the rule file carries a tests: list of events that
            must and must not make a rule fire, correlations included (see
            rules/README.md).

Files without cases are skipped. The exit status is 1 when a case fails or
when no case is found.

Examples:
  tansa rules test rules/
  tansa rules test sigma/rules sigma/rules-emerging-threats`)
	if done, err := parse(e, fs, args); done {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	res, err := ruletest.Run(fs.Args())
	if err != nil {
		return err
	}
	for _, f := range res.Failures {
		fmt.Fprintln(e.stdout, f)
	}
	fmt.Fprintf(e.stdout, "%d passed, %d failed (%d rule files with cases: %d SigmaHQ regression cases, %d Tansa cases)\n",
		res.Passed, res.Failed, res.Files, res.SigmaHQ, res.Tansa)
	switch {
	case res.Failed > 0:
		return fmt.Errorf("%d of %d cases failed", res.Failed, res.Passed+res.Failed)
	case res.Passed == 0:
		return fmt.Errorf("no test cases found under %v", fs.Args())
	}
	return nil
}
