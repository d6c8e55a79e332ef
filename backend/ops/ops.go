// Package ops is Ferry's one list of operations. Each entry names an
// operation, its arguments and flags, its help and example, whether it prints
// data, the handler that calls the engine and the formatter of its human
// output. The control API server, the Go client, the CLI and the desktop
// binding all derive from this table: adding an operation touches one list.
package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"ferry/backend/bits"
	"ferry/backend/engine"
)

// Env is what a handler may use.
type Env struct {
	Manager *engine.Manager
	// Shutdown asks the engine to stop cleanly; nil when the host offers no
	// way to (then the shutdown operation fails).
	Shutdown func()
	// Home is the engine's FERRY_HOME (where the browser host records its
	// contacts); "" when unknown.
	Home string
}

// Request is one call's arguments as the caller spelled them: positional
// arguments and flags by name (a switch has the value "true").
type Request struct {
	Args  []string          `json:"args"`
	Flags map[string]string `json:"flags,omitempty"`
}

// Has reports a switch or a flag that was given.
func (r Request) Has(flag string) bool { _, ok := r.Flags[flag]; return ok }

// Flag returns a flag's value ("" when absent).
func (r Request) Flag(name string) string { return r.Flags[name] }

// ArgKind says how a client prepares an argument before sending it.
type ArgKind int

const (
	ArgText   ArgKind = iota
	ArgJob            // a job id (braces allowed) or unique display name
	ArgPath           // a file the engine reads: the client makes it absolute
	ArgSecret         // never echoed; "-" makes the client read it from stdin
)

// Arg is one positional argument.
type Arg struct {
	Name     string
	Kind     ArgKind
	Optional bool // may be missing (and so may every argument after it)
	Variadic bool // the last argument: any number (at least one unless Optional)
}

// Flag is one --name (also spelled /name, as bitsadmin does).
type Flag struct {
	Name  string
	Value string // the value's placeholder; "" for a switch
	Help  string
}

// Spec is how an operation is called and described.
type Spec struct {
	Name    string // "getstate"; a sub-command is "config get"
	Group   string
	Args    []Arg
	Flags   []Flag
	Summary string // one line
	Help    string // more, optional
	Example string // a full command line, "ferry …"
	Prints  bool   // prints data, so takes --json
	// Verb, for the job methods that move a job between states, declares
	// in which states of which job types it acts (engine.Verbs): the
	// engine enforces it, and the window, /v1/meta and the help read it
	// from here.
	Verb *engine.Verb
}

// Groups in the order help lists them.
const (
	GroupJobs    = "Jobs"
	GroupGet     = "Job properties (one each)"
	GroupSet     = "Changing jobs"
	GroupEngine  = "Engine"
	GroupClient  = "Transfers and watching"
	GroupCommand = "This program"
)

// Usage is the synopsis, flags last as cli.md writes them:
// "addfile JOB REMOTE LOCAL [--sha256 HEX]".
func (s *Spec) Usage() string {
	parts := []string{s.Name}
	open := 0
	for _, a := range s.Args {
		name := a.Name
		if a.Variadic {
			name += "…"
		}
		if a.Optional {
			parts = append(parts, "["+name)
			open++
		} else {
			parts = append(parts, name)
		}
	}
	if open > 0 {
		parts[len(parts)-1] += strings.Repeat("]", open)
	}
	for _, f := range s.Flags {
		if f.Value != "" {
			parts = append(parts, fmt.Sprintf("[--%s %s]", f.Name, f.Value))
		} else {
			parts = append(parts, fmt.Sprintf("[--%s]", f.Name))
		}
	}
	return strings.Join(parts, " ")
}

// ArgRange is the number of positional arguments accepted (max -1 = any).
func (s *Spec) ArgRange() (min, max int) {
	for _, a := range s.Args {
		if a.Variadic {
			if !a.Optional {
				min++
			}
			return min, -1
		}
		if !a.Optional {
			min++
		}
		max++
	}
	return min, max
}

// CheckArgs explains a wrong argument count ("" when it is right).
func (s *Spec) CheckArgs(n int) string {
	min, max := s.ArgRange()
	switch {
	case n < min && min == max:
		return fmt.Sprintf("%s takes %d argument%s, got %d", s.Name, min, plural(min), n)
	case n < min:
		return fmt.Sprintf("%s takes at least %d argument%s, got %d", s.Name, min, plural(min), n)
	case max >= 0 && n > max:
		return fmt.Sprintf("%s takes at most %d argument%s, got %d", s.Name, max, plural(max), n)
	}
	return ""
}

// FindFlag returns the flag spec for name, case-insensitively.
func (s *Spec) FindFlag(name string) (Flag, bool) {
	for _, f := range s.Flags {
		if strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return Flag{}, false
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// Op is one operation: its spec, the handler run by the engine's host and
// the formatter of its human output (nil when it prints nothing).
type Op struct {
	Spec
	// Run calls the engine. Its result is JSON-encoded for the caller; it
	// is the exact --json output of the command.
	Run func(ctx context.Context, env *Env, r Request) (any, error)
	// Text prints the result for people.
	Text func(w io.Writer, raw json.RawMessage, r Request) error
}

// Actions lists the state-changing operations that act on a job in its
// present state (its type, state and files): what the window, the tray and
// the browser UI offer for it.
func Actions(j bits.JobInfo) []string {
	var out []string
	for _, op := range table {
		if Allows(op, j) {
			out = append(out, op.Name)
		}
	}
	return out
}

// Allows reports whether op is a declared verb that acts on j.
func Allows(op *Op, j bits.JobInfo) bool {
	return op != nil && op.Verb != nil && op.Verb.Allows(j.Type, j.State, j.Progress.FilesTotal)
}

// AllowsNamed is Allows for an operation by name (false for an unknown one).
func AllowsNamed(name string, j bits.JobInfo) bool {
	op, _ := Lookup(name)
	return Allows(op, j)
}

// Note is the result of an operation that succeeded with a BITS success
// code worth telling (S_FALSE, BG_S_PARTIAL_COMPLETE, …).
type Note struct {
	Code    bits.HRESULT `json:"code"`
	Name    string       `json:"name"`
	Message string       `json:"message"`
}

func note(code bits.HRESULT, msg string) any {
	if code == bits.S_OK {
		return nil
	}
	return &Note{Code: code, Name: code.Name(), Message: msg}
}

var byName map[string]*Op

func init() {
	byName = map[string]*Op{}
	for _, op := range table {
		if _, dup := byName[op.Name]; dup {
			panic("ops: duplicate operation " + op.Name)
		}
		byName[op.Name] = op
	}
}

// All returns the operations in table order.
func All() []*Op { return append([]*Op(nil), table...) }

// Lookup finds an operation by name (case-insensitive).
func Lookup(name string) (*Op, bool) {
	op, ok := byName[strings.ToLower(name)]
	return op, ok
}

// Names lists the operation names, sorted.
func Names() []string {
	out := make([]string, 0, len(table))
	for _, op := range table {
		out = append(out, op.Name)
	}
	sort.Strings(out)
	return out
}

// Invoke checks a request against the operation's spec and runs it. A bad
// request is E_INVALIDARG: callers other than the CLI (which checks the
// same spec first and exits 2) get a BITS error like any other.
func Invoke(ctx context.Context, env *Env, name string, r Request) (any, error) {
	op, ok := Lookup(name)
	if !ok {
		return nil, bits.Errorf(bits.E_INVALIDARG, "there is no operation %q", name)
	}
	if msg := op.CheckArgs(len(r.Args)); msg != "" {
		return nil, bits.Errorf(bits.E_INVALIDARG, "%s (usage: %s)", msg, op.Usage())
	}
	for f := range r.Flags {
		if _, ok := op.FindFlag(f); !ok {
			return nil, bits.Errorf(bits.E_INVALIDARG, "%s has no flag --%s (usage: %s)", op.Name, f, op.Usage())
		}
	}
	if err := CheckUTF8(r); err != nil { // escape.go
		return nil, err
	}
	if env == nil || env.Manager == nil {
		return nil, bits.Errorf(bits.E_FAIL, "no engine")
	}
	return op.Run(ctx, env, r)
}
