package cli

import (
	"context"
	"fmt"

	"ferry/backend/api"
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
		fmt.Fprintln(c.stderr, "ferry: "+s)
	}
}
