package store

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"ferry/backend/bits"
)

func TestRoundTripAndDurableRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ferry.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	j := &bits.Job{ID: "a", DisplayName: "one", State: bits.StateTransientError, CreationTime: now, RetryAt: now.Add(time.Hour),
		Files:       []bits.File{{RemoteName: "http://h/1", LocalName: "/tmp/1", BytesTotal: 10}, {RemoteName: "http://h/2", LocalName: "/tmp/2", BytesTotal: -1}},
		Credentials: []bits.Credential{{Target: bits.AuthTargetServer, Scheme: bits.AuthBasic, UserName: "u", Password: "secret"}}}
	if err := s.SaveJob(1, j); err != nil {
		t.Fatal(err)
	}
	f := j.Files[0]
	f.BytesTransferred = 7
	f.Validator = bits.Validator{Size: 10, ETag: `"x"`}
	if err := s.SaveFile("a", 0, &f); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveJob(2, &bits.Job{ID: "b", Files: []bits.File{}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSetting("k", "v"); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	jobs, err := s.LoadJobs()
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 2 || jobs[0].Job.ID != "a" || jobs[1].Job.ID != "b" || jobs[0].Seq != 1 {
		t.Fatalf("%+v", jobs)
	}
	a := jobs[0].Job
	if a.State != bits.StateTransientError || !a.RetryAt.Equal(now.Add(time.Hour)) || len(a.Files) != 2 ||
		a.Files[0].BytesTransferred != 7 || a.Files[0].Validator.ETag != `"x"` || a.Files[1].BytesTotal != -1 {
		t.Fatalf("%+v", a)
	}
	if len(a.Credentials) != 0 {
		t.Fatal("credentials must not be stored in the job row")
	}
	if set, _ := s.Settings(); set["k"] != "v" {
		t.Fatalf("%v", set)
	}
	// Fewer files on a later save removes the surplus rows; deleting a job removes its files.
	a.Files = a.Files[:1]
	if err := s.SaveJob(1, a); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteJob("b"); err != nil {
		t.Fatal(err)
	}
	jobs, _ = s.LoadJobs()
	if len(jobs) != 1 || len(jobs[0].Job.Files) != 1 {
		t.Fatalf("%+v", jobs)
	}
	var n int
	if err := s.db.QueryRow(`SELECT count(*) FROM files`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("file rows %d %v", n, err)
	}
}

func TestMigrationsAndNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ferry.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var v int
	if err := s.db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil || v != len(migrations) {
		t.Fatalf("user_version %d", v)
	}
	var mode string
	if err := s.db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode %q", mode)
	}
	s.Close()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`PRAGMA user_version = 99`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(path); err == nil {
		t.Fatal("a database from a newer Ferry was opened")
	}
}

// Every connection syncs with F_FULLFSYNC where the platform has it.
func TestFullFsyncPragma(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, p := range []string{"fullfsync", "checkpoint_fullfsync"} {
		var on int
		if err := s.db.QueryRow("PRAGMA " + p).Scan(&on); err != nil || on != 1 {
			t.Fatalf("PRAGMA %s = %d (%v), want 1", p, on, err)
		}
	}
}
