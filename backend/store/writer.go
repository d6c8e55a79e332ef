package store

import (
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"syscall"

	"ferry/backend/bits"
)

// The store has one writer goroutine. Every write is a request that it runs
// inside a shared transaction with the requests that queued up meanwhile
// (group commit): many changes, one COMMIT, one fsync of the WAL. Each
// request runs under its own SAVEPOINT, so one failing request is rolled
// back alone and its caller gets the error; a failed COMMIT fails them all.

// maxBatch bounds the requests of one group commit.
const maxBatch = 512

type request struct {
	fn   func(tx *sql.Tx) error
	done chan error
}

type writer struct {
	reqs chan request
	quit chan struct{}
	wg   sync.WaitGroup

	mu    sync.Mutex
	fault func() error // tests: fails every batch while it returns an error
	stats WriteStats
}

// WriteStats counts group commits: Requests/Commits is the batching factor.
type WriteStats struct {
	Requests int64
	Commits  int64
}

func (s *Store) startWriter() {
	s.w = &writer{reqs: make(chan request), quit: make(chan struct{})}
	s.w.wg.Add(1)
	go s.runWriter()
}

func (s *Store) stopWriter() {
	if s.w == nil {
		return
	}
	close(s.w.quit)
	s.w.wg.Wait()
}

// errClosed answers writes after Close.
var errClosed = errors.New("store: closed")

// write runs fn in the next group commit and returns its outcome once the
// commit is durable (or failed).
func (s *Store) write(fn func(tx *sql.Tx) error) error {
	r := request{fn: fn, done: make(chan error, 1)}
	select {
	case s.w.reqs <- r:
	case <-s.w.quit:
		return errClosed
	}
	return <-r.done
}

func (s *Store) runWriter() {
	defer s.w.wg.Done()
	for {
		var first request
		select {
		case first = <-s.w.reqs:
		case <-s.w.quit:
			return
		}
		batch := []request{first}
	more:
		for len(batch) < maxBatch {
			select {
			case r := <-s.w.reqs:
				batch = append(batch, r)
			default:
				break more
			}
		}
		s.runBatch(batch)
	}
}

func (s *Store) runBatch(batch []request) {
	errs := make([]error, len(batch))
	err := s.groupCommit(batch, errs)
	s.w.mu.Lock()
	s.w.stats.Requests += int64(len(batch))
	s.w.stats.Commits++
	s.w.mu.Unlock()
	for i, r := range batch {
		if err != nil {
			r.done <- err
		} else {
			r.done <- errs[i]
		}
	}
}

func (s *Store) groupCommit(batch []request, errs []error) error {
	s.w.mu.Lock()
	fault := s.w.fault
	s.w.mu.Unlock()
	if fault != nil {
		if err := fault(); err != nil {
			return err
		}
	}
	tx, err := s.db.Begin()
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	for i, r := range batch {
		if _, err := tx.Exec(`SAVEPOINT req`); err != nil {
			tx.Rollback()
			return fmt.Errorf("savepoint: %w", err)
		}
		if errs[i] = r.fn(tx); errs[i] != nil {
			if _, err := tx.Exec(`ROLLBACK TO req`); err != nil {
				tx.Rollback()
				return fmt.Errorf("rollback to savepoint: %w", err)
			}
		}
		if _, err := tx.Exec(`RELEASE req`); err != nil {
			tx.Rollback()
			return fmt.Errorf("release savepoint: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		tx.Rollback()
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// SetWriteFault makes every following group commit fail with f's error
// while f returns one (nil f: writes work again). Tests use it to prove that
// a failed write changes nothing.
func (s *Store) SetWriteFault(f func() error) {
	s.w.mu.Lock()
	s.w.fault = f
	s.w.mu.Unlock()
}

// WriteStats reports how many write requests ran in how many commits.
func (s *Store) WriteStats() WriteStats {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	return s.w.stats
}

// IsDiskFull reports a write that failed for lack of space.
func IsDiskFull(err error) bool {
	return sqliteFull(err) || errors.Is(err, syscall.ENOSPC)
}

// Change is one job's writes, applied atomically: its row, the file rows
// named in Files (nil: every file), and the removal of file rows past the
// job's last file. Delete removes the job with its files and secrets instead.
type Change struct {
	Seq    int64
	Job    *bits.Job
	Files  []int // the indexes of the file rows to write; nil = all of them
	Delete bool
	// Secrets to write (sealed) and secret-name prefixes to remove first.
	Secrets       map[string][]byte
	DropSecrets   []string
	hasFileSubset bool
}

// OnlyFiles limits a Change to the file rows at idx (an empty list: the
// job row only).
func (c Change) OnlyFiles(idx ...int) Change {
	c.Files = append([]int{}, idx...)
	c.hasFileSubset = true
	return c
}

// Commit applies c in the next group commit.
func (s *Store) Commit(c Change) error {
	if c.Job == nil {
		return errors.New("store: a change without a job")
	}
	var data []byte
	if !c.Delete {
		var err error
		if data, err = jobRow(c.Job); err != nil {
			return fmt.Errorf("encode job %s: %w", c.Job.ID, err)
		}
	}
	files := c.Files
	if files == nil && !c.hasFileSubset && !c.Delete {
		files = make([]int, len(c.Job.Files))
		for i := range files {
			files[i] = i
		}
	}
	id := c.Job.ID
	return s.write(func(tx *sql.Tx) error {
		if c.Delete {
			if _, err := tx.Exec(`DELETE FROM jobs WHERE id = ?`, id); err != nil {
				return fmt.Errorf("delete job %s: %w", id, err)
			}
			return nil
		}
		if _, err := tx.Exec(`INSERT INTO jobs(id, seq, data) VALUES(?,?,?)
			ON CONFLICT(id) DO UPDATE SET data = excluded.data`, id, c.Seq, string(data)); err != nil {
			return fmt.Errorf("save job %s: %w", id, err)
		}
		if c.Files == nil && !c.hasFileSubset {
			if _, err := tx.Exec(`DELETE FROM files WHERE job_id = ? AND idx >= ?`, id, len(c.Job.Files)); err != nil {
				return fmt.Errorf("save job %s files: %w", id, err)
			}
		}
		for _, i := range files {
			if i < 0 || i >= len(c.Job.Files) {
				return fmt.Errorf("save job %s: no file %d", id, i)
			}
			if err := saveFile(tx, id, i, &c.Job.Files[i]); err != nil {
				return err
			}
		}
		for _, p := range c.DropSecrets {
			if err := deleteSecrets(tx, id, p); err != nil {
				return err
			}
		}
		for name, sealed := range c.Secrets {
			if err := saveSecret(tx, id, name, sealed); err != nil {
				return err
			}
		}
		return nil
	})
}
