package browser

import (
	"os"
	"path/filepath"
	"testing"

	"ferry/backend/bits"
	"ferry/backend/browser/manifests"
)

func TestCaller(t *testing.T) {
	ok := map[string]struct {
		args []string
		want manifests.Family
	}{
		"chromium":         {[]string{manifests.ChromiumOrigin}, manifests.FamilyChromium},
		"chromium windows": {[]string{manifests.ChromiumOrigin, "--parent-window=0"}, manifests.FamilyChromium},
		"firefox":          {[]string{"/home/a/.mozilla/native-messaging-hosts/org.ferry.host.json", manifests.FirefoxID}, manifests.FamilyFirefox},
	}
	for name, c := range ok {
		f, err := Caller(c.args)
		if err != nil || f != c.want {
			t.Errorf("%s: %v, %v", name, f, err)
		}
	}
	refused := map[string][]string{
		"another extension":       {"chrome-extension://abcdefghijklmnopabcdefghijklmnop/"},
		"our id, another scheme":  {"moz-extension://" + manifests.ChromiumID + "/"},
		"id as a prefix":          {"chrome-extension://" + manifests.ChromiumID + "x/"},
		"firefox, another id":     {"/x/org.ferry.host.json", "evil@example.org"},
		"firefox id, no manifest": {manifests.FirefoxID},
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
	ffManifest := filepath.Join(os.TempDir(), "org.ferry.host.json") // absolute on every system
	for _, a := range [][]string{{manifests.ChromiumOrigin}, {ffManifest, manifests.FirefoxID}} {
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
