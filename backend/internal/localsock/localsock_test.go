package localsock

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// serveOnce accepts one connection on ln and reports CheckPeer's answer
// for it, after echoing one byte back.
func serveOnce(t *testing.T, ln net.Listener) <-chan error {
	t.Helper()
	got := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- err
			return
		}
		defer c.Close()
		err = CheckPeer(c)
		b := make([]byte, 1)
		if _, rerr := io.ReadFull(c, b); rerr == nil {
			c.Write(b)
		}
		got <- err
	}()
	return got
}

// connected listens on addr and dials it; checked gives CheckPeer's answer
// for the connection once the client has sent a byte.
func connected(t *testing.T, addr string) (c net.Conn, checked <-chan error) {
	t.Helper()
	ln, err := Listen(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	checked = serveOnce(t, ln)
	c = dial(t, addr)
	t.Cleanup(func() { c.Close() })
	return c, checked
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	return c
}

// A caller of the same user passes the peer check, and bytes go both ways.
func TestListenDialAndCheckPeer(t *testing.T) {
	c, checked := connected(t, Addr(filepath.Join(t.TempDir(), "test.sock"), "ferry-test"))
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte{42}); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	if _, err := io.ReadFull(c, b); err != nil || b[0] != 42 {
		t.Fatalf("echo: %v %v", b, err)
	}
	if err := <-checked; err != nil {
		t.Errorf("CheckPeer refused our own user: %v", err)
	}
	if uid, err := PeerUID(c); err != nil || uid != os.Getuid() {
		t.Errorf("PeerUID from the client's side = %d, %v; want %d", uid, err, os.Getuid())
	}
}

// Nobody listening reads as NoListener, not as Denied.
func TestNoListener(t *testing.T) {
	addr := Addr(filepath.Join(t.TempDir(), "none.sock"), "ferry-test")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := Dial(ctx, addr)
	if err == nil || !NoListener(err) || Denied(err) {
		t.Fatalf("dial with nobody listening: %v (NoListener %v, Denied %v)", err, NoListener(err), Denied(err))
	}
}

// Two paths, two endpoints; one path, one listener.
func TestAddrIsPerPath(t *testing.T) {
	dir := t.TempDir()
	a, b := Addr(filepath.Join(dir, "a.sock"), "ferry-test"), Addr(filepath.Join(dir, "b.sock"), "ferry-test")
	if a == b {
		t.Fatalf("two paths share the address %s", a)
	}
	ln, err := Listen(a)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	lnb, err := Listen(b)
	if err != nil {
		t.Fatalf("a second path beside the first: %v", err)
	}
	lnb.Close()
}
