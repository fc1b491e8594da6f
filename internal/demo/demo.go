// Package demo loads the demonstration data of "tansa demo": two tenants,
// users of every role and, from each stage of the pipeline, sample data.
//
// Seed runs the steps of Steps in order against the services in Env. Each
// later stage adds its own step to Steps and its service to Env; nothing
// registers itself.
package demo

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/collect"
	"github.com/tansa-sec/tansa/internal/detect/ruleset"
	intelsvc "github.com/tansa-sec/tansa/internal/intel/service"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Password is every demo user's password. The demo is for a laptop, never
// for a network.
const Password = "tansa-demo-2026"

// Env holds the services the demo steps fill, and what earlier steps made.
type Env struct {
	Access *access.Service
	// Inputs publishes demo records through the pipeline; nil skips events.
	Inputs *collect.Inputs
	// Intel stores demo threat intelligence; nil skips it.
	Intel *intelsvc.Service
	// Rules keeps the demo's rule sets for live detection; nil skips them.
	Rules *ruleset.Service
	// HQ and Subsidiary are the demo tenants, set by the first step.
	HQ, Subsidiary tansa.Tenant
}

// Step adds one kind of demo data.
type Step struct {
	Name string
	Run  func(ctx context.Context, e *Env) error
}

// Steps returns the demo's steps, in order.
func Steps() []Step {
	return []Step{
		{"tenants", seedTenants},
		{"users", seedUsers},
		{"rules", seedRules},
		{"events", seedEvents},
		{"intel", seedIntel},
	}
}

// Seed runs every step.
func Seed(ctx context.Context, e Env) error {
	for _, s := range Steps() {
		if err := s.Run(ctx, &e); err != nil {
			return fmt.Errorf("%s: %w", s.Name, err)
		}
	}
	return nil
}

var sys = access.Caller{Principal: access.System("demo"), Addr: "local"}

func ptr[T any](v T) *T { return &v }

func seedTenants(ctx context.Context, e *Env) error {
	var err error
	e.HQ, err = e.Access.CreateTenant(ctx, sys, access.TenantInput{
		Name: ptr("Sakura Trading Co. (Head Office)"), Country: ptr("JP"), Language: ptr("ja"), TimeZone: ptr("Asia/Tokyo"),
		Contacts: &[]tansa.Contact{
			{Name: "Group CSIRT", Email: "csirt@sakura-trading.example", Phone: "+81-3-0000-0000", Role: "security"},
			{Name: "Information Systems Dept.", Email: "it@sakura-trading.example", Role: "IT"},
		},
	})
	if err != nil {
		return err
	}
	e.Subsidiary, err = e.Access.CreateTenant(ctx, sys, access.TenantInput{
		Name: ptr("Sakura Trading Vietnam Co., Ltd."), Country: ptr("VN"), Language: ptr("en"), TimeZone: ptr("Asia/Ho_Chi_Minh"),
		Contacts: &[]tansa.Contact{{Name: "General Affairs (no IT staff)", Email: "admin@sakura-vn.example", Role: "management"}},
	})
	return err
}

// demoUser is one login of the demo.
type demoUser struct {
	username, name string
	role           tansa.Role
	tenant         func(*Env) string
	language       string
}

var users = []demoUser{
	{"analyst", "Aiko Analyst", tansa.RoleProviderAnalyst, nil, "ja"},
	{"hq-admin", "Hiro HQ-Admin", tansa.RoleTenantAdmin, func(e *Env) string { return e.HQ.ID }, "ja"},
	{"hq-viewer", "Hana HQ-Viewer", tansa.RoleTenantViewer, func(e *Env) string { return e.HQ.ID }, "ja"},
	{"vn-admin", "Van VN-Admin", tansa.RoleTenantAdmin, func(e *Env) string { return e.Subsidiary.ID }, "en"},
	{"vn-viewer", "Mai VN-Viewer", tansa.RoleTenantViewer, func(e *Env) string { return e.Subsidiary.ID }, "en"},
}

func seedUsers(ctx context.Context, e *Env) error {
	for _, u := range users {
		in := access.UserInput{Username: ptr(u.username), Name: ptr(u.name), Role: ptr(u.role), Language: ptr(u.language),
			Password: ptr(Password), Email: ptr(u.username + "@sakura-trading.example")}
		if u.tenant != nil {
			in.TenantID = ptr(u.tenant(e))
		}
		if _, err := e.Access.CreateUser(ctx, sys, in); err != nil {
			return fmt.Errorf("user %s: %w", u.username, err)
		}
	}
	return nil
}

// PrintLogins writes the demo's URL and logins.
func PrintLogins(w io.Writer, url string) {
	fmt.Fprintf(w, "\nTansa demo: open %s and log in as one of these (password %q for all):\n\n", url, Password)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  USER\tROLE\tSEES")
	fmt.Fprintln(tw, "  admin\tprovider-admin\tevery tenant; manages tenants, users, tokens")
	for _, u := range users {
		sees := "every tenant, read-only administration"
		switch u.username {
		case "hq-admin", "hq-viewer":
			sees = "the head office (Japan) only"
		case "vn-admin", "vn-viewer":
			sees = "the Vietnam subsidiary only"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", u.username, u.role, sees)
	}
	tw.Flush()
	fmt.Fprintln(w)
}
