//go:build linux || darwin

package collect

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/scan/result"
)

// passwd returns /etc/passwd's entries under the root, read once.
func (c *Collector) passwd(r *result.Result) []PasswdEntry {
	if c.usersCache != nil {
		return c.usersCache
	}
	data, err := c.readFile("/etc/passwd", 16<<20)
	if err != nil {
		c.fileError(r, "host/users", "/etc/passwd", err)
	}
	c.usersCache = ParsePasswd(data)
	if c.usersCache == nil {
		c.usersCache = []PasswdEntry{}
	}
	return c.usersCache
}

// homes returns the home directories worth looking in: those of passwd
// users with a login shell, plus every directory under /home or /Users,
// since directory services may hold users that /etc/passwd does not.
func (c *Collector) homes(r *result.Result) map[string]string {
	h := map[string]string{}
	for _, u := range c.passwd(r) {
		if u.Home != "" && u.Home != "/" && loginShell(u.Shell) {
			h[u.Home] = u.Name
		}
	}
	for _, base := range []string{"/home", "/Users"} {
		for _, d := range c.glob(base + "/*") {
			if fi, err := os.Stat(c.path(d)); err == nil && fi.IsDir() {
				if _, ok := h[d]; !ok {
					h[d] = filepath.Base(d)
				}
			}
		}
	}
	return h
}

func loginShell(sh string) bool {
	return sh != "" && !strings.HasSuffix(sh, "/nologin") && !strings.HasSuffix(sh, "/false")
}

// userNames returns the names of passwd users who can log in.
func (c *Collector) userNames(r *result.Result) []string {
	var out []string
	for _, u := range c.passwd(r) {
		if loginShell(u.Shell) && (u.UID == "0" || len(u.UID) >= 3) && u.Name != "sync" {
			out = append(out, u.Name)
		}
	}
	return out
}

// cron records system and user crontabs. dirs lists the spool folders
// holding per-user crontabs, which differ between Linux and macOS.
func (c *Collector) cron(ctx context.Context, r *result.Result, spools []string) {
	tabs := []string{"/etc/crontab"}
	tabs = append(tabs, c.glob("/etc/cron.d/*")...)
	for _, p := range tabs {
		c.crontab(r, p, true, "")
		_ = c.throttle.Tick(ctx)
	}
	for _, spool := range spools {
		if _, err := os.ReadDir(c.path(spool)); err != nil {
			c.fileError(r, "persistence/cron", spool, err)
			continue
		}
		for _, p := range c.glob(spool + "/*") {
			c.crontab(r, p, false, filepath.Base(p))
		}
	}
	for _, period := range []string{"hourly", "daily", "weekly", "monthly"} {
		for _, p := range c.glob("/etc/cron." + period + "/*") {
			c.scriptEntry(r, "cron-"+period, p)
		}
	}
}

func (c *Collector) crontab(r *result.Result, p string, system bool, user string) {
	data, err := c.readFile(p, 1<<20)
	if err != nil {
		c.fileError(r, "persistence/cron", p, err)
		return
	}
	mod := c.mtime(p)
	for _, e := range ParseCrontab(data, system) {
		u := e.User
		if !system {
			u = user
		}
		r.Persistence = append(r.Persistence, result.Persistence{
			Kind: "cron", Name: e.Schedule, Location: p, Command: e.Command, User: u, Modified: mod,
		})
	}
}

// scriptEntry records a script that runs automatically by virtue of its
// location (cron.daily, init.d, rc.local).
func (c *Collector) scriptEntry(r *result.Result, kind, p string) {
	fi, err := os.Stat(c.path(p))
	if err != nil {
		c.fileError(r, "persistence/"+kind, p, err)
		return
	}
	if !fi.Mode().IsRegular() {
		return
	}
	r.Persistence = append(r.Persistence, result.Persistence{
		Kind: kind, Name: filepath.Base(p), Location: p, Command: p, Modified: fi.ModTime().UTC(),
	})
}

func (c *Collector) mtime(p string) (t time.Time) {
	if fi, err := os.Stat(c.path(p)); err == nil {
		t = fi.ModTime().UTC()
	}
	return t
}

// sshKeys records authorized_keys entries; a key with a forced command or
// in root's file is a persistence mechanism attackers favour.
func (c *Collector) sshKeys(r *result.Result, homes map[string]string) {
	for home, user := range homes {
		for _, name := range []string{".ssh/authorized_keys", ".ssh/authorized_keys2"} {
			p := home + "/" + name
			data, err := c.readFile(p, 4<<20)
			if err != nil {
				c.fileError(r, "persistence/ssh", p, err)
				continue
			}
			mod := c.mtime(p)
			for _, k := range ParseAuthorizedKeys(data) {
				cmd := ""
				for _, opt := range splitOptions(k.Options) {
					if v, ok := strings.CutPrefix(opt, "command="); ok {
						cmd = strings.Trim(v, `"`)
					}
				}
				r.Persistence = append(r.Persistence, result.Persistence{
					Kind: "ssh-authorized-key", Name: strings.TrimSpace(k.Type + " " + k.Comment), Location: p,
					Command: cmd, User: user, Modified: mod,
				})
			}
		}
	}
}

// profiles records the shell start-up files and, as the entry's command,
// those of their lines that fetch or run something from the network or
// decode data, which is what a heuristic can judge.
func (c *Collector) profiles(r *result.Result, homes map[string]string) {
	files := []string{"/etc/profile", "/etc/bash.bashrc", "/etc/bashrc", "/etc/zshrc", "/etc/zprofile", "/etc/environment"}
	files = append(files, c.glob("/etc/profile.d/*")...)
	users := map[string]string{}
	for home, user := range homes {
		for _, n := range []string{".bashrc", ".bash_profile", ".bash_login", ".profile", ".zshrc", ".zprofile", ".zshenv", ".bash_logout"} {
			files = append(files, home+"/"+n)
			users[home+"/"+n] = user
		}
	}
	for _, p := range files {
		data, err := c.readFile(p, 1<<20)
		if err != nil {
			c.fileError(r, "persistence/profile", p, err)
			continue
		}
		mod := c.mtime(p)
		for _, l := range lines(data) {
			t := strings.TrimSpace(l)
			if t == "" || t[0] == '#' || !interestingShellLine(t) {
				continue
			}
			r.Persistence = append(r.Persistence, result.Persistence{
				Kind: "shell-profile", Name: filepath.Base(p), Location: p, Command: t, User: users[p], Modified: mod,
			})
		}
	}
}

// interestingShellLine reports lines that reach the network, decode
// payloads, preload libraries or start something in the background.
func interestingShellLine(l string) bool {
	lower := strings.ToLower(l)
	for _, w := range []string{"curl ", "wget ", "nc ", "ncat ", "/dev/tcp/", "base64", "ld_preload", "python -c", "python3 -c", "perl -e", "nohup ", "openssl ", "socat ", "| sh", "|sh", "| bash", "|bash", "/tmp/", "/dev/shm/"} {
		if strings.Contains(lower, w) {
			return true
		}
	}
	return false
}
