package engine

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"ferry/backend/bits"
	"ferry/backend/uploadserver"
)

// An upload server names the reply's URL (BITS-Reply-URL); a hostile or
// broken one must not make the engine read a local file into the user's
// reply file (a file:// URL, or an absolute path, served by the file
// driver). Only http(s) replies are fetched; anything else ends the job in
// ERROR with BG_E_INVALID_SERVER_RESPONSE and copies nothing. (Before, a
// file:// reply URL ended in TRANSFERRED with the local file as the reply.)
func TestReplyURLMustBeHTTP(t *testing.T) {
	t.Parallel()
	secret := []byte("the user's private key\n")
	for name, reply := range map[string]string{"file": "file://%s", "path": "%s", "FILE-localhost": "FILE://localhost%s"} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			key := h.path("id_secret")
			if err := os.WriteFile(key, secret, 0o600); err != nil {
				t.Fatal(err)
			}
			us, err := uploadserver.New(uploadserver.Config{Dir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			defer us.Close()
			url := fmt.Sprintf(reply, key)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				rec := httptest.NewRecorder()
				us.ServeHTTP(rec, r)
				for k, vs := range rec.Header() {
					w.Header()[k] = vs
				}
				if w.Header().Get("BITS-Reply-URL") != "" {
					w.Header().Set("BITS-Reply-URL", url)
				}
				w.WriteHeader(rec.Code)
				_, _ = w.Write(rec.Body.Bytes())
			}))
			defer srv.Close()
			writeRandom(t, h.path("up.bin"), 1000, 5)
			id := h.uploadJob(bits.TypeUploadReply, srv.URL+"/up.bin", h.path("up.bin"))
			h.must(h.m.SetReplyFileName(id, h.path("reply.txt")))
			h.must(h.m.Resume(id))
			in := h.waitState(id, bits.StateError)
			// A bare path is resolved against the upload URL: an http GET
			// that this server answers 404.
			want := bits.BG_E_INVALID_SERVER_RESPONSE
			if name == "path" {
				want = bits.HTTPError(http.StatusNotFound)
			}
			if in.Error == nil || in.Error.Name != want.Name() {
				t.Fatalf("error %+v, want %s", in.Error, want.Name())
			}
			if data, err := h.m.GetReplyData(id); bytes.Contains(data, secret) {
				t.Fatalf("the reply data holds the local file (%v)", err)
			}
			for _, f := range tempFiles(t, h.dir) {
				if b, _ := os.ReadFile(f); bytes.Contains(b, secret) {
					t.Fatalf("%s holds the local file", f)
				}
			}
		})
	}
}
