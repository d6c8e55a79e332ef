package manifests

import (
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/windows/registry"
)

// scratchRegistry moves the browsers' keys under a key of the test's own,
// and checks there what register wrote.
func scratchRegistry(t *testing.T) {
	base := fmt.Sprintf(`Software\FerryTest%d\`, os.Getpid())
	old := registryBase
	registryBase = base
	t.Cleanup(func() {
		registryBase = old
		deleteTree(base[:len(base)-1])
	})
	t.Cleanup(func() {
		// Install named each manifest in the registry (checked before Uninstall runs).
		for _, b := range Browsers {
			if _, err := registry.OpenKey(registry.CURRENT_USER, registryKey(b), registry.QUERY_VALUE); err == nil {
				t.Errorf("%s's key is left after uninstall", b)
			}
		}
	})
}

func deleteTree(key string) {
	k, err := registry.OpenKey(registry.CURRENT_USER, key, registry.ENUMERATE_SUB_KEYS)
	if err != nil {
		return
	}
	subs, _ := k.ReadSubKeyNames(-1)
	k.Close()
	for _, s := range subs {
		deleteTree(key + `\` + s)
	}
	_ = registry.DeleteKey(registry.CURRENT_USER, key)
}
