package store

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ferry/backend/bits"
)

// damage overwrites a row's data behind the store's back, as a bad disk
// sector or a stray tool would.
func damage(t *testing.T, s *Store, query string, args ...any) {
	t.Helper()
	res, err := s.db.Exec(query, args...)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("%s touched %d rows", query, n)
	}
}

func TestUnreadableRowsAreSetAsideAndTheRestLoads(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ferry.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	file := func(n string) bits.File {
		return bits.File{RemoteName: "http://h/" + n, LocalName: "/tmp/" + n, BytesTotal: 10}
	}
	for i, id := range []string{"good1", "badjob", "badfile", "badupload", "good2"} {
		j := &bits.Job{ID: id, Type: bits.TypeDownload, Files: []bits.File{file(id + "0"), file(id + "1")}}
		if id == "badupload" {
			j.Type, j.Files, j.Upload = bits.TypeUpload, []bits.File{file(id)}, &bits.UploadSession{SessionID: "{s}", Acked: 4, FileSize: 10}
		}
		if err := s.SaveJob(int64(i+1), j); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SaveSecret("badjob", "cred:0:0", []byte{0xde, 0xad}); err != nil {
		t.Fatal(err)
	}
	// The case: a truncated row ("unexpected end of JSON input").
	damage(t, s, `UPDATE jobs SET data = substr(data, 1, 40) WHERE id = 'badjob'`)
	// A file row that is not JSON at all, with bytes that are not UTF-8.
	damage(t, s, `UPDATE files SET data = X'7B22FF' WHERE job_id = 'badfile' AND idx = 1`)
	// An upload session record that decodes but cannot be true.
	var row string
	if err := s.db.QueryRow(`SELECT data FROM jobs WHERE id = 'badupload'`).Scan(&row); err != nil {
		t.Fatal(err)
	}
	damage(t, s, `UPDATE jobs SET data = ? WHERE id = 'badupload'`, strings.Replace(row, `"acked":4`, `"acked":-4`, 1))
	s.Close()

	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := s.LoadJobs()
	if err != nil {
		t.Fatalf("LoadJobs failed for all jobs: %v", err)
	}
	if len(jobs) != 2 || jobs[0].Job.ID != "good1" || jobs[1].Job.ID != "good2" || len(jobs[1].Job.Files) != 2 {
		t.Fatalf("loaded %+v", jobs)
	}
	aside := s.SetAside()
	if len(aside) != 3 {
		t.Fatalf("set aside %+v", aside)
	}
	want := map[string]string{"badjob": "unexpected end of JSON input", "badfile": "decode file 1", "badupload": "upload session"}
	for _, a := range aside {
		if a.Kind != KindJob || !strings.Contains(a.Reason, want[a.Key]) {
			t.Errorf("set aside %+v, want reason with %q", a, want[a.Key])
		}
		st, err := os.Stat(a.Copy)
		if err != nil || filepath.Dir(a.Copy) != filepath.Join(dir, QuarantineDirName) || st.Mode().Perm() != 0o600 {
			t.Fatalf("copy %q: %v %v", a.Copy, st, err)
		}
		var rec quarantineRecord
		b, _ := os.ReadFile(a.Copy)
		if err := json.Unmarshal(b, &rec); err != nil || rec.Key != a.Key || rec.Row == nil {
			t.Fatalf("copy of %s: %v %s", a.Key, err, b)
		}
		switch a.Key {
		case "badjob": // the truncated row byte for byte, and its sealed secret
			if len(rec.Row.Text) != 40 || len(rec.Secrets) != 1 || string(rec.Secrets[0].Base64) != "\xde\xad" || len(rec.Files) != 2 {
				t.Errorf("copy of badjob: %+v", rec)
			}
		case "badfile": // the non-UTF-8 bytes kept exactly
			if len(rec.Files) != 2 || string(rec.Files[1].Base64) != "{\"\xff" {
				t.Errorf("copy of badfile: %+v", rec.Files)
			}
		}
	}
	if st, err := os.Stat(filepath.Join(dir, QuarantineDirName)); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("quarantine directory: %v %v", st, err)
	}
	var live, kept, files, secrets int
	s.db.QueryRow(`SELECT count(*) FROM jobs`).Scan(&live)
	s.db.QueryRow(`SELECT count(*) FROM quarantine`).Scan(&kept)
	s.db.QueryRow(`SELECT count(*) FROM files`).Scan(&files)
	s.db.QueryRow(`SELECT count(*) FROM secrets`).Scan(&secrets)
	if live != 2 || kept != 3 || files != 4 || secrets != 0 {
		t.Fatalf("live jobs %d, quarantined %d, file rows %d, secrets %d", live, kept, files, secrets)
	}
	// Set aside, the sealed secret still counts: its key must not be replaced.
	if n, err := s.SealedSecrets(); err != nil || n != 1 {
		t.Fatalf("SealedSecrets = %d, %v; want the one set aside", n, err)
	}
	// The good jobs stay writable, and the next start finds nothing to set aside.
	if err := s.SaveJob(jobs[0].Seq, jobs[0].Job); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if jobs, err := s.LoadJobs(); err != nil || len(jobs) != 2 || len(s.SetAside()) != 0 {
		t.Fatalf("second load: %d jobs, %v, set aside %v", len(jobs), err, s.SetAside())
	}
}

func TestSetAsideSetting(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(filepath.Join(dir, "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.SetSetting("timeSlice", "12x")
	s.SetSetting("maxBackgroundJobs", "2")
	if err := s.SetAsideSetting("timeSlice", "12x", "not a number"); err != nil {
		t.Fatal(err)
	}
	set, _ := s.Settings()
	if len(set) != 1 || set["maxBackgroundJobs"] != "2" {
		t.Fatalf("settings %v", set)
	}
	a := s.SetAside()
	if len(a) != 1 || a[0].Kind != KindSetting || a[0].Key != "timeSlice" {
		t.Fatalf("%+v", a)
	}
	b, err := os.ReadFile(a[0].Copy)
	if err != nil || !strings.Contains(string(b), `"text": "12x"`) {
		t.Fatalf("copy %s %v", b, err)
	}
}
