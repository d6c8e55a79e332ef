// Package pac evaluates proxy auto-config scripts (FindProxyForURL) with
// goja, a JavaScript engine in pure Go, and finds them by WPAD (wpad.go),
// for the AUTODETECT proxy usage.
package pac

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dop251/goja"
)

// DefaultTimeout bounds one evaluation of FindProxyForURL, DNS look-ups of
// the helpers included: a script that loops must not hold a transfer.
const DefaultTimeout = 2 * time.Second

// maxScript bounds a PAC file: real ones are a few KiB.
const maxScript = 1 << 20

// Env is what the helper functions see of the world; nil fields are the
// real ones.
type Env struct {
	LookupIP func(ctx context.Context, host string) ([]net.IP, error) // dnsResolve, isInNet, isResolvable
	MyIP     func() net.IP                                            // myIpAddress
	Now      func() time.Time                                         // weekdayRange, dateRange, timeRange
	Timeout  time.Duration                                            // 0: DefaultTimeout
}

// Script is a compiled PAC file. FindProxy may be called from many
// goroutines: evaluations take turns on one JavaScript runtime.
type Script struct {
	prog *goja.Program
	env  Env
	mu   sync.Mutex
	vm   *goja.Runtime
	find goja.Callable
	ctx  context.Context // the running evaluation's, for the DNS helpers
}

// Compile parses a PAC file and checks that it defines FindProxyForURL.
func Compile(src string, env Env) (*Script, error) {
	if len(src) > maxScript {
		return nil, fmt.Errorf("the PAC file has %d bytes; the limit is %d", len(src), maxScript)
	}
	prog, err := goja.Compile("proxy.pac", src, false)
	if err != nil {
		return nil, fmt.Errorf("the PAC file does not parse: %w", err)
	}
	if env.LookupIP == nil {
		env.LookupIP = func(ctx context.Context, host string) ([]net.IP, error) {
			return net.DefaultResolver.LookupIP(ctx, "ip4", host)
		}
	}
	if env.MyIP == nil {
		env.MyIP = outboundIP
	}
	if env.Now == nil {
		env.Now = time.Now
	}
	if env.Timeout <= 0 {
		env.Timeout = DefaultTimeout
	}
	s := &Script{prog: prog, env: env}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(); err != nil {
		return nil, err
	}
	return s, nil
}

// load runs the script's top level in a fresh runtime (under mu), with the
// same time limit as an evaluation.
func (s *Script) load() error {
	vm := goja.New()
	s.vm, s.find = vm, nil
	s.define()
	ctx, cancel := context.WithTimeout(context.Background(), s.env.Timeout)
	defer cancel()
	s.ctx = ctx // the top level may call the DNS helpers too
	stop := time.AfterFunc(s.env.Timeout, func() { vm.Interrupt("the PAC file ran too long") })
	_, err := vm.RunProgram(s.prog)
	stop.Stop()
	if err != nil {
		s.vm = nil
		return fmt.Errorf("the PAC file failed: %w", err)
	}
	find, ok := goja.AssertFunction(vm.Get("FindProxyForURL"))
	if !ok {
		s.vm = nil
		return errors.New("the PAC file defines no FindProxyForURL function")
	}
	s.find = find
	return nil
}

// FindProxy runs FindProxyForURL(url, host) and returns its answer, e.g.
// "PROXY p:3128; DIRECT". A script that runs longer than the timeout is
// stopped, and its runtime replaced before the next call.
func (s *Script) FindProxy(ctx context.Context, u *url.URL) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.vm == nil {
		if err := s.load(); err != nil {
			return "", err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, s.env.Timeout)
	defer cancel()
	s.ctx = ctx
	vm := s.vm
	stop := context.AfterFunc(ctx, func() { vm.Interrupt("FindProxyForURL ran too long") })
	defer stop()
	// As browsers do, the script sees no path or query of an https URL.
	target := *u
	target.User = nil
	if target.Scheme == "https" {
		target.Path, target.RawPath, target.RawQuery, target.Fragment = "/", "", "", ""
	}
	v, err := s.find(goja.Undefined(), vm.ToValue(target.String()), vm.ToValue(strings.ToLower(u.Hostname())))
	if err != nil {
		var ie *goja.InterruptedError
		if errors.As(err, &ie) {
			s.vm = nil // an interrupted runtime may be mid-way through anything
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return "", fmt.Errorf("FindProxyForURL took longer than %v", s.env.Timeout)
			}
			return "", fmt.Errorf("FindProxyForURL stopped: %w", context.Cause(ctx))
		}
		return "", fmt.Errorf("FindProxyForURL failed: %w", err)
	}
	if goja.IsUndefined(v) || goja.IsNull(v) {
		return "", errors.New("FindProxyForURL returned nothing")
	}
	return v.String(), nil
}

// Choice is one entry of a FindProxyForURL answer.
type Choice struct {
	Direct bool
	Proxy  *url.URL // http://, https:// or socks5://
}

// ParseResult reads "PROXY a:1; HTTPS b:2; SOCKS5 c:3; DIRECT" into choices,
// in order; entries of unknown kinds are skipped.
func ParseResult(s string) []Choice {
	var out []Choice
	for _, part := range strings.Split(s, ";") {
		f := strings.Fields(part)
		if len(f) == 0 {
			continue
		}
		kind := strings.ToUpper(f[0])
		if kind == "DIRECT" {
			out = append(out, Choice{Direct: true})
			continue
		}
		if len(f) != 2 {
			continue
		}
		scheme := map[string]string{"PROXY": "http", "HTTP": "http", "HTTPS": "https", "SOCKS": "socks5", "SOCKS5": "socks5"}[kind]
		if scheme == "" {
			continue
		}
		host, port, err := net.SplitHostPort(f[1])
		if err != nil {
			host, port = f[1], map[string]string{"http": "80", "https": "443", "socks5": "1080"}[scheme]
		}
		if host == "" {
			continue
		}
		out = append(out, Choice{Proxy: &url.URL{Scheme: scheme, Host: net.JoinHostPort(host, port)}})
	}
	return out
}

// outboundIP is the address of the interface a packet to the internet
// would leave by (a UDP "connection" sends nothing), else loopback.
func outboundIP() net.IP {
	c, err := net.Dial("udp4", "192.0.2.1:9") // TEST-NET-1: no packet is sent
	if err != nil {
		return net.IPv4(127, 0, 0, 1)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).IP
}

// define installs the PAC helper functions of Netscape's specification.
func (s *Script) define() {
	vm := s.vm
	set := func(name string, fn any) { _ = vm.Set(name, fn) }
	resolve := func(host string) net.IP {
		if ip := net.ParseIP(host); ip != nil {
			return ip
		}
		ctx := s.ctx
		if ctx == nil {
			ctx = context.Background()
		}
		ips, err := s.env.LookupIP(ctx, host)
		if err != nil {
			return nil
		}
		for _, ip := range ips {
			if ip4 := ip.To4(); ip4 != nil {
				return ip4
			}
		}
		return nil
	}
	set("isPlainHostName", func(host string) bool { return !strings.Contains(host, ".") })
	set("dnsDomainIs", func(host, domain string) bool {
		return strings.HasSuffix(strings.ToLower(host), strings.ToLower(domain))
	})
	set("localHostOrDomainIs", func(host, hostdom string) bool {
		host, hostdom = strings.ToLower(host), strings.ToLower(hostdom)
		return host == hostdom || !strings.Contains(host, ".") && strings.HasPrefix(hostdom, host+".")
	})
	set("isResolvable", func(host string) bool { return resolve(host) != nil })
	set("dnsResolve", func(host string) any {
		if ip := resolve(host); ip != nil {
			return ip.String()
		}
		return nil
	})
	set("isInNet", func(host, pattern, mask string) bool {
		ip, p, m := resolve(host), net.ParseIP(pattern).To4(), net.ParseIP(mask).To4()
		if ip == nil || p == nil || m == nil || ip.To4() == nil {
			return false
		}
		return ip.To4().Mask(net.IPMask(m)).Equal(p.Mask(net.IPMask(m)))
	})
	set("myIpAddress", func() string { return s.env.MyIP().String() })
	set("dnsDomainLevels", func(host string) int { return strings.Count(host, ".") })
	set("shExpMatch", func(str, exp string) bool {
		re, err := regexp.Compile("^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(exp)) + "$")
		return err == nil && re.MatchString(str)
	})
	set("weekdayRange", func(call goja.FunctionCall) goja.Value {
		args, now := s.timeArgs(call)
		return vm.ToValue(weekdayRange(args, now))
	})
	set("dateRange", func(call goja.FunctionCall) goja.Value {
		args, now := s.timeArgs(call)
		return vm.ToValue(dateRange(args, now))
	})
	set("timeRange", func(call goja.FunctionCall) goja.Value {
		args, now := s.timeArgs(call)
		return vm.ToValue(timeRange(args, now))
	})
	set("alert", func(string) {})
}

// timeArgs takes a trailing "GMT" off the arguments and says what time it
// is, in UTC or locally.
func (s *Script) timeArgs(call goja.FunctionCall) ([]string, time.Time) {
	var args []string
	for _, a := range call.Arguments {
		args = append(args, a.String())
	}
	now := s.env.Now()
	if n := len(args); n > 0 && strings.EqualFold(args[n-1], "GMT") {
		return args[:n-1], now.UTC()
	}
	return args, now.Local()
}

var weekdays = []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}
var months = []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}

func index(list []string, s string) int {
	for i, v := range list {
		if strings.EqualFold(v, s) {
			return i
		}
	}
	return -1
}

// weekdayRange(wd1[, wd2]): the range wraps around the week (FRI, MON).
func weekdayRange(args []string, now time.Time) bool {
	if len(args) == 0 || len(args) > 2 {
		return false
	}
	a := index(weekdays, args[0])
	b := a
	if len(args) == 2 {
		b = index(weekdays, args[1])
	}
	if a < 0 || b < 0 {
		return false
	}
	return inCycle(int(now.Weekday()), a, b)
}

// inCycle: v within [a, b], where b < a wraps around.
func inCycle(v, a, b int) bool {
	if a <= b {
		return a <= v && v <= b
	}
	return v >= a || v <= b
}

// dateRange takes days (1–31), months (JAN…) and years (four digits), one
// value or a range, in the order day, month, year (Netscape's forms).
func dateRange(args []string, now time.Time) bool {
	type part struct{ kind, v int } // kind 0 day, 1 month, 2 year
	var ps []part
	for _, a := range args {
		if m := index(months, a); m >= 0 {
			ps = append(ps, part{1, m + 1})
			continue
		}
		n, err := strconv.Atoi(a)
		switch {
		case err != nil:
			return false
		case n >= 1 && n <= 31:
			ps = append(ps, part{0, n})
		case n >= 1000:
			ps = append(ps, part{2, n})
		default:
			return false
		}
	}
	// A date is compared as a number of the parts the call gives
	// (year*10000 + month*100 + day); without a year the range wraps.
	weight := [3]int{1, 100, 10000}
	now3 := [3]int{now.Day(), int(now.Month()), now.Year()}
	key := func(p []part, cur bool) int {
		k := 0
		for _, x := range p {
			v := x.v
			if cur {
				v = now3[x.kind]
			}
			k += v * weight[x.kind]
		}
		return k
	}
	switch len(ps) {
	case 1:
		return now3[ps[0].kind] == ps[0].v
	case 2, 4, 6:
		half := len(ps) / 2
		from, to := ps[:half], ps[half:]
		year := false
		for i := range from {
			if from[i].kind != to[i].kind || i > 0 && from[i].kind <= from[i-1].kind {
				return false // day before month before year, the same on both sides
			}
			year = year || from[i].kind == 2
		}
		lo, hi, cur := key(from, false), key(to, false), key(from, true)
		if year {
			return lo <= cur && cur <= hi
		}
		return inCycle(cur, lo, hi)
	}
	return false
}

// timeRange(hour) · (h1, h2) · (h1, m1, h2, m2) · (h1, m1, s1, h2, m2, s2):
// as in browsers, timeRange(12, 13) is noon up to (not including) 1 pm; a
// range whose end is before its start wraps past midnight.
func timeRange(args []string, now time.Time) bool {
	n := make([]int, len(args))
	for i, a := range args {
		v, err := strconv.Atoi(a)
		if err != nil || v < 0 {
			return false
		}
		n[i] = v
	}
	cur := now.Hour()*3600 + now.Minute()*60 + now.Second()
	var lo, hi int
	switch len(n) {
	case 1:
		return now.Hour() == n[0]
	case 2:
		lo, hi = n[0]*3600, n[1]*3600-1
	case 4:
		lo, hi = n[0]*3600+n[1]*60, n[2]*3600+n[3]*60-1
	case 6:
		lo, hi = n[0]*3600+n[1]*60+n[2], n[3]*3600+n[4]*60+n[5]
	default:
		return false
	}
	return inCycle(cur, lo, hi)
}
