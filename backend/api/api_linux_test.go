package api

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// A FERRY_HOME too deep for sun_path gets an abstract socket (Linux only;
// elsewhere such a path is an error).
func TestLongSocketPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), strings.Repeat("d", 120))
	path := filepath.Join(dir, "ferry.sock")
	if len(SocketAddr(path)) > 107 { // sun_path less its NUL
		t.Fatalf("SocketAddr(%d chars) = %q", len(path), SocketAddr(path))
	}
	cl, _ := serve(t, path)
	if _, err := cl.Hello(context.Background()); err != nil {
		t.Fatal(err)
	}
}
