package service

import (
	"context"
	"errors"
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/home"
)

func TestStartStopLockAndShutdown(t *testing.T) {
	h, _ := home.At(t.TempDir() + "/home")
	r, err := Start(h)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Start(h)
	var le *home.LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second Start = %v, want a LockedError", err)
	}
	in, err := r.Manager().CreateJob("kept", bits.TypeDownload)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Manager().SetCredentials(in.ID, bits.Credential{Target: bits.AuthTargetServer, Scheme: bits.AuthBasic, UserName: "alice", Password: "pw"}); err != nil {
		t.Fatal(err)
	}
	// A shutdown request reaches the host, which stops the engine.
	go func() {
		<-r.ShutdownRequested()
		r.Stop()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	was, err := Shutdown(ctx, h)
	if err != nil || !was {
		t.Fatalf("Shutdown = %v, %v", was, err)
	}
	if was, err := Shutdown(ctx, h); err != nil || was {
		t.Fatalf("second Shutdown = %v, %v", was, err)
	}
	// The job and its sealed password come back.
	r, err = Start(h)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	j, err := r.Manager().GetJob(in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(j.Credentials) != 1 || j.Credentials[0].UserName != "alice" || j.Credentials[0].Password != "pw" {
		t.Fatalf("credentials after restart: %+v", j.Credentials)
	}
}
