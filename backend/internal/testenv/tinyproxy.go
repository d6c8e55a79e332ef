package testenv

import (
	"fmt"
	"path/filepath"
	"testing"
)

// Tinyproxy starts an HTTP proxy on a free loopback port that accepts
// 127.0.0.1 only. It returns the proxy URL ("http://127.0.0.1:PORT") and
// the path of its log, where every proxied request appears as
// "Request (file descriptor N): GET http://host/path HTTP/1.1".
func Tinyproxy(t testing.TB) (proxyURL, logPath string) {
	t.Helper()
	bin := binary(t, "tinyproxy", "tinyproxy")
	dir := t.TempDir()
	logPath = filepath.Join(dir, "tinyproxy.log")
	port := start(t, "tinyproxy", func(port int) ([]string, string) {
		conf := filepath.Join(dir, "tinyproxy.conf")
		writeFile(t, conf, fmt.Sprintf(`Port %d
Listen 127.0.0.1
Timeout 60
LogFile "%s"
LogLevel Info
PidFile "%s"
MaxClients 32
Allow 127.0.0.1
`, port, logPath, filepath.Join(dir, "tinyproxy.pid")))
		return []string{bin, "-d", "-c", conf}, dir
	})
	return fmt.Sprintf("http://127.0.0.1:%d", port), logPath
}
