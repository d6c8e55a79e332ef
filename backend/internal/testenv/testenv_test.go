package testenv

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNginxAndTinyproxy(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "hello.txt"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := Nginx(t, root)
	proxyURL, logPath := Tinyproxy(t)
	pu, err := url.Parse(proxyURL)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*http.Client{
		{Transport: &http.Transport{Proxy: nil}},
		{Transport: &http.Transport{Proxy: http.ProxyURL(pu)}},
	} {
		resp, err := c.Get(base + "/hello.txt")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "hello" || resp.Header.Get("ETag") == "" {
			t.Fatalf("status %d body %q headers %v", resp.StatusCode, b, resp.Header)
		}
	}
	log, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "GET "+base+"/hello.txt") {
		t.Fatalf("tinyproxy log lacks the request:\n%s", log)
	}
}
