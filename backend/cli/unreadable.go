package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"ferry/backend/api"
	"ferry/backend/engine"
	"ferry/backend/ops"
	"ferry/backend/store"
)

// noteUnreadable tells on stderr about records the engine set aside when it
// started ("ferry: 1 job could not be read; set aside in …"), so that a
// damaged row is noticed, not silently missing from the list. stdout (and
// so `list --json`) is unchanged. An engine too old to know the operation
// is no reason to fail the list.
func (c *cli) noteUnreadable(ctx context.Context, cl *api.Client) {
	var recs []store.SetAside
	if err := cl.CallInto(ctx, "unreadable", ops.Request{}, &recs); err != nil {
		return
	}
	if s := ops.UnreadableSummary(recs); s != "" {
		for _, line := range strings.Split(s, "\n") {
			fmt.Fprintln(c.stderr, "ferry: "+line)
		}
	}
}

// noteLockedCredentials tells on stderr, after `info`, that the job's sealed
// credentials cannot be opened (the secret key is missing or another), so
// that the cause is seen before the job fails; stdout is unchanged.
func (c *cli) noteLockedCredentials(ctx context.Context, cl *api.Client, raw json.RawMessage) {
	var job struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &job) != nil || job.ID == "" {
		return
	}
	var recs []store.SetAside
	if err := cl.CallInto(ctx, "unreadable", ops.Request{}, &recs); err != nil {
		return
	}
	for _, r := range recs {
		if r.Kind == engine.KindCredentials && r.Key == job.ID {
			fmt.Fprintln(c.stderr, "ferry: this job's credentials cannot be opened: "+ops.Esc(r.Reason))
		}
	}
}
