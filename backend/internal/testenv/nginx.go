package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Nginx serves docroot (static files, with ranges, ETag and Last-Modified)
// on a free loopback port and returns its base URL, e.g.
// "http://127.0.0.1:41234". Its config, pid and logs live in a t.TempDir();
// the output is shown if it fails to start.
func Nginx(t testing.TB, docroot string) string {
	t.Helper()
	bin := binary(t, "nginx", "nginx")
	root, err := filepath.Abs(docroot)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	dir := t.TempDir()
	port := start(t, "nginx", func(port int) ([]string, string) {
		conf := filepath.Join(dir, "nginx.conf")
		writeFile(t, conf, nginxConfig(dir, root, port))
		// -e: the startup error log, which otherwise defaults to a system
		// path a non-root user cannot open.
		return []string{bin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", conf}, dir
	})
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}

func nginxConfig(dir, root string, port int) string {
	// Single process in the foreground. As root nginx would switch workers
	// to "nobody", who cannot read a 0700 t.TempDir(); stay root instead.
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	return fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
%[4]s
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 128; }
http {
    access_log %[1]s/access.log;
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    default_type application/octet-stream;
    sendfile on;
    keepalive_requests 10000;
    server {
        listen 127.0.0.1:%[3]d;
        server_name localhost;
        root %[2]s;
    }
}
`, dir, root, port, user)
}
