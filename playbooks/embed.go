// Package playbooks holds Tansa's built-in response playbooks: YAML
// documents that double as documentation, each with the test cases that
// pin what it does. The console offers them as starting points for a
// tenant's own playbooks; playbooks_test.go runs every test case.
package playbooks

import "embed"

// Files are the built-in playbooks, one *.yaml file each.
//
//go:embed *.yaml
var Files embed.FS
