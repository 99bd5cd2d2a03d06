package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/frontdoor-go/frontdoor"
)

// config is the parsed command line.
type config struct {
	addr     string
	static   string // "" means the embedded demo frontend
	strategy string
	routes   []route
	compress bool // compress proxied responses
}

// route is one -route flag.
type route struct {
	prefix string
	urls   []string
}

func (r route) raw() string { return r.prefix + "=" + strings.Join(r.urls, ",") }

// errHelp reports that -h printed the usage.
var errHelp = errors.New("help requested")

const usage = `usage: gateway [flags]

  -addr HOST:PORT        listen address (default 127.0.0.1:8080; port 0 picks a free port)
  -static DIR            serve DIR at "/" through StaticFS
                         (default: the demo frontend embedded in the binary)
  -route PREFIX=URL[,URL...]
                         repeatable. Requests whose path is PREFIX or lies under it
                         go to a Balancer over the listed backends; matching is by
                         path segment (/api matches /api and /api/x, not /apix) and
                         the longest prefix wins. Path and query are forwarded
                         unchanged. -route /=URL proxies all.
  -strategy NAME         round-robin | least-conn | random (default round-robin),
                         also p2c, ewma, hash:ip, hash:header:NAME, hash:cookie:NAME
  -compress              compress proxied responses (gzip/zstd, as the client
                         accepts); static files are compressed whether or not
                         this is given

With no -route, three demo backends start on 127.0.0.1 and /api goes to them.
`

// parseFlags parses args. Every error it returns is one line naming the
// flag at fault.
func parseFlags(args []string, stdout io.Writer) (*config, error) {
	cfg := &config{}
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported by the caller, on one line
	fs.Usage = func() {}
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:8080", "listen address")
	fs.StringVar(&cfg.static, "static", "", "serve DIR at /")
	fs.StringVar(&cfg.strategy, "strategy", "round-robin", "load-balancing strategy")
	fs.BoolVar(&cfg.compress, "compress", false, "compress proxied responses")
	seen := map[string]bool{}
	fs.Func("route", "PREFIX=URL[,URL...]", func(v string) error {
		rt, err := parseRoute(v)
		if err != nil {
			return err
		}
		key := path.Clean(rt.prefix)
		if seen[key] {
			return fmt.Errorf("prefix %s given twice", key)
		}
		seen[key] = true
		cfg.routes = append(cfg.routes, rt)
		return nil
	})

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			io.WriteString(stdout, usage)
			return nil, errHelp
		}
		// The flag package's messages already name the flag, e.g.
		// `invalid value "x" for flag -route: ...`.
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (flags only; see -h)", fs.Arg(0))
	}
	if err := checkAddr(cfg.addr); err != nil {
		return nil, fmt.Errorf("-addr %q: %v", cfg.addr, err)
	}
	if _, err := frontdoor.ParseStrategy(cfg.strategy); err != nil {
		return nil, fmt.Errorf("-strategy %q: %v", cfg.strategy, trimLibPrefix(err))
	}
	if cfg.static != "" {
		if seen["/"] {
			return nil, errors.New("-static and -route / both claim /; give one")
		}
		fi, err := os.Stat(cfg.static)
		switch {
		case err != nil:
			return nil, fmt.Errorf("-static %s: %v", cfg.static, unwrapPathError(err))
		case !fi.IsDir():
			return nil, fmt.Errorf("-static %s: not a directory", cfg.static)
		}
	}
	return cfg, nil
}

// parseRoute parses PREFIX=URL[,URL...].
func parseRoute(v string) (route, error) {
	prefix, list, ok := strings.Cut(v, "=")
	if !ok {
		return route{}, errors.New("want PREFIX=URL[,URL...]")
	}
	if !strings.HasPrefix(prefix, "/") {
		return route{}, fmt.Errorf("prefix %q must begin with /", prefix)
	}
	rt := route{prefix: prefix}
	for _, raw := range strings.Split(list, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			return route{}, errors.New("empty backend URL")
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return route{}, fmt.Errorf("backend %q is not an http:// or https:// URL", raw)
		}
		rt.urls = append(rt.urls, raw)
	}
	return rt, nil
}

// checkAddr checks that addr is HOST:PORT with a port in range.
func checkAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("want HOST:PORT")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("bad port %q", port)
	}
	return nil
}

// trimLibPrefix drops the library's "frontdoor: " prefix when the flag name
// already says where the error comes from.
func trimLibPrefix(err error) string {
	return strings.TrimPrefix(err.Error(), "frontdoor: ")
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
