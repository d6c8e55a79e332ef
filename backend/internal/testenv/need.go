package testenv

import (
	"os"
	"testing"
)

// RequireAllEnv, set to 1 by `make test`, turns every missing prerequisite
// (root, FUSE, network namespaces) into a failure: on CI a skipped check
// would be counted as a pass. Without it, a developer's run skips them.
const RequireAllEnv = "FERRY_REQUIRE_ALL"

// Need stops the test when ok is false: a skip on a developer's machine, a
// failure where RequireAllEnv is set.
func Need(t testing.TB, ok bool, why string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv(RequireAllEnv) == "1" {
		t.Fatalf("%s (%s=1: make test needs it)", why, RequireAllEnv)
	}
	t.Skip("skipped: " + why)
}
