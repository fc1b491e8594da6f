//go:build !yara

package scan

import (
	"context"
	"strings"
	"testing"
)

func TestYARASkippedWithoutTag(t *testing.T) {
	r, err := Sweep(context.Background(), Options{Root: fixtureRoot, YARAFiles: []string{"rules/emotet.yar"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range r.Errors {
		if e.Collector == "yara" && e.Target == "rules/emotet.yar" && strings.Contains(e.Message, "skipped") {
			return
		}
	}
	t.Errorf("YARA rules not reported as skipped: %+v", r.Errors)
}
