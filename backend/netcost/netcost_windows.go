package netcost

import (
	"fmt"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"

	"ferry/backend/bits"
)

// Windows' network connectivity hint (iphlpapi, Windows 10 2004 and
// later) carries the cost that the network-cost API (INetworkCostManager)
// reports, without COM: a plain call for the current hint and a callback on
// every change.
var (
	iphlpapi        = windows.NewLazySystemDLL("iphlpapi.dll")
	procGetHint     = iphlpapi.NewProc("GetNetworkConnectivityHint")
	procNotifyHint  = iphlpapi.NewProc("NotifyNetworkConnectivityHintChange")
	procCancelNotif = iphlpapi.NewProc("CancelMibChangeNotify2")
)

// connectivityHint is NL_NETWORK_CONNECTIVITY_HINT.
type connectivityHint struct {
	level                int32 // NL_NETWORK_CONNECTIVITY_LEVEL_HINT
	cost                 int32 // NL_NETWORK_CONNECTIVITY_COST_HINT
	approachingDataLimit byte
	overDataLimit        byte
	roaming              byte
	_                    byte
}

// NL_NETWORK_CONNECTIVITY_COST_HINT values.
const (
	costHintUnknown      = 0
	costHintUnrestricted = 1
	costHintFixed        = 2 // a capped plan
	costHintVariable     = 3 // charged by use
)

// costOfHint maps the hint to BITS' cost states, as BITS maps
// NLM_CONNECTION_COST: a capped plan is BELOW_CAP, NEAR_CAP or
// OVERCAP_CHARGED, a charged one USAGE_BASED, plus ROAMING.
func costOfHint(h connectivityHint) bits.CostState {
	c := bits.CostUnrestricted
	switch h.cost {
	case costHintFixed:
		c = bits.CostBelowCap
		if h.approachingDataLimit != 0 {
			c = bits.CostNearCap
		}
		if h.overDataLimit != 0 {
			c = bits.CostOvercapCharged
		}
	case costHintVariable:
		c = bits.CostUsageBased
	}
	if h.roaming != 0 {
		c |= bits.CostRoaming
	}
	return c
}

// active is the monitor the callback reports to: the callback is a
// process-wide function (syscall.NewCallback's are never freed), so it is
// made once.
var (
	active   *Monitor
	callback uintptr
)

func (m *Monitor) watch() func() {
	if err := procNotifyHint.Find(); err != nil {
		m.log.Info("network cost unknown (Windows before 10 2004), treated as unrestricted", "err", err)
		return func() {}
	}
	if err := procGetHint.Find(); err == nil {
		var h connectivityHint
		if r, _, _ := procGetHint.Call(uintptr(unsafe.Pointer(&h))); r == 0 {
			m.set(costOfHint(h), fmt.Sprintf("connectivity hint cost=%d", h.cost))
		}
	}
	active = m
	if callback == 0 {
		callback = syscall.NewCallback(hintChanged)
	}
	var handle windows.Handle
	if r, _, _ := procNotifyHint.Call(callback, 0, 0, uintptr(unsafe.Pointer(&handle))); r != 0 {
		m.log.Info("network cost changes not followed, the cost stays as read", "status", fmt.Sprintf("0x%X", r))
		return func() {}
	}
	return func() { procCancelNotif.Call(uintptr(handle)) }
}

func report(h connectivityHint) {
	if m := active; m != nil {
		m.set(costOfHint(h), fmt.Sprintf("connectivity hint cost=%d", h.cost))
	}
}
