// Package home resolves FERRY_HOME, the directory that holds everything of
// one installation (database, control socket, lock, log, secret key), and
// takes the lock that lets exactly one engine run for it.
package home

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
)

// EnvVar names the variable that points at the directory.
const EnvVar = "FERRY_HOME"

// Home is one FERRY_HOME. Its paths are absolute.
type Home struct {
	Dir string
}

// Resolve reads FERRY_HOME, defaulting to the user's config directory
// (os.UserConfigDir()/ferry). It creates nothing: a client that cannot even
// look into the directory must still be able to report why.
func Resolve() (Home, error) {
	dir := os.Getenv(EnvVar)
	if dir == "" {
		cfg, err := os.UserConfigDir()
		if err != nil {
			return Home{}, fmt.Errorf("no %s and no user config directory: %w", EnvVar, err)
		}
		dir = filepath.Join(cfg, "ferry")
	}
	return At(dir)
}

// At returns the Home in dir (made absolute).
func At(dir string) (Home, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Home{}, fmt.Errorf("%s %q: %w", EnvVar, dir, err)
	}
	return Home{Dir: abs}, nil
}

// Ensure creates the directory if it is missing and makes it private to its
// user: the directory (and any below it) 0700, every file 0600 (the
// database, its WAL, the log, the key, the lock, the socket). An existing
// directory is tightened too, whoever created it: it holds passwords,
// sealed or not, and the URLs of every job.
func (h Home) Ensure() error {
	if err := os.MkdirAll(h.Dir, 0o700); err != nil {
		return fmt.Errorf("create %s %s: %w", EnvVar, h.Dir, err)
	}
	return tighten(h.Dir)
}

// QuarantineDirName is the subdirectory that keeps copies of records the
// engine could not read (see store's set-aside records).
const QuarantineDirName = "quarantine"

// QuarantineDir holds the copies of unreadable records.
func (h Home) QuarantineDir() string { return filepath.Join(h.Dir, QuarantineDirName) }

// DB is the SQLite database.
func (h Home) DB() string { return filepath.Join(h.Dir, "ferry.db") }

// Socket is the control API's unix socket.
func (h Home) Socket() string { return filepath.Join(h.Dir, "ferry.sock") }

// LockFile is held (flock) by the one running engine; it holds its pid.
func (h Home) LockFile() string { return filepath.Join(h.Dir, "ferry.lock") }

// LogFile is the engine's log.
func (h Home) LogFile() string { return filepath.Join(h.Dir, "ferry.log") }

// HintDir keeps the downloads' resume hints (engine.Config.HintDir).
func (h Home) HintDir() string { return filepath.Join(h.Dir, "resume") }

// SecretKeyFile holds the key that seals stored passwords (mode 0600).
func (h Home) SecretKeyFile() string { return filepath.Join(h.Dir, "secret.key") }

// Owner is the current OS user's name: the owner of the jobs it creates.
func Owner() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if n := os.Getenv("USER"); n != "" {
		return n
	}
	return strconv.Itoa(os.Getuid())
}
