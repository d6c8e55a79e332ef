package testenv

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// NginxBasicAuth is Nginx with HTTP Basic authentication (auth_basic) on
// every path: one user, whose password is stored salted ({SSHA}, which
// nginx reads without crypt(3)) in a generated htpasswd file.
func NginxBasicAuth(t testing.TB, docroot, user, password string) string {
	t.Helper()
	bin := binary(t, "nginx", "nginx")
	root, err := filepath.Abs(docroot)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	dir := t.TempDir()
	htpasswd := filepath.Join(dir, "htpasswd")
	writeFile(t, htpasswd, fmt.Sprintf("%s:%s\n", user, ssha(password)))
	port := start(t, "nginx", func(port int) ([]string, string) {
		conf := filepath.Join(dir, "nginx.conf")
		rootLine := fmt.Sprintf("        root %s;\n", root)
		c := nginxConfig(dir, root, port)
		if !strings.Contains(c, rootLine) {
			t.Fatalf("testenv: unexpected nginx configuration:\n%s", c)
		}
		c = strings.Replace(c, rootLine, rootLine+fmt.Sprintf("        auth_basic \"ferry\";\n        auth_basic_user_file %s;\n", htpasswd), 1)
		writeFile(t, conf, c)
		return []string{bin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", conf}, dir
	})
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}

// ssha is the {SSHA} htpasswd scheme: base64(SHA-1(password+salt)+salt).
func ssha(password string) string {
	salt := make([]byte, 8)
	_, _ = rand.Read(salt)
	h := sha1.New()
	h.Write([]byte(password))
	h.Write(salt)
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(h.Sum(nil), salt...))
}
