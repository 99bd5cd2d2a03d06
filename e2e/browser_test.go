// Package e2e drives the demo gateway with a real headless Chromium. It is
// its own module so the browser driver never enters the library's go.mod;
// run it with ./run.
package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startGateway builds examples/gateway from the repository root, runs it
// with no flags but -addr 127.0.0.1:0, and returns its base URL.
func startGateway(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gateway")
	build := exec.Command("go", "build", "-o", bin, "./examples/gateway")
	build.Dir = ".."
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	cmd := exec.Command(bin, "-addr", "127.0.0.1:0")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			assert.NoError(t, err, "the gateway exits 0 on SIGTERM")
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			t.Error("the gateway did not stop on SIGTERM")
		}
	})

	ready := make(chan string, 1)
	go func() {
		br := bufio.NewReader(stdout)
		line, _ := br.ReadString('\n')
		ready <- line
		for {
			if _, err := br.ReadString('\n'); err != nil {
				break
			}
		}
		done <- cmd.Wait()
	}()
	select {
	case line := <-ready:
		require.True(t, strings.HasPrefix(line, "listening on http://"), "ready line %q", line)
		return strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
	case <-time.After(30 * time.Second):
		t.Fatal("gateway printed no ready line")
		return ""
	}
}

// browserEvents collects what the page reported.
type browserEvents struct {
	mu       sync.Mutex
	problems []string // console errors, exceptions, log errors
	apiCalls int      // responses to /api/ requests from the gateway's origin
	foreign  []string // requests to any other origin
	statuses map[string]int
	encoding map[string]string // Content-Encoding by path
}

func (e *browserEvents) listen(origin string) func(ev any) {
	return func(ev any) {
		e.mu.Lock()
		defer e.mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				e.problems = append(e.problems, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " ")))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			e.problems = append(e.problems, fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber, msg))
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError || ev.Entry.Level == cdplog.EntryLevelWarning {
				e.problems = append(e.problems, fmt.Sprintf("log %s %s: %s (%s)", ev.Entry.Level, ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
			}
		case *network.EventRequestWillBeSent:
			u, err := url.Parse(ev.Request.URL)
			if err == nil && u.Scheme != "data" && u.Scheme+"://"+u.Host != origin {
				e.foreign = append(e.foreign, ev.Request.URL)
			}
		case *network.EventResponseReceived:
			u, err := url.Parse(ev.Response.URL)
			if err != nil {
				return
			}
			e.statuses[u.Path] = int(ev.Response.Status)
			for k, v := range ev.Response.Headers {
				if strings.EqualFold(k, "Content-Encoding") {
					e.encoding[u.Path] = fmt.Sprint(v)
				}
			}
			if u.Scheme+"://"+u.Host == origin && strings.HasPrefix(u.Path, "/api/") && ev.Response.Status == 200 {
				e.apiCalls++
			}
		}
	}
}

func TestDemoPageInChromium(t *testing.T) {
	base := startGateway(t)

	opts := []chromedp.ExecAllocatorOption{
		chromedp.Headless,
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 900),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("mute-audio", true),
	}
	if p := os.Getenv("CHROMIUM"); p != "" {
		opts = append(opts, chromedp.ExecPath(p))
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	defer cancelCtx()

	// Listen starts the browser (on a context with no deadline, as chromedp
	// asks) and sees every event of the tab from its first message on.
	events := &browserEvents{statuses: map[string]int{}, encoding: map[string]string{}}
	require.NoError(t, chromedp.Listen(ctx, events.listen(base)))
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	defer cancelTimeout()

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.ID("backends")),
	))
	// The page's script fires nine calls on load; round-robin spreads them
	// over the three demo backends.
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](
		`document.querySelectorAll("#backends .backend").length === 3 && window.frontdoorDemo.calls >= 9`,
		chromedp.WithPollingTimeout(30*time.Second)))
	require.NoError(t, err, "the page never showed three backends")

	evalJS := func(expr string, into any) {
		t.Helper()
		var err error
		switch v := into.(type) {
		case *string:
			*v, err = chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		case *int:
			*v, err = chromedp.Run(ctx, chromedp.Evaluate[int](expr))
		case *[]string:
			*v, err = chromedp.Run(ctx, chromedp.Evaluate[[]string](expr))
		case *[]int:
			*v, err = chromedp.Run(ctx, chromedp.Evaluate[[]int](expr))
		default:
			t.Fatalf("evalJS: unsupported %T", into)
		}
		require.NoError(t, err, "evaluate %s", expr)
	}
	var (
		scriptRan, headerColor string
		backends               []string
		counts                 []int
		logoWidth, demoErrors  int
	)
	evalJS(`document.body.dataset.script`, &scriptRan)
	evalJS(`[...document.querySelectorAll("#backends .backend")].map(e => e.dataset.name)`, &backends)
	evalJS(`[...document.querySelectorAll("#backends .backend .count")].map(e => Number(e.textContent))`, &counts)
	evalJS(`document.getElementById("logo").naturalWidth`, &logoWidth)
	evalJS(`getComputedStyle(document.querySelector("header")).backgroundColor`, &headerColor)
	evalJS(`window.frontdoorDemo.errors`, &demoErrors)

	// The page keeps calling on its own ("live"), and its button sends
	// nine more.
	_, err = chromedp.Run(ctx, chromedp.Poll[chromedp.Void](`window.frontdoorDemo.calls >= 10`,
		chromedp.WithPollingTimeout(10*time.Second)))
	require.NoError(t, err, "no live call after the first nine")
	// Pause the live calls so the count below is exact and the picture
	// steady, then press the button.
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("live")), chromedp.Sleep(300*time.Millisecond)))
	var before int
	evalJS(`window.frontdoorDemo.calls`, &before)
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("burst"))))
	_, err = chromedp.Run(ctx, chromedp.Poll[chromedp.Void](fmt.Sprintf(`window.frontdoorDemo.calls >= %d`, before+9),
		chromedp.WithPollingTimeout(10*time.Second)))
	require.NoError(t, err, "the button's nine calls were not all answered")
	evalJS(`[...document.querySelectorAll("#backends .backend .count")].map(e => Number(e.textContent))`, &counts)
	evalJS(`window.frontdoorDemo.errors`, &demoErrors)
	var calls int
	evalJS(`window.frontdoorDemo.calls`, &calls)
	screenshot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	require.NoError(t, err)

	assert.Equal(t, "ran", scriptRan, "the page's script ran")
	assert.Equal(t, []string{"backend-1", "backend-2", "backend-3"}, backends, "answers from all three backends are rendered")
	require.Len(t, counts, 3)
	total := 0
	for i, c := range counts {
		assert.Positive(t, c, "backend-%d count", i+1)
		total += c
	}
	assert.Equal(t, calls, total, "the rendered counts add up to the calls answered")
	assert.GreaterOrEqual(t, calls, 19, "nine on load, at least one live, nine from the button")
	assert.Positive(t, logoWidth, "the SVG image loaded (served as image/svg+xml)")
	assert.Equal(t, "rgb(15, 123, 108)", headerColor, "the stylesheet applied (served as text/css)")
	assert.Zero(t, demoErrors, "no /api/ call failed")

	events.mu.Lock()
	defer events.mu.Unlock()
	assert.GreaterOrEqual(t, events.apiCalls, calls, "the browser fetched /api/ from the page's own origin")
	assert.Empty(t, events.foreign, "the page talked to no other origin")
	assert.Empty(t, events.problems, "the browser reported no console errors")
	for _, p := range []string{"/", "/app.js", "/style.css", "/logo.svg"} {
		assert.Equal(t, 200, events.statuses[p], "status of %s", p)
	}
	// StaticFS compresses the frontend by default; the script ran and the
	// stylesheet applied (above), so the browser decoded them.
	for _, p := range []string{"/app.js", "/style.css"} {
		assert.Contains(t, []string{"zstd", "gzip"}, events.encoding[p], "Content-Encoding of %s", p)
	}

	shot := os.Getenv("E2E_SCREENSHOT")
	if shot == "" {
		shot = "screenshot-demo.png"
	}
	require.NoError(t, os.WriteFile(shot, screenshot, 0o644))
	t.Logf("screenshot written to %s (%d bytes)", shot, len(screenshot))
}
