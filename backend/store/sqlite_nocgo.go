//go:build !cgo

package store

// sqliteFull is false without cgo: go-sqlite3 is then a stub that opens no
// database (and has no Error type), but the package still compiles, which
// `make vet-darwin` needs.
func sqliteFull(error) bool { return false }

// driverName is go-sqlite3's stub without cgo.
const driverName = "sqlite3"
