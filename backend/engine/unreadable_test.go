package engine

import (
	"database/sql"
	"os"
	"testing"

	"ferry/backend/store"
)

// One damaged job row and one damaged setting no longer stop the engine:
// it starts, serves the other jobs, and reports what it set aside.
func TestUnreadableRowsDoNotStopTheEngine(t *testing.T) {
	h := newHarness(t)
	good := h.job("good", "http://127.0.0.1:9/a", h.path("a"))
	bad := h.job("bad", "http://127.0.0.1:9/b", h.path("b"))
	h.must(h.m.SetSetting(KeyTimeSlice, "30"))
	h.close()

	db, err := sql.Open("sqlite3", h.db)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`UPDATE jobs SET data = substr(data, 1, 25) WHERE id = '` + bad + `'`,
		`UPDATE settings SET value = 'thirty' WHERE key = '` + KeyTimeSlice + `'`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	h.open() // fails the test if New fails
	if l := h.m.List(false, false); len(l) != 1 || l[0].ID != good {
		t.Fatalf("list after restart: %+v", l)
	}
	if _, err := h.m.Info(bad); err == nil {
		t.Fatal("the unreadable job still answers")
	}
	h.must(h.m.SetDescription(good, "still served"))
	if got := h.m.Settings().Get(KeyTimeSlice); got != 120 {
		t.Fatalf("timeSlice = %d, want the default 120", got)
	}
	un := h.m.Unreadable()
	if len(un) != 2 {
		t.Fatalf("Unreadable = %+v", un)
	}
	kinds := map[string]string{}
	for _, a := range un {
		kinds[a.Kind] = a.Key
		if _, err := os.Stat(a.Copy); err != nil {
			t.Errorf("no copy of %s %s: %v", a.Kind, a.Key, err)
		}
	}
	if kinds[store.KindJob] != bad || kinds[store.KindSetting] != KeyTimeSlice {
		t.Fatalf("set aside %v", kinds)
	}
}
