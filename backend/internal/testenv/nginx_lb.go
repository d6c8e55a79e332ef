package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BalancerLogFormat is the access log line of NginxBalancer: the instance
// that answered, the status, seconds from the request's first byte to the
// response's last, the request's length, the BITS packet type.
const BalancerLogFormat = `$upstream_addr $status $request_time $request_length $http_bits_packet_type`

// NginxBalancer runs nginx as a round-robin load balancer in front of
// upstreams ("127.0.0.1:PORT"), configured as the README's fleet section
// says, and returns its base URL and the path of its access log.
func NginxBalancer(t testing.TB, upstreams []string) (baseURL, accessLog string) {
	t.Helper()
	bin := binary(t, "nginx", "nginx")
	dir := t.TempDir()
	accessLog = filepath.Join(dir, "access.log")
	port := start(t, "nginx", func(port int) ([]string, string) {
		conf := filepath.Join(dir, "nginx.conf")
		writeFile(t, conf, BalancerConfig(dir, port, upstreams))
		return []string{bin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", conf}, dir
	})
	return fmt.Sprintf("http://127.0.0.1:%d", port), accessLog
}

// BalancerConfig is the nginx.conf of NginxBalancer.
func BalancerConfig(dir string, port int, upstreams []string) string {
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	var servers strings.Builder
	for _, u := range upstreams {
		// One failure takes an instance out for 10 s; a refused connection
		// is retried on the next one (a request whose body was already
		// sent is not: the client resends it).
		fmt.Fprintf(&servers, "        server %s max_fails=1 fail_timeout=10s;\n", u)
	}
	return fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
%[4]s
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 2048; }
http {
    log_format fleet '%[5]s';
    access_log %[1]s/access.log fleet;
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    upstream ferry_uploads {
%[3]s        keepalive 64;
    }
    server {
        listen 127.0.0.1:%[2]d;
        # Fragments can be any size; the instances bound them.
        client_max_body_size 0;
        location / {
            proxy_pass http://ferry_uploads;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            # Reply URLs name the balancer, not an instance.
            proxy_set_header Host $http_host;
            # Stream fragments through: an instance acknowledges what the
            # store holds, nginx need not hold it on its disk first.
            proxy_request_buffering off;
            proxy_buffering off;
            proxy_read_timeout 300s;
            proxy_send_timeout 300s;
            proxy_next_upstream error timeout;
        }
    }
}
`, dir, port, servers.String(), user, BalancerLogFormat)
}
