// Package playbook is the response stage: playbooks written in YAML that
// start on alerts or by hand, enrich what they were given, ask people for
// approval, and contain (block lists, EDR isolation), notify and call
// webhooks — durably, each outside effect exactly once.
//
// Documents enter through Parse, which validates them and names the line
// of every problem; each carries test cases that Definition.RunTests runs
// as dry runs. Runs enter through Service.Trigger (new alerts) and
// Service.Start (by hand); the Runner executes them step by step, storing
// the run after every step so that a restart resumes each run where it
// stopped. Step records — inputs, outputs, who approved and when — leave
// through Service.Run and Service.Runs.
package playbook
