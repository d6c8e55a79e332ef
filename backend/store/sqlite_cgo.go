//go:build cgo

package store

import (
	"database/sql"
	"errors"

	"github.com/mattn/go-sqlite3"
)

// driverName is go-sqlite3 with a hook on every new connection: SQLite's
// fsyncs become F_FULLFSYNC on macOS, where a plain fsync leaves the data
// in the drive's cache (the pragmas do nothing elsewhere). Data files get
// the same from Go's File.Sync there.
const driverName = "sqlite3_ferry"

func init() {
	sql.Register(driverName, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		_, err := c.Exec("PRAGMA fullfsync = ON; PRAGMA checkpoint_fullfsync = ON", nil)
		return err
	}})
}

// sqliteFull reports SQLite's SQLITE_FULL.
func sqliteFull(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.Code == sqlite3.ErrFull
}
