package bits

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// wrapped is a Coded error with a cause, as the transfer drivers' errors.
type wrapped struct {
	code HRESULT
	err  error
}

func (w *wrapped) Error() string    { return Line(w.code, w.Detail()) }
func (w *wrapped) Detail() string   { return DetailFor(w.code, w.err) }
func (w *wrapped) HResult() HRESULT { return w.code }
func (w *wrapped) Unwrap() error    { return w.err }

// TestNoCodeTwice: every way an error line is composed from another error
// of the same code (Errorf of an *Error, a driver error around one, either
// behind fmt.Errorf's %w, nested) shows the code once, for every code.
func TestNoCodeTwice(t *testing.T) {
	for code := range codes {
		inner := Errorf(code, "the reason")
		for name, err := range map[string]error{
			"Errorf(%v)":               Errorf(code, "%v", inner),
			"Errorf(context: %v)":      Errorf(code, "context: %v", inner),
			"Errorf(%v of wrapped %w)": Errorf(code, "%v", fmt.Errorf("outer: %w", inner)),
			"driver error":             &wrapped{code, inner},
			"driver error of %w":       &wrapped{code, fmt.Errorf("step: %w", inner)},
			"Errorf of a driver error": Errorf(code, "%v", &wrapped{code, inner}),
			"driver of Errorf of drvr": &wrapped{code, Errorf(code, "%s", &wrapped{code, inner})},
			"Errorf of a plain error":  Errorf(code, "%v", errors.New("plain")),
			"driver of a plain error":  &wrapped{code, errors.New("plain")},
		} {
			line := err.Error()
			if n := strings.Count(line, code.Hex()); n != 1 {
				t.Errorf("%s %s: the code %d times in %q", code.Name(), name, n, line)
			}
			if !strings.HasPrefix(line, code.Name()+" ("+code.Hex()+"): ") {
				t.Errorf("%s %s: %q is not a code line", code.Name(), name, line)
			}
		}
	}
	// A cause with another code keeps it: it says something the outer one does not.
	err := Errorf(E_FAIL, "cannot start: %v", Errorf(BG_E_NOT_FOUND, "no job"))
	if err.Error() != "E_FAIL (0x80004005): cannot start: BG_E_NOT_FOUND (0x80200001): no job" {
		t.Errorf("%q", err)
	}
	// Errorf leaves the caller's arguments alone.
	args := []any{inner0}
	Errorf(E_FAIL, "%v", args...)
	if args[0] != inner0 {
		t.Error("Errorf changed its caller's arguments")
	}
}

var inner0 error = Errorf(E_FAIL, "x")
