package web

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/tansa-sec/tansa/internal/demo"
)

// The real-browser test drives the console in Chromium as a person would:
// keyboard, forms, the tenant switcher's script, redirects and cookies.
//
//	bash .ci/browser.sh && TANSA_TEST_BROWSER=1 go test -run Browser -v ./internal/web/
//
// Without a browser it skips, unless TANSA_TEST_BROWSER is set (as CI sets
// it), when a missing browser is a failure. With TANSA_TEST_ARTIFACTS set it
// also saves screenshots of the main pages in both languages there.

// chromiumPath finds the browser or skips or fails the test.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("TANSA_TEST_BROWSER") != "" {
		t.Fatal("TANSA_TEST_BROWSER is set but no chromium binary was found; install it with .ci/browser.sh")
	}
	t.Skip("no chromium binary found: install it with .ci/browser.sh, or set TANSA_TEST_BROWSER=1 to make its absence a failure")
	return ""
}

// artifactsDir is where screenshots go: $TANSA_TEST_ARTIFACTS, kept after
// the test, else a temporary directory removed with it.
func artifactsDir(t *testing.T) (dir string, kept bool) {
	if d := os.Getenv("TANSA_TEST_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d, true
	}
	return t.TempDir(), false
}

// chrome is one headless browser tab for a test.
type chrome struct {
	t         *testing.T
	ctx       context.Context
	artifacts string

	mu         sync.Mutex
	exceptions []string // uncaught JavaScript exceptions of the pages
}

func newChrome(t *testing.T) *chrome {
	t.Helper()
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox cannot start
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 768),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	// Ending the contexts ends Chromium and waits for it, so no browser
	// outlives the test.
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	dir, _ := artifactsDir(t)
	c := &chrome{t: t, ctx: ctx, artifacts: dir}
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			c.mu.Lock()
			defer c.mu.Unlock()
			msg := e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
			c.exceptions = append(c.exceptions, msg)
		}
	}); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1366, 768)); err != nil {
		t.Fatalf("chromium viewport: %v", err)
	}
	return c
}

// fail saves a full-page screenshot of the current page, logs where, and
// stops the test.
func (c *chrome) fail(step string, err error) {
	c.t.Helper()
	name := regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(c.t.Name()+"-"+step), "-") + ".png"
	path := filepath.Join(c.artifacts, name)
	if png, serr := chromedp.Run(c.ctx, chromedp.FullScreenshot(100)); serr != nil {
		c.t.Logf("no screenshot: %v", serr)
	} else if werr := os.WriteFile(path, png, 0o644); werr != nil {
		c.t.Logf("no screenshot: %v", werr)
	} else {
		c.t.Logf("screenshot of the failure: %s", path)
	}
	if url, uerr := chromedp.Run(c.ctx, chromedp.Location()); uerr == nil {
		c.t.Logf("page: %s", url)
	}
	c.t.Fatalf("%s: %v", step, err)
}

// do runs actions as one named step.
func (c *chrome) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	if err := chromedp.Do(c.ctx, actions...); err != nil {
		c.fail(step, err)
	}
}

// load runs the trigger and waits for the page it leads to.
func (c *chrome) load(step string, trigger chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	if _, err := chromedp.Run(c.ctx, chromedp.WaitEvent(cdppage.LoadEventFired, nil, trigger)); err != nil {
		c.fail(step, err)
	}
}

// text returns the visible text of the first element sel matches.
func (c *chrome) text(step, sel string) string {
	c.t.Helper()
	s, err := chromedp.Run(c.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		c.fail(step, err)
	}
	return s
}

// want fails the step unless the text of sel contains each of has and none
// of hasNot.
func (c *chrome) want(step, sel string, has []string, hasNot ...string) {
	c.t.Helper()
	got := c.text(step, sel)
	for _, s := range has {
		if !strings.Contains(got, s) {
			c.fail(step, fmt.Errorf("%s lacks %q; it reads:\n%s", sel, s, got))
		}
	}
	for _, s := range hasNot {
		if strings.Contains(got, s) {
			c.fail(step, fmt.Errorf("%s shows %q, which it must not; it reads:\n%s", sel, s, got))
		}
	}
}

func TestBrowserAdminJourney(t *testing.T) {
	c := newChrome(t)
	e := newConsoleEnv(t)
	base := e.ts.URL

	c.load("open the login page", chromedp.Navigate(base+"/login?lang=en"))
	c.do("type the credentials",
		chromedp.SendKeys(chromedp.ID("username"), "admin"),
		chromedp.SendKeys(chromedp.ID("password"), demo.Password))
	c.load("log in", chromedp.Click(chromedp.ID("login-submit")))
	c.want("the overview after login", "main h1", []string{"Overview"})

	c.load("switch to Japanese", chromedp.Click(chromedp.ID("lang-switch")))
	c.want("the Japanese navigation", "nav.side", []string{"監査ログ", "ユーザー", "テナント"}, "Audit log")
	c.want("the Japanese overview", "main h1", []string{"概要"})
	c.load("switch back to English", chromedp.Click(chromedp.ID("lang-switch")))
	c.want("the English navigation", "nav.side", []string{"Audit log", "Users"}, "監査ログ")

	// The switcher submits itself on change, through tansa.js.
	pick := fmt.Sprintf(`(() => { const s = document.getElementById("tenant-switch"); s.value = %q;
		s.dispatchEvent(new Event("change", {bubbles: true})); })()`, e.vn.ID)
	c.load("switch to the Vietnam tenant", chromedp.Evaluate[chromedp.Void](pick))
	c.want("the overview of one tenant", "main", []string{e.vn.Name, "You can see 1 tenant(s)."}, e.hq.Name)
	if v, err := chromedp.Run(c.ctx, chromedp.Value(chromedp.ID("tenant-switch"))); err != nil || v != e.vn.ID {
		c.fail("the switcher shows the chosen tenant", fmt.Errorf("value %q (%v), want %q", v, err, e.vn.ID))
	}

	// The keyboard shortcut g u opens the users page.
	c.load("press g u", chromedp.KeyEvent("gu"))
	c.want("the users page", "main h1", []string{"Users"})
	c.do("fill in the new user",
		chromedp.SendKeys(chromedp.ID("u-username"), "bao.browser"),
		chromedp.SendKeys(chromedp.ID("u-name"), "Bao Browser"),
		chromedp.SendKeys(chromedp.ID("u-email"), "bao@sakura-vn.example"),
		chromedp.SetValue(chromedp.ID("u-role"), "tenant-viewer"),
		chromedp.SendKeys(chromedp.ID("u-password"), "browser-made-password"))
	if v, err := chromedp.Run(c.ctx, chromedp.Value(chromedp.ID("u-tenant"))); err != nil || v != e.vn.ID {
		c.fail("the new user's tenant defaults to the chosen one", fmt.Errorf("value %q (%v), want %q", v, err, e.vn.ID))
	}
	c.load("create the user", chromedp.Click(chromedp.ID("user-create-submit")))
	c.want("the flash after creating", "main .flash", []string{"The user was created."})
	c.want("the new user in the list", "#users", []string{"bao.browser", "Bao Browser", e.vn.Name})
	c.load("open the full users list", chromedp.Navigate(base+"/admin/users"))
	c.want("the full users list", "#users", []string{"bao.browser", "vn-viewer"}, "hq-viewer")

	c.load("open the tokens page", chromedp.KeyEvent("gk"))
	c.do("name the new token", chromedp.SendKeys(chromedp.ID("k-name"), "proxy-syslog-hanoi"))
	c.load("create the token", chromedp.Click(chromedp.ID("token-create-submit")))
	if secret := c.text("the token's secret", "#token-secret"); !strings.HasPrefix(secret, "tansa_") {
		c.fail("the token's secret", fmt.Errorf("got %q, want a tansa_ secret", secret))
	}
	if dir, kept := artifactsDir(t); kept {
		c.shot(dir, "console-token-created-en")
	}
	c.load("back to the tokens", chromedp.Navigate(base+"/admin/tokens"))
	c.want("the new token in the list", "#tokens", []string{"proxy-syslog-hanoi", e.vn.Name, "active"})

	if dir, kept := artifactsDir(t); kept {
		c.screenshots(base, dir, e.hq.ID)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.exceptions) > 0 {
		t.Errorf("JavaScript exceptions on the pages:\n%s", strings.Join(c.exceptions, "\n"))
	}
}

// screenshots saves each main page at 1366×768 in both languages, and
// fails when a page is wider than the window: at that size nobody should
// have to scroll sideways.
func (c *chrome) screenshots(base, dir, tenantID string) {
	c.t.Helper()
	c.load("show all tenants", chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById("tenant-switch");
		s.value = ""; s.dispatchEvent(new Event("change", {bubbles: true})); })()`))
	pages := []struct{ name, path string }{
		{"overview", "/"}, {"tenants", "/admin/tenants"}, {"tenant", "/admin/tenants/" + tenantID},
		{"users", "/admin/users"}, {"tokens", "/admin/tokens"}, {"audit", "/admin/audit"}, {"settings", "/settings"},
	}
	for _, lang := range []string{"en", "ja"} {
		c.load("set the language "+lang, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
			const f = document.createElement("form"); f.method = "post"; f.action = "/language";
			for (const [k, v] of [["language", %q], ["next", "/"]]) {
				const i = document.createElement("input"); i.type = "hidden"; i.name = k; i.value = v; f.append(i); }
			document.body.append(f); f.submit(); })()`, lang)))
		for _, p := range pages {
			c.load("open "+p.name, chromedp.Navigate(base+p.path))
			// An opened change in the audit log must fit as well.
			c.do("open a change", chromedp.Evaluate[chromedp.Void](`document.querySelector("#audit details")?.setAttribute("open", "")`))
			wide, err := chromedp.Run(c.ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
			if err != nil {
				c.fail("measure "+p.name, err)
			}
			if wide {
				c.fail("fit "+p.name+" in "+lang, fmt.Errorf("the page is wider than the 1366-pixel window"))
			}
			c.shot(dir, "console-"+p.name+"-"+lang)
		}
	}
}

// shot saves what the window shows as dir/name.png.
func (c *chrome) shot(dir, name string) {
	c.t.Helper()
	png, err := chromedp.Run(c.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		c.fail("screenshot "+name, err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		c.t.Fatal(err)
	}
	c.t.Logf("screenshot: %s", path)
}
