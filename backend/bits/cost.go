package bits

import (
	"fmt"
	"strconv"
	"strings"
)

// CostState is a set of BITS_COST_STATE_* bits. The network's cost is one
// or more of them; a job's COST_FLAGS (a BITS_JOB_TRANSFER_POLICY) is the
// set of costs it may transfer on.
type CostState uint32

// BITS_COST_STATE_* (bits-reference §2).
const (
	CostUnrestricted       CostState = 0x1
	CostCappedUsageUnknown CostState = 0x2
	CostBelowCap           CostState = 0x4
	CostNearCap            CostState = 0x8
	CostOvercapCharged     CostState = 0x10
	CostOvercapThrottled   CostState = 0x20
	CostUsageBased         CostState = 0x40
	CostRoaming            CostState = 0x80
	CostReserved           CostState = 0x40000000
	CostIgnoreCongestion   CostState = 0x80000000

	// costStates are the bits that describe a network; the others are options.
	costStates CostState = 0xFF
)

// BITS_JOB_TRANSFER_POLICY values: masks of the costs a job may use.
const (
	PolicyAlways       CostState = 0x800000FF
	PolicyNotRoaming   CostState = 0x8000007F
	PolicyNoSurcharge  CostState = 0x8000006F
	PolicyStandard     CostState = 0x80000067
	PolicyUnrestricted CostState = 0x80000021
	// DefaultCostFlags is COST_FLAGS of a new job, as BITS.
	DefaultCostFlags = PolicyNotRoaming
)

var costNames = []struct {
	name string
	v    CostState
}{
	{"TRANSFER_ALWAYS", PolicyAlways}, {"TRANSFER_NOT_ROAMING", PolicyNotRoaming},
	{"TRANSFER_NO_SURCHARGE", PolicyNoSurcharge}, {"TRANSFER_STANDARD", PolicyStandard},
	{"TRANSFER_UNRESTRICTED", PolicyUnrestricted},
	{"UNRESTRICTED", CostUnrestricted}, {"CAPPED_USAGE_UNKNOWN", CostCappedUsageUnknown},
	{"BELOW_CAP", CostBelowCap}, {"NEAR_CAP", CostNearCap}, {"OVERCAP_CHARGED", CostOvercapCharged},
	{"OVERCAP_THROTTLED", CostOvercapThrottled}, {"USAGE_BASED", CostUsageBased}, {"ROAMING", CostRoaming},
	{"IGNORE_CONGESTION", CostIgnoreCongestion},
}

// Allows reports whether a job with these COST_FLAGS may transfer on a
// network whose cost is network: every cost bit of the network must be
// allowed (a roaming, below-cap network needs both ROAMING and BELOW_CAP).
// Zero flags are the default, as in a record older than the property.
func (f CostState) Allows(network CostState) bool {
	if f == 0 {
		f = DefaultCostFlags
	}
	n := network & costStates
	if n == 0 {
		n = CostUnrestricted // a cost Ferry cannot read counts as unrestricted
	}
	return n&^f == 0
}

// String names the value: a policy's name, else the state names joined by
// '|' (e.g. "BELOW_CAP|ROAMING"), else hex.
func (f CostState) String() string {
	for _, c := range costNames[:5] {
		if f == c.v {
			return c.name
		}
	}
	var parts []string
	rest := f
	for _, c := range costNames[5:] {
		if f&c.v != 0 {
			parts = append(parts, c.name)
			rest &^= c.v
		}
	}
	if rest != 0 || len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("0x%X", uint32(rest)))
	}
	return strings.Join(parts, "|")
}

// ParseCostFlags reads COST_FLAGS as bitsadmin or a script gives it: a
// number (decimal or 0x-hex), a BITS_JOB_TRANSFER_POLICY or
// BITS_COST_STATE name with or without its prefix, or names and numbers
// joined by '|'. A value must allow at least one cost and name only known
// bits: anything else would never transfer, or mean something Ferry does
// not know.
func ParseCostFlags(s string) (CostState, error) {
	var f CostState
	for _, part := range strings.Split(s, "|") {
		p := strings.ToUpper(strings.TrimSpace(part))
		if rest, ok := strings.CutPrefix(p, "BITS_JOB_TRANSFER_POLICY_"); ok {
			p = "TRANSFER_" + rest // the enum's spelling of the same policies
		}
		p = strings.TrimPrefix(p, "BITS_COST_STATE_")
		p = strings.TrimPrefix(p, "BITS_COST_OPTION_")
		if p == "" {
			return 0, Errorf(E_INVALIDARG, "COST_FLAGS %q has an empty part", s)
		}
		if v, err := strconv.ParseUint(p, 0, 32); err == nil {
			f |= CostState(v)
			continue
		}
		found := false
		for i, c := range costNames {
			// ALWAYS, NOT_ROAMING, NO_SURCHARGE and STANDARD may drop
			// TRANSFER_; a bare UNRESTRICTED is the cost state.
			if p == c.name || i < 4 && "TRANSFER_"+p == c.name {
				f |= c.v
				found = true
				break
			}
		}
		if !found {
			return 0, Errorf(E_INVALIDARG, "COST_FLAGS %q: %q is not a transfer policy (TRANSFER_ALWAYS, TRANSFER_NOT_ROAMING, TRANSFER_NO_SURCHARGE, TRANSFER_STANDARD, TRANSFER_UNRESTRICTED), a cost state or a number", s, strings.TrimSpace(part))
		}
	}
	if unknown := f &^ (costStates | CostReserved | CostIgnoreCongestion); unknown != 0 {
		return 0, Errorf(E_INVALIDARG, "COST_FLAGS 0x%X has bits that are not BITS_COST_STATE flags (0x%X)", uint32(f), uint32(unknown))
	}
	if f&costStates == 0 {
		return 0, Errorf(E_INVALIDARG, "COST_FLAGS 0x%X allows no network cost, so the job would never transfer", uint32(f))
	}
	return f, nil
}
