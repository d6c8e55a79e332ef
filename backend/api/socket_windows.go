//go:build windows

package api

import (
	"context"
	"errors"
	"net"
)

// errNoPipe: the Windows transport (a named pipe with an owner-only ACL) is
// not part of this build; everything else of Ferry builds for Windows.
var errNoPipe = errors.New("the control API has no Windows transport in this build (named pipe not implemented)")

var errConnRefused = errNoPipe

// SocketAddr is the control endpoint's name.
func SocketAddr(path string) string { return path }

// Listen fails on Windows in this build.
func Listen(string) (net.Listener, error) { return nil, errNoPipe }

func dial(context.Context, string) (net.Conn, error) { return nil, errNoPipe }

func peerUID(net.Conn) (int, error) { return -1, errNoPipe }

func isNoEngine(err error) bool { return false }

func isDenied(error) bool { return false }
