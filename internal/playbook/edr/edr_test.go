package edr_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/playbook/edr"
	"github.com/tansa-sec/tansa/internal/playbook/edr/edrfake"
	"github.com/tansa-sec/tansa/internal/playbook/outcall"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// vendor is one EDR with its fake, a known host and its device ID.
type vendor struct {
	name   string
	fake   interface{ http.Handler }
	faults interface {
		Fail(edrfake.Fault)
		Calls(verb, id string) int
		Isolated(id string) bool
		ExpireTokens()
	}
	id     string
	client func(url string, good bool) (edr.Client, error)
}

func vendors() []vendor {
	def := edrfake.NewDefender("app-id", "app-secret")
	def.AddDevice("pc-042.corp.example", "1e5bc9d7e413ddd7902c2932e418702b84d0cc07")
	cs := edrfake.NewCrowdStrike("cs-id", "cs-secret")
	cs.AddDevice("pc-042", "4b1e5f7c2a9d4e3f8c6b0a1d2e3f4a5b")
	cb := edrfake.NewCarbonBlack("7DESJ9GN", "ABCD1234", "SECRETKEY")
	cb.AddDevice("pc-042", "98765")
	secret := func(good bool, s string) string {
		if good {
			return s
		}
		return "wrong"
	}
	return []vendor{
		{"defender", def, def, "1e5bc9d7e413ddd7902c2932e418702b84d0cc07", func(u string, good bool) (edr.Client, error) {
			return edr.NewDefender(edr.DefenderConfig{BaseURL: u, TokenURL: u + "/tenant-1/oauth2/v2.0/token", ClientID: "app-id", ClientSecret: secret(good, "app-secret")}, http.DefaultClient)
		}},
		{"crowdstrike", cs, cs, "4b1e5f7c2a9d4e3f8c6b0a1d2e3f4a5b", func(u string, good bool) (edr.Client, error) {
			return edr.NewCrowdStrike(edr.CrowdStrikeConfig{BaseURL: u, ClientID: "cs-id", ClientSecret: secret(good, "cs-secret")}, http.DefaultClient)
		}},
		{"carbonblack", cb, cb, "98765", func(u string, good bool) (edr.Client, error) {
			return edr.NewCarbonBlack(edr.CarbonBlackConfig{BaseURL: u, OrgKey: "7DESJ9GN", APIID: "ABCD1234", APISecret: secret(good, "SECRETKEY")}, http.DefaultClient)
		}},
	}
}

func hostOf(v vendor) string {
	if v.name == "defender" {
		return "pc-042.corp.example"
	}
	return "pc-042"
}

func TestIsolateAndRelease(t *testing.T) {
	for _, v := range vendors() {
		t.Run(v.name, func(t *testing.T) {
			srv := httptest.NewServer(v.fake)
			defer srv.Close()
			c, err := v.client(srv.URL, true)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if _, done, err := c.Reconcile(ctx, hostOf(v), "run-1/isolate", false); err != nil || done {
				t.Fatalf("reconcile before isolating: done %v, %v", done, err)
			}
			out, err := c.Isolate(ctx, hostOf(v), "test", "run-1/isolate")
			if err != nil {
				t.Fatal(err)
			}
			if !v.faults.Isolated(v.id) || v.faults.Calls("isolate", v.id) != 1 {
				t.Errorf("after Isolate: isolated %v, calls %d; output %v", v.faults.Isolated(v.id), v.faults.Calls("isolate", v.id), out)
			}
			if _, done, err := c.Reconcile(ctx, hostOf(v), "run-1/isolate", false); err != nil || !done {
				t.Errorf("reconcile after isolating: done %v, %v", done, err)
			}
			// The device ID works as well as the name.
			if _, err := c.Release(ctx, v.id, "test", "run-1/isolate/revert"); err != nil {
				t.Fatal(err)
			}
			if v.faults.Isolated(v.id) || v.faults.Calls("release", v.id) != 1 {
				t.Errorf("after Release: isolated %v, release calls %d", v.faults.Isolated(v.id), v.faults.Calls("release", v.id))
			}
		})
	}
}

func TestErrors(t *testing.T) {
	for _, v := range vendors() {
		t.Run(v.name, func(t *testing.T) {
			srv := httptest.NewServer(v.fake)
			defer srv.Close()
			ctx := context.Background()
			c, _ := v.client(srv.URL, true)

			// An unknown host: not found, never retried.
			if _, err := c.Isolate(ctx, "nowhere", "", "k1"); tansa.KindOf(err) != tansa.NotFound {
				t.Errorf("unknown host: %v, want not found", err)
			}
			// 429 with Retry-After: transient, with the wait the service asked.
			v.faults.Fail(edrfake.Fault{Status: 429, RetryAfter: "7"})
			_, err := c.Isolate(ctx, hostOf(v), "", "k2")
			if ok, after := outcall.Transient(err); !ok || after != 7*time.Second {
				t.Errorf("429: %v (transient %v after %v), want transient after 7s", err, ok, after)
			}
			// 5xx: transient.
			v.faults.Fail(edrfake.Fault{Status: 503})
			if _, err := c.Isolate(ctx, hostOf(v), "", "k3"); err == nil {
				t.Error("503: no error")
			} else if ok, _ := outcall.Transient(err); !ok {
				t.Errorf("503: %v, want transient", err)
			}
			if n := v.faults.Calls("isolate", v.id); n != 0 {
				t.Errorf("failed calls took effect %d times", n)
			}
			// The answer is lost after the action took effect: the call
			// fails, and Reconcile finds the isolation.
			path := map[string]string{"defender": "/isolate", "crowdstrike": "devices-actions", "carbonblack": "device_actions"}[v.name]
			v.faults.Fail(edrfake.Fault{Status: 502, AfterEffect: true, Path: path})
			_, err = c.Isolate(ctx, hostOf(v), "", "k4")
			if ok, _ := outcall.Transient(err); !ok {
				t.Errorf("lost answer: %v, want transient", err)
			}
			if _, done, err := c.Reconcile(ctx, hostOf(v), "k4", false); err != nil || !done {
				t.Errorf("reconcile after a lost answer: done %v, %v", done, err)
			}
			if n := v.faults.Calls("isolate", v.id); n != 1 {
				t.Errorf("isolate calls %d, want 1", n)
			}
			// Expired tokens are fetched again without failing the call.
			v.faults.ExpireTokens()
			if _, err := c.Release(ctx, hostOf(v), "", "k5"); err != nil {
				t.Errorf("after tokens expired: %v", err)
			}
			// Wrong credentials: unauthorized, final.
			bad, _ := v.client(srv.URL, false)
			if _, err := bad.Isolate(ctx, hostOf(v), "", "k6"); tansa.KindOf(err) != tansa.Unauthorized {
				t.Errorf("wrong credentials: %v, want unauthorized", err)
			}
		})
	}
}
