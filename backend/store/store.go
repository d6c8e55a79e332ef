// Package store persists Ferry's queue in SQLite: one row per job, one row per
// file (with its durable offset), and the engine's settings.
package store

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"sync"

	_ "github.com/mattn/go-sqlite3" // the design card's SQLite driver (cgo)

	"ferry/backend/bits"
)

// Store is the SQLite database of one FERRY_HOME.
type Store struct {
	db   *sql.DB
	w    *writer
	path string

	qmu      sync.Mutex
	setAside []SetAside // records moved out of the live tables since Open
}

// migrations are applied in order; PRAGMA user_version records how many ran.
var migrations = []string{
	`CREATE TABLE jobs (
		id   TEXT PRIMARY KEY,
		seq  INTEGER NOT NULL,
		data TEXT NOT NULL
	);
	CREATE TABLE files (
		job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
		idx    INTEGER NOT NULL,
		data   TEXT NOT NULL,
		PRIMARY KEY (job_id, idx)
	);
	CREATE TABLE settings (
		key   TEXT PRIMARY KEY,
		value TEXT NOT NULL
	);`,
	`CREATE TABLE secrets (
		job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
		name   TEXT NOT NULL,
		sealed BLOB NOT NULL,
		PRIMARY KEY (job_id, name)
	);`,
	// Records that could not be read, moved out of the live tables (raw
	// bytes kept; see quarantine.go).
	`CREATE TABLE quarantine (
		seq    INTEGER PRIMARY KEY AUTOINCREMENT,
		kind   TEXT NOT NULL,
		key    TEXT NOT NULL,
		at     TEXT NOT NULL,
		record TEXT NOT NULL
	);`,
}

// Open opens (creating and migrating) the database at path. The database
// and its -wal and -shm files are private to their user (0600) whatever the
// umask: SQLite gives the latter the mode of the database file.
func Open(path string) (*Store, error) {
	if err := private(path); err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL") // a recorded offset must survive power loss
	q.Set("_busy_timeout", "5000")
	q.Set("_foreign_keys", "on")
	q.Set("_txlock", "immediate")
	db, err := sql.Open(driverName, "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	db.SetMaxOpenConns(1) // one writer; SQLite serialises anyway
	s := &Store{db: db, path: path}
	if err := s.migrate(); err != nil {
		db.Close()
		return nil, err
	}
	s.startWriter()
	return s, nil
}

// private creates the database file 0600 if it is missing and takes group
// and other permissions off it and its companions if they have any.
func private(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open database %s: %w", path, err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(p)
		if err != nil {
			continue // not there yet: made later with the database's mode
		}
		if st.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, st.Mode().Perm()&0o600); err != nil {
				return fmt.Errorf("make %s private: %w", p, err)
			}
		}
	}
	return nil
}

func (s *Store) migrate() error {
	var v int
	if err := s.db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("database schema %d is newer than this Ferry (%d)", v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		tx, err := s.db.Begin()
		if err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := tx.Exec(migrations[i]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, i+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	return nil
}

// Close stops the writer (after the commits already queued) and closes
// the database.
func (s *Store) Close() error {
	s.stopWriter()
	return s.db.Close()
}

// jobRow is the job record without its files, which live in their own rows.
func jobRow(j *bits.Job) ([]byte, error) {
	c := *j
	c.Files = nil
	c.Credentials = nil // user names are stored with the sealed secrets
	return json.Marshal(&c)
}

// SaveJob writes a job and all its files in one transaction.
func (s *Store) SaveJob(seq int64, j *bits.Job) error {
	return s.Commit(Change{Seq: seq, Job: j})
}

type execer interface {
	Exec(query string, args ...any) (sql.Result, error)
}

func saveFile(x execer, jobID string, idx int, f *bits.File) error {
	data, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("encode file %d of job %s: %w", idx, jobID, err)
	}
	if _, err := x.Exec(`INSERT INTO files(job_id, idx, data) VALUES(?,?,?)
		ON CONFLICT(job_id, idx) DO UPDATE SET data = excluded.data`, jobID, idx, string(data)); err != nil {
		return fmt.Errorf("save file %d of job %s: %w", idx, jobID, err)
	}
	return nil
}

// SaveFile records one file's row: its durable offset, validator and flags.
// Callers fsync the data before recording the offset that covers it.
func (s *Store) SaveFile(jobID string, idx int, f *bits.File) error {
	return s.write(func(tx *sql.Tx) error { return saveFile(tx, jobID, idx, f) })
}

// DeleteJob removes a job and its files and secrets.
func (s *Store) DeleteJob(id string) error {
	return s.Commit(Change{Job: &bits.Job{ID: id}, Delete: true})
}

// StoredJob is a job as loaded, with its insertion sequence.
type StoredJob struct {
	Seq int64
	Job *bits.Job
}

// LoadJobs returns every job with its files, in creation order. A job whose
// row or any of whose file rows cannot be read is set aside (see SetAside)
// and left out, so that one damaged row never hides the others.
//
// Rows are decoded as they are read, without a copy of them kept (a queue
// of 100,000 files held every row twice while it loaded); only a damaged
// job's rows are read again, to be set aside.
func (s *Store) LoadJobs() ([]StoredJob, error) {
	type loadJob struct {
		id    string
		seq   int64
		job   *bits.Job
		files int    // file rows seen
		bad   string // why the job cannot be loaded
	}
	rows, err := s.db.Query(`SELECT id, seq, data FROM jobs ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("load jobs: %w", err)
	}
	var all []*loadJob
	byID := map[string]*loadJob{}
	var data sql.RawBytes
	for rows.Next() {
		r := &loadJob{}
		if err := rows.Scan(&r.id, &r.seq, &data); err != nil {
			rows.Close()
			return nil, fmt.Errorf("load jobs: %w", err)
		}
		r.job = &bits.Job{}
		if err := json.Unmarshal(data, r.job); err != nil {
			r.bad = fmt.Sprintf("decode job %s: %v", r.id, err)
		} else if err := checkJob(r.id, r.job); err != nil {
			r.bad = err.Error()
		}
		all = append(all, r)
		byID[r.id] = r
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load jobs: %w", err)
	}
	frows, err := s.db.Query(`SELECT job_id, idx, data FROM files ORDER BY job_id, idx`)
	if err != nil {
		return nil, fmt.Errorf("load files: %w", err)
	}
	// A job's files are gathered here, then copied to a slice of their
	// exact number (appending to the job's own would leave it up to twice
	// as large).
	var cur *loadJob
	var files []bits.File
	done := func() {
		if cur != nil && cur.bad == "" {
			cur.job.Files = append(make([]bits.File, 0, len(files)), files...)
		}
		files = files[:0]
	}
	var id sql.RawBytes
	for frows.Next() {
		var idx int
		if err := frows.Scan(&id, &idx, &data); err != nil {
			frows.Close()
			return nil, fmt.Errorf("load files: %w", err)
		}
		if cur == nil || cur.id != string(id) {
			done()
			cur = byID[string(id)]
			if cur == nil {
				continue
			}
		}
		n := cur.files
		cur.files++
		if cur.bad != "" {
			continue
		}
		if idx != n {
			cur.bad = fmt.Sprintf("file rows out of order: row %d where %d belongs", idx, n)
			continue
		}
		files = append(files, bits.File{})
		f := &files[len(files)-1]
		var err error
		if !decodeFileRow(data, f) { // encoding/json for what it does not read
			err = json.Unmarshal(data, f)
		}
		if err != nil {
			cur.bad = fmt.Sprintf("decode file %d of job %s: %v", n, cur.id, err)
		} else if err := checkFile(n, f); err != nil {
			cur.bad = err.Error()
		}
	}
	done()
	frows.Close()
	if err := frows.Err(); err != nil {
		return nil, fmt.Errorf("load files: %w", err)
	}
	out := make([]StoredJob, 0, len(all))
	for _, r := range all {
		if r.bad != "" {
			// Reported through SetAside; a failed move still leaves the
			// job out, so the engine starts and serves the others.
			_ = s.setAsideRows(r.id, r.seq, r.bad)
			continue
		}
		if r.job.Files == nil {
			r.job.Files = []bits.File{}
		}
		out = append(out, StoredJob{Seq: r.seq, Job: r.job})
	}
	return out, nil
}

// setAsideRows sets a job aside with its rows as stored.
func (s *Store) setAsideRows(id string, seq int64, reason string) error {
	var row []byte
	if err := s.db.QueryRow(`SELECT data FROM jobs WHERE id = ?`, id).Scan(&row); err != nil {
		return fmt.Errorf("set aside job %s: %w", id, err)
	}
	rows, err := s.db.Query(`SELECT idx, data FROM files WHERE job_id = ? ORDER BY idx`, id)
	if err != nil {
		return fmt.Errorf("set aside job %s: %w", id, err)
	}
	var files []rawRow
	for rows.Next() {
		var idx int
		var data []byte
		if err := rows.Scan(&idx, &data); err != nil {
			rows.Close()
			return fmt.Errorf("set aside job %s: %w", id, err)
		}
		files = append(files, raw(fmt.Sprint(idx), data))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("set aside job %s: %w", id, err)
	}
	return s.setAsideJob(id, seq, row, files, reason)
}

// SaveSecret stores an already sealed secret for a job.
func (s *Store) SaveSecret(jobID, name string, sealed []byte) error {
	return s.write(func(tx *sql.Tx) error { return saveSecret(tx, jobID, name, sealed) })
}

func saveSecret(x execer, jobID, name string, sealed []byte) error {
	if _, err := x.Exec(`INSERT INTO secrets(job_id, name, sealed) VALUES(?,?,?)
		ON CONFLICT(job_id, name) DO UPDATE SET sealed = excluded.sealed`, jobID, name, sealed); err != nil {
		return fmt.Errorf("save secret of job %s: %w", jobID, err)
	}
	return nil
}

func deleteSecrets(x execer, jobID, prefix string) error {
	if _, err := x.Exec(`DELETE FROM secrets WHERE job_id = ? AND substr(name, 1, ?) = ?`, jobID, len(prefix), prefix); err != nil {
		return fmt.Errorf("delete secrets of job %s: %w", jobID, err)
	}
	return nil
}

// SealedSecrets counts the sealed secrets the database holds: the live ones
// and those of records set aside (quarantine keeps them sealed). While any
// exists, the key that sealed them must not be replaced.
func (s *Store) SealedSecrets() (int, error) {
	var live, aside int
	if err := s.db.QueryRow(`SELECT count(*) FROM secrets`).Scan(&live); err != nil {
		return 0, fmt.Errorf("count sealed secrets: %w", err)
	}
	if err := s.db.QueryRow(`SELECT count(*) FROM quarantine WHERE json_valid(record) AND json_array_length(record, '$.secrets') > 0`).Scan(&aside); err != nil {
		return 0, fmt.Errorf("count sealed secrets set aside: %w", err)
	}
	return live + aside, nil
}

// Secrets returns a job's sealed secrets by name.
func (s *Store) Secrets(jobID string) (map[string][]byte, error) {
	rows, err := s.db.Query(`SELECT name, sealed FROM secrets WHERE job_id = ?`, jobID)
	if err != nil {
		return nil, fmt.Errorf("load secrets of job %s: %w", jobID, err)
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var n string
		var b []byte
		if err := rows.Scan(&n, &b); err != nil {
			return nil, fmt.Errorf("load secrets of job %s: %w", jobID, err)
		}
		out[n] = b
	}
	return out, rows.Err()
}

// AllSecrets returns the sealed secrets of every job, by job id and name:
// one query for a whole queue (one a job cost a restart of 10,000 jobs a
// tenth of a second).
func (s *Store) AllSecrets() (map[string]map[string][]byte, error) {
	rows, err := s.db.Query(`SELECT job_id, name, sealed FROM secrets`)
	if err != nil {
		return nil, fmt.Errorf("load secrets: %w", err)
	}
	defer rows.Close()
	out := map[string]map[string][]byte{}
	for rows.Next() {
		var id, n string
		var b []byte
		if err := rows.Scan(&id, &n, &b); err != nil {
			return nil, fmt.Errorf("load secrets: %w", err)
		}
		if out[id] == nil {
			out[id] = map[string][]byte{}
		}
		out[id][n] = b
	}
	return out, rows.Err()
}

// Settings returns every stored setting.
func (s *Store) Settings() (map[string]string, error) {
	rows, err := s.db.Query(`SELECT key, value FROM settings`)
	if err != nil {
		return nil, fmt.Errorf("load settings: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("load settings: %w", err)
		}
		out[k] = v
	}
	return out, rows.Err()
}

// SetSetting stores one setting.
func (s *Store) SetSetting(key, value string) error {
	return s.write(func(tx *sql.Tx) error {
		if _, err := tx.Exec(`INSERT INTO settings(key, value) VALUES(?,?)
			ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value); err != nil {
			return fmt.Errorf("save setting %s: %w", key, err)
		}
		return nil
	})
}
