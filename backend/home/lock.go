package home

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Lock is the exclusive lock of a FERRY_HOME, held by its one engine for as
// long as it runs. The kernel drops it when the process dies, so a crash
// never leaves a stale lock behind.
type Lock struct {
	f *os.File
}

// LockedError says that another engine holds the lock.
type LockedError struct {
	Home string
	PID  int // 0 when unknown
}

func (e *LockedError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("another Ferry engine (pid %d) is already running for FERRY_HOME %s", e.PID, e.Home)
	}
	return fmt.Sprintf("another Ferry engine is already running for FERRY_HOME %s", e.Home)
}

// Lock takes the engine lock without waiting and records this process's pid
// in the lock file; a *LockedError says who holds it.
func (h Home) Lock() (*Lock, error) {
	f, err := os.OpenFile(h.LockFile(), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	// A few tries: Running probes take the lock for an instant.
	var held bool
	for try := 0; try < 10; try++ {
		if held, err = tryLock(f); err != nil || !held {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", h.LockFile(), err)
	}
	if held {
		pid := readPID(f)
		f.Close()
		return nil, &LockedError{Home: h.Dir, PID: pid}
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f: f}, nil
}

// TryLock takes the exclusive lock of the file at path (created 0600) without
// waiting, for locks other than the engine's (the desktop window's single
// instance). held reports that another process, or another open file here,
// has it. As with the engine's lock, the system drops it with its process.
func TryLock(path string) (l *Lock, held bool, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("open lock file: %w", err)
	}
	if held, err = tryLock(f); err != nil || held {
		f.Close()
		if err != nil {
			return nil, false, fmt.Errorf("lock %s: %w", path, err)
		}
		return nil, true, nil
	}
	return &Lock{f: f}, false, nil
}

// Release gives the lock up.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = l.f.Truncate(0)
	err := unlock(l.f)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}

// Running reports whether an engine holds the lock, and its pid if known.
// It never creates the lock file. It takes the lock for an instant when
// nobody holds it, which Lock tolerates by trying again.
func (h Home) Running() (pid int, running bool) {
	f, err := os.OpenFile(h.LockFile(), os.O_RDWR, 0)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	held, err := tryLock(f)
	if err != nil {
		return 0, false
	}
	if !held {
		_ = unlock(f)
		return 0, false
	}
	return readPID(f), true
}

// StartLock serialises autostarts: while a command holds it, it alone may
// start an engine, so that commands started together start one, not several
// (a loser that started late could otherwise take over after the winner
// stops). It waits for the lock until ctx ends.
func (h Home) StartLock(ctx context.Context) (*Lock, error) {
	f, err := os.OpenFile(filepath.Join(h.Dir, "autostart.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open autostart lock: %w", err)
	}
	for {
		held, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("autostart lock: %w", err)
		}
		if !held {
			return &Lock{f: f}, nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("autostart lock: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func readPID(f *os.File) int {
	buf := make([]byte, 32)
	n, _ := f.ReadAt(buf, 0)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(buf[:n])))
	return pid
}
