package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// browserPath finds a Chromium or Chrome to drive: $CANARYFLOW_CHROMIUM,
// else the usual names on PATH.
func browserPath() string {
	if p := os.Getenv("CANARYFLOW_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// noBrowser fails the test in CI (.ci/run installs chromium, so a missing
// or broken browser is a broken machine) and skips it elsewhere.
func noBrowser(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("no browser starts (%s): .ci/run installs the chromium package; the dashboard tests need it", why)
	}
	t.Skipf("no browser (%s): install chromium to run the dashboard tests", why)
}

// browser is one headless Chromium window of 1,400×900, stopped (with its
// processes) when the test ends.
type browser struct {
	t   *testing.T
	ctx context.Context
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := browserPath()
	if path == "" {
		noBrowser(t, "none on PATH")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.WindowSize(1400, 900), chromedp.UserDataDir(t.TempDir()))
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); acancel() })
	if err := chromedp.Do(ctx); err != nil {
		noBrowser(t, err.Error())
	}
	return &browser{t: t, ctx: ctx}
}

// do runs actions with a deadline of 30 seconds.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v\npage: %s", what, err, b.text())
	}
}

// text is the page's visible text, for failure messages.
func (b *browser) text() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
	return s
}

// eval returns the value of a JavaScript expression.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// until waits for a JavaScript expression to be true in the page (it is
// checked at every change of the DOM and every 50 ms).
func (b *browser) until(what, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	for {
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond)))
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			b.t.Fatalf("waiting for %s: %v\npage: %s", what, err, b.text())
		}
		// The page navigated under the poll (a sign-in moves on to /, a
		// form post loads its answer): poll the new page.
	}
}

// click presses a button, then the confirmation's Confirm.
func (b *browser) confirm(button string) {
	b.t.Helper()
	b.do("click "+button, chromedp.Click(chromedp.CSS("#"+button)), chromedp.WaitVisible(chromedp.CSS("#confirm-ok")),
		chromedp.Click(chromedp.CSS("#confirm-ok")))
}

// screenshot saves the page as PNG under the test's temporary directory
// (and in $CANARYFLOW_SCREENSHOTS when set) and returns its path.
func (b *browser) screenshot(name string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(b.t.TempDir(), name+".png")
	if err := os.WriteFile(path, png, 0o600); err != nil {
		b.t.Fatal(err)
	}
	if dir := os.Getenv("CANARYFLOW_SCREENSHOTS"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
	}
	return path
}

// row is the JavaScript for the text of a deployment's table row.
func row(id string) string {
	return fmt.Sprintf(`(document.querySelector('#deployments tr[data-id="%s"]') || {innerText: ''}).innerText`, id)
}

// signIn opens the page, checks that it asks for a sign-in, and signs in
// with a one-time link as `canaryflow dashboard` prints it.
func signIn(t *testing.T, b *browser, d *daemon) {
	t.Helper()
	base := "http://" + d.info.API
	b.do("open the page", chromedp.Navigate(base+"/"))
	b.until("the sign-in note", `!document.getElementById('signin').hidden`)
	path, err := d.client.DashboardLink(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b.do("follow the link", chromedp.Navigate(base+path))
	b.until("the dashboard", `!document.getElementById('app').hidden && document.getElementById('conn').textContent === 'live'`)
	// The link works once.
	resp, err := http.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("the link a second time: %s, want 403", resp.Status)
	}
	// The session is a cookie the page's scripts cannot read.
	if c := eval[string](b, "document.cookie"); c != "" {
		t.Errorf("document.cookie = %q: the session cookie must be HttpOnly", c)
	}
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	res, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Cookies) != 1 || !res.Cookies[0].HTTPOnly || res.Cookies[0].SameSite != network.CookieSameSiteStrict {
		t.Errorf("cookies %+v: want one HttpOnly SameSite=Strict session", res.Cookies)
	}
}

// TestDashboardInChromium drives the dashboard in a real headless
// Chromium: sign-in; a canary's split moving in the chart and the table;
// approve and promote now from the page; stop with rollback from the page
// on the next deployment; a rollback by alarm shown within 250 ms; a
// phone-width window; cross-site form posts refused.
func TestDashboardInChromium(t *testing.T) {
	b := newBrowser(t)
	e := newE2E(t, canary5m+"  ready: {action: STOP_DEPLOYMENT, wait: 1h}\n")
	e.succeed("1.0.0")
	signIn(t, b, e.d)
	b.until("the first deployment's row", row("d-000001")+`.includes('Succeeded')`)

	// Approve from the page: the split moves to 10% in the table and the chart.
	d := e.create("1.1.0", "", nil)
	b.until("the ready wait", row(d.ID)+`.includes('Ready')`)
	b.until("the page on the new deployment", `document.getElementById('detail-id').textContent.startsWith('`+d.ID+`')`)
	b.confirm("act-approve")
	b.until("the approval's result", `document.getElementById('result').textContent.includes('Approved `+d.ID+`')`)
	b.until("10% in the table", row(d.ID)+`.includes('90% / 10%')`)
	b.until("10% in the chart", `document.getElementById('chart-split').dataset.greenPercent === '10' &&
		document.querySelector('#chart-split polygon') !== null && document.querySelector('#chart-split [data-mark=step]') !== null`)
	l := startLoad(e.d.prod, 2)
	b.until("request rates drawn per version", `[...document.querySelectorAll('#chart-rate polyline')].filter((p) => p.getAttribute('points').split(' ').length >= 3).length === 2`)
	l.end()
	b.screenshot("dashboard")

	// A phone-width window: nothing wider than the screen but the tables'
	// own scrolling boxes.
	b.do("phone width", chromedp.EmulateViewport(390, 844))
	if w := eval[float64](b, "document.documentElement.scrollWidth - window.innerWidth"); w > 0 {
		wide := eval[string](b, `[...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.scroll')).map((e) => e.tagName + '#' + e.id + '.' + e.className).slice(0, 8).join(' ')`)
		t.Errorf("at 390 px the page is %v px wider than the window: %s", w, wide)
	}
	b.screenshot("dashboard-phone")
	b.do("desktop width", chromedp.EmulateViewport(1400, 900))

	// Promote now from the page: 100% without the clock moving.
	b.confirm("act-promote")
	b.until("100% in the table", row(d.ID)+`.includes('0% / 100%')`)
	b.until("100% in the chart", `document.getElementById('chart-split').dataset.greenPercent === '100'`)
	if v := e.get(d.ID); v.Deployment.GreenPercent != 100 || !v.Deployment.PromoteRequested {
		t.Errorf("after promote from the page: %d%% green, promoted %v", v.Deployment.GreenPercent, v.Deployment.PromoteRequested)
	}
	e.drive(d.ID, nil)
	b.until("success in the table", row(d.ID)+`.includes('Succeeded')`)

	// The next deployment: stop with rollback from the page.
	d2 := e.create("1.2.0", "", nil)
	b.until("the next ready wait", row(d2.ID)+`.includes('Ready')`)
	b.until("the page on the next deployment", `document.getElementById('detail-id').textContent.startsWith('`+d2.ID+`')`)
	b.confirm("act-stop-rollback")
	b.until("the rollback in the table", row(d2.ID)+`.includes('Stopped, rolled back')`)
	if v := e.waitDone(d2.ID); !v.Deployment.RolledBack || e.production() != "Version: 1.1.0" {
		t.Errorf("stopped from the page: %+v, production %q", v.Deployment, e.production())
	}

	// A broken release under load: the page shows the rollback within
	// 250 ms of the alarm event.
	l = startLoad(e.d.prod, 4)
	d3 := e.create("1.3.0", "5xx", nil)
	if _, err := e.d.client.Approve(context.Background(), d3.ID); err != nil {
		t.Fatal(err)
	}
	b.until("the rollback by alarm", row(d3.ID)+`.includes('rolled back') || `+row(d3.ID)+`.includes('Rolling back')`)
	l.end()
	lag := eval[float64](b, `(() => {
		const a = window.__canaryflow.applied;
		const alarm = a.find((x) => x.type === 'alarm' && x.data.deploymentId === '`+d3.ID+`' && x.data.alarm.state === 'ALARM');
		const rb = a.find((x) => x.type === 'deployment' && x.data.deployment.deploymentId === '`+d3.ID+`' &&
			(x.data.deployment.step === 'RollingBack' || x.data.deployment.rolledBack));
		return alarm && rb ? rb.at - Date.parse(alarm.time) : -1;
	})()`)
	t.Logf("the page showed the rollback %v ms after the alarm event's time", lag)
	if lag < 0 || lag > 250 {
		t.Errorf("the rollback showed %v ms after the alarm event (want 0-250; -1: an event is missing)", lag)
	}
	b.until("the alarm's reason", `document.getElementById('alarm-state').textContent === 'ALARM' || `+row(d3.ID)+`.includes('rolled back')`)
	v3 := e.waitDone(d3.ID)
	if v3.Deployment.Error == nil || v3.Deployment.Error.Code != "ALARM_ACTIVE" {
		t.Errorf("the broken release ended %+v", v3.Deployment)
	}

	// Cross-site form posts from the signed-in browser change nothing: from
	// another site the cookie is not sent (401); from another port of the
	// same host it is, but without the CSRF token (403).
	d4 := e.create("1.4.0", "", nil)
	e.wait(d4.ID, "ready", func(v *DeploymentView) bool { return v.Deployment.Status == "Ready" })
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<form id="f" method="POST" action="http://%s/v1/deployments/%s/stop"><input name="rollback" value="true"></form>
<script>document.getElementById('f').submit()</script>`, e.d.info.API, d4.ID)
	}))
	t.Cleanup(evil.Close)
	_, port, _ := strings.Cut(strings.TrimPrefix(evil.URL, "http://"), ":")
	for _, site := range []struct{ origin, want string }{
		{"http://localhost:" + port, "missing or wrong API token"},
		{"http://127.0.0.1:" + port, "CSRF token"},
	} {
		b.do("post from "+site.origin, chromedp.Navigate(site.origin+"/"))
		b.until("the refusal from "+site.origin, `location.href.includes('/v1/deployments/') && document.body.innerText.includes('`+site.want+`')`)
	}
	if v := e.get(d4.ID); v.Deployment.StopRequested || v.Deployment.Done() {
		t.Errorf("a cross-site post stopped %s: %+v", d4.ID, v.Deployment)
	}
}

// TestDashboardPipelineInChromium: a pushed tag's execution appears in the
// page with its stages, its build log streams into the page while it
// runs, and starting the pipeline for a tag from the page shows the
// answer.
func TestDashboardPipelineInChromium(t *testing.T) {
	b := newBrowser(t)
	origin, work := helloRepo(t)
	state := t.TempDir()
	cfg := pipelineConfig(t, origin, "go")
	d := startDaemon(t, state, cfg)
	defer d.stopWithTasks(state, cfg)
	signIn(t, b, d)

	pushRelease(t, work, "1.0.0", "1.0.0", nil)
	b.until("the execution's row", `!!document.querySelector('#executions tr[data-id="e-000001"]')`)
	b.do("follow its log", chromedp.Click(chromedp.CSS(`#executions tr[data-id="e-000001"] button`)))
	b.until("build output in the page", `document.getElementById('log').textContent.includes('[canaryflow] daemonless Go build')`)
	b.until("the execution's success", `document.querySelector('#executions tr[data-id="e-000001"]').cells[2].innerText === 'Succeeded' &&
		/Build Succeeded \d/.test(document.querySelector('#executions tr[data-id="e-000001"]').cells[3].innerText)`)
	b.until("its deployment in the table", row("d-000001")+`.includes('1.0.0')`)

	b.do("type a tag", chromedp.SendKeys(chromedp.CSS("#pipeline-tag"), "v1.0.0"))
	b.confirm("pipeline-start")
	b.until("the start's answer", `document.getElementById('result').textContent.includes('e-000001 of v1.0.0: Succeeded')`)
	if e := d.waitExecution("v1.0.0"); e.ID != "e-000001" {
		t.Errorf("starting a tag that already succeeded made %s", e.ID)
	}
}
