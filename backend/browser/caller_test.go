package browser

import (
	"testing"

	"ferry/backend/bits"
)

func TestCaller(t *testing.T) {
	ok := map[string]struct {
		args []string
		want Family
	}{
		"chromium":         {[]string{ChromiumOrigin}, FamilyChromium},
		"chromium windows": {[]string{ChromiumOrigin, "--parent-window=0"}, FamilyChromium},
		"firefox":          {[]string{"/home/a/.mozilla/native-messaging-hosts/org.ferry.host.json", FirefoxID}, FamilyFirefox},
	}
	for name, c := range ok {
		f, err := Caller(c.args)
		if err != nil || f != c.want {
			t.Errorf("%s: %v, %v", name, f, err)
		}
	}
	refused := map[string][]string{
		"another extension":       {"chrome-extension://abcdefghijklmnopabcdefghijklmnop/"},
		"our id, another scheme":  {"moz-extension://" + ChromiumID + "/"},
		"id as a prefix":          {"chrome-extension://" + ChromiumID + "x/"},
		"firefox, another id":     {"/x/org.ferry.host.json", "evil@example.org"},
		"firefox id, no manifest": {FirefoxID},
		"nothing":                 {},
	}
	for name, args := range refused {
		_, err := Caller(args)
		if bits.CodeOf(err) != bits.E_ACCESSDENIED {
			t.Errorf("%s: got %v, want E_ACCESSDENIED", name, err)
		}
	}
}

func TestLooksLikeBrowserLaunch(t *testing.T) {
	for _, a := range [][]string{{ChromiumOrigin}, {"/x/org.ferry.host.json", FirefoxID}} {
		if !LooksLikeBrowserLaunch(a) {
			t.Errorf("%q not taken for a browser's launch", a)
		}
	}
	for _, a := range [][]string{{}, {"list"}, {"addfileset", "job", "/x/list.json"}, {"x.json", "y"}} {
		if LooksLikeBrowserLaunch(a) {
			t.Errorf("%q taken for a browser's launch", a)
		}
	}
}
