package main

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"os/user"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/server"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// storeFlags locate the data of a (possibly running) server.
type storeFlags struct{ config, data string }

func (f *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.config, "config", "", "the server's YAML configuration `file` (for a PostgreSQL store)")
	fs.StringVar(&f.data, "data", "", "the server's data `directory` (default ./tansa-data, or the configuration's)")
}

// open parses args and opens the access service on the server's store. It
// works while the server runs: both write through the database's own
// locking. done reports that the command ends here, with err: after --help
// (nil), a usage error, or a store that would not open.
func (f *storeFlags) open(ctx context.Context, e *env, fs *flag.FlagSet, args []string) (svc *access.Service, c access.Caller, closeFn func() error, done bool, err error) {
	if done, err := parse(e, fs, args); done {
		return nil, access.Caller{}, nil, true, err
	}
	cfg, err := loadConfig(f.config)
	if err != nil {
		return nil, access.Caller{}, nil, true, err
	}
	if f.data != "" {
		cfg.Data = f.data
	}
	svc, closeFn, err = server.OpenStore(ctx, cfg)
	if err != nil {
		return nil, access.Caller{}, nil, true, err
	}
	name := "cli"
	if u, err := user.Current(); err == nil {
		name = "cli:" + u.Username
	}
	return svc, access.Caller{Principal: access.System(name), Addr: "local"}, closeFn, false, nil
}

// subcommand dispatches "tansa NAME VERB …".
func subcommand(ctx context.Context, e *env, name string, args []string, verbs map[string]func(context.Context, *env, []string) error, help string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w := e.stdout
		if len(args) == 0 {
			w = e.stderr
		}
		fmt.Fprintf(w, "Usage: tansa %s <%s> [flags]\n\n%s\n", name, strings.Join(sortedKeys(verbs), "|"), strings.TrimSpace(help))
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	v, ok := verbs[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "tansa %s: unknown action %q (want %s)\n", name, args[0], strings.Join(sortedKeys(verbs), ", "))
		return errUsage
	}
	return v(ctx, e, args[1:])
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

func optional(fs *flag.FlagSet, name string, v string) *string {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	if !set {
		return nil
	}
	return &v
}

func cmdTenant(ctx context.Context, e *env, args []string) error {
	return subcommand(ctx, e, "tenant", args, map[string]func(context.Context, *env, []string) error{
		"create": tenantCreate, "list": tenantList,
	}, `Create and list tenants (group companies and sites) in a data directory.
Run "tansa tenant create --help" for the flags of each action.`)
}

func tenantCreate(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "tenant create", "--name NAME [--country CC] [--language ja|en] [--time-zone TZ] [--data DIR]",
		"Create a tenant and print its ID.")
	var sf storeFlags
	sf.register(fs)
	name := fs.String("name", "", "the tenant's `name` (required)")
	country := fs.String("country", "", "ISO 3166 two-letter `code`, e.g. JP")
	lang := fs.String("language", "en", "`language` of its reports and mails: ja or en")
	tz := fs.String("time-zone", "UTC", "IANA time `zone`, e.g. Asia/Tokyo")
	svc, c, closeFn, done, err := sf.open(ctx, e, fs, args)
	if done {
		return err
	}
	defer closeFn()
	t, err := svc.CreateTenant(ctx, c, access.TenantInput{Name: name, Country: country, Language: lang, TimeZone: tz})
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, t.ID)
	return nil
}

func tenantList(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "tenant list", "[--data DIR]", "List tenants.")
	var sf storeFlags
	sf.register(fs)
	svc, c, closeFn, done, err := sf.open(ctx, e, fs, args)
	if done {
		return err
	}
	defer closeFn()
	return table(e, "ID\tNAME\tCOUNTRY\tLANGUAGE\tTIME ZONE\tRETENTION", func(p access.Page) ([]tansa.Tenant, int, error) {
		return svc.Tenants(ctx, c, access.TenantQuery{Page: p})
	}, func(t tansa.Tenant) string {
		return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%dd", t.ID, t.Name, t.Country, t.Language, t.TimeZone, t.RetentionDays)
	})
}

func cmdUser(ctx context.Context, e *env, args []string) error {
	return subcommand(ctx, e, "user", args, map[string]func(context.Context, *env, []string) error{
		"create": userCreate, "list": userList, "reset-password": userResetPassword,
	}, `Create, list and reset console users in a data directory.
Run "tansa user create --help" for the flags of each action.`)
}

func userCreate(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "user create", "--username NAME --role ROLE [--tenant ID] [--password PW] [--data DIR]", `
Create a user. Roles: provider-admin, provider-analyst (the CSIRT, across
tenants), tenant-admin, tenant-viewer (one tenant, given with --tenant).
Without --password a random password is made and printed.`)
	var sf storeFlags
	sf.register(fs)
	username := fs.String("username", "", "login `name` (required)")
	role := fs.String("role", "", "`role` (required)")
	tenant := fs.String("tenant", "", "tenant `ID` for tenant roles")
	tenants := fs.String("tenants", "", "comma-separated tenant `IDs` restricting a provider role (default: all)")
	name := fs.String("name", "", "display `name`")
	email := fs.String("email", "", "e-mail `address`")
	lang := fs.String("language", "", "console `language`: ja or en (default: the browser's)")
	password := fs.String("password", "", "`password` (default: random, printed)")
	svc, c, closeFn, done, err := sf.open(ctx, e, fs, args)
	if done {
		return err
	}
	defer closeFn()
	pw := *password
	if pw == "" {
		pw = access.RandomPassword()
	}
	r := tansa.Role(*role)
	in := access.UserInput{Username: username, Role: &r, Name: name, Email: email, Language: lang, Password: &pw,
		TenantID: optional(fs, "tenant", *tenant)}
	if *tenants != "" {
		ts := strings.Split(*tenants, ",")
		in.Tenants = &ts
	}
	u, err := svc.CreateUser(ctx, c, in)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s\n", u.ID)
	if *password == "" {
		fmt.Fprintf(e.stderr, "password for %s: %s\n", u.Username, pw)
	}
	return nil
}

func userList(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "user list", "[--tenant ID] [--data DIR]", "List users.")
	var sf storeFlags
	sf.register(fs)
	tenant := fs.String("tenant", "", "only the users of tenant `ID`")
	svc, c, closeFn, done, err := sf.open(ctx, e, fs, args)
	if done {
		return err
	}
	defer closeFn()
	var scope access.Scope
	if *tenant != "" {
		scope.Tenants = []string{*tenant}
	}
	return table(e, "ID\tUSERNAME\tROLE\tTENANT\tDISABLED\tLAST LOGIN", func(p access.Page) ([]tansa.User, int, error) {
		return svc.Users(ctx, c, access.UserQuery{Scope: scope, Page: p})
	}, func(u tansa.User) string {
		last := "-"
		if !u.LastLogin.IsZero() {
			last = u.LastLogin.Format("2006-01-02 15:04Z07:00")
		}
		return fmt.Sprintf("%s\t%s\t%s\t%s\t%v\t%s", u.ID, u.Username, u.Role, u.TenantID, u.Disabled, last)
	})
}

func userResetPassword(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "user reset-password", "--username NAME [--password PW] [--data DIR]", `
Set a user's password, unlock the account and end its sessions. Without
--password a random password is made and printed.`)
	var sf storeFlags
	sf.register(fs)
	username := fs.String("username", "", "login `name` (required)")
	password := fs.String("password", "", "new `password` (default: random, printed)")
	svc, c, closeFn, done, err := sf.open(ctx, e, fs, args)
	if done {
		return err
	}
	defer closeFn()
	us, _, err := svc.Users(ctx, c, access.UserQuery{Text: *username, Page: access.Page{Limit: 500}})
	if err != nil {
		return err
	}
	for _, u := range us {
		if u.Username == *username {
			pw, err := svc.ResetPassword(ctx, c, u.ID, *password)
			if err != nil {
				return err
			}
			if *password == "" {
				fmt.Fprintln(e.stdout, pw)
			}
			return nil
		}
	}
	return tansa.Errorf(tansa.NotFound, "no user named %q", *username)
}

func cmdToken(ctx context.Context, e *env, args []string) error {
	return subcommand(ctx, e, "token", args, map[string]func(context.Context, *env, []string) error{
		"create": tokenCreate, "list": tokenList, "revoke": tokenRevoke,
	}, `Create, list and revoke API tokens in a data directory. A token's secret is
printed once; only its hash is stored.
Run "tansa token create --help" for the flags of each action.`)
}

func tokenCreate(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "token create", "--role ROLE [--tenant ID] [--name NAME] [--expires DURATION] [--data DIR]", `
Create an API token and print its secret (only once; only its hash is kept).
Use it as "Authorization: Bearer <token>". Roles: provider-admin,
provider-analyst, tenant-admin, tenant-viewer, and ingest (write-only, for log
shippers and scanners; needs --tenant).`)
	var sf storeFlags
	sf.register(fs)
	role := fs.String("role", "", "`role` (required)")
	tenant := fs.String("tenant", "", "tenant `ID` for tenant and ingest roles")
	name := fs.String("name", "", "a `name` saying what uses the token (default: the role)")
	expires := fs.String("expires", "", "lifetime such as 720h (default: until revoked)")
	svc, c, closeFn, done, err := sf.open(ctx, e, fs, args)
	if done {
		return err
	}
	defer closeFn()
	n := *name
	if n == "" {
		n = *role
	}
	_, secret, err := svc.CreateToken(ctx, c, access.TokenInput{Name: n, Role: tansa.Role(*role), TenantID: *tenant, ExpiresIn: *expires})
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, secret)
	return nil
}

func tokenList(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "token list", "[--data DIR]", "List API tokens, newest first (secrets are never shown again).")
	var sf storeFlags
	sf.register(fs)
	svc, c, closeFn, done, err := sf.open(ctx, e, fs, args)
	if done {
		return err
	}
	defer closeFn()
	return table(e, "ID\tNAME\tROLE\tTENANT\tPREFIX\tSTATE", func(p access.Page) ([]tansa.Token, int, error) {
		return svc.Tokens(ctx, c, access.TokenQuery{Page: p})
	}, func(t tansa.Token) string {
		state := "active"
		if !t.Revoked.IsZero() {
			state = "revoked"
		}
		return fmt.Sprintf("%s\t%s\t%s\t%s\t%s…\t%s", t.ID, t.Name, t.Role, t.TenantID, t.Prefix, state)
	})
}

func tokenRevoke(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "token revoke", "--id ID [--data DIR]", "Revoke an API token at once.")
	var sf storeFlags
	sf.register(fs)
	id := fs.String("id", "", "the token's `ID` (from token list)")
	svc, c, closeFn, done, err := sf.open(ctx, e, fs, args)
	if done {
		return err
	}
	defer closeFn()
	_, err = svc.RevokeToken(ctx, c, *id)
	return err
}

// table prints every item a paged list returns, one formatted row each,
// under header, in aligned columns.
func table[T any](e *env, header string, list func(access.Page) ([]T, int, error), row func(T) string) error {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for p := (access.Page{Limit: 500}); ; p.Offset += p.Limit {
		items, total, err := list(p)
		if err != nil {
			return err
		}
		for _, it := range items {
			fmt.Fprintln(tw, row(it))
		}
		if p.Offset+p.Limit >= total {
			return tw.Flush()
		}
	}
}
