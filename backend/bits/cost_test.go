package bits

import "testing"

func TestParseCostFlags(t *testing.T) {
	for in, want := range map[string]CostState{
		"TRANSFER_NOT_ROAMING":                    PolicyNotRoaming,
		"not_roaming":                             PolicyNotRoaming,
		"BITS_COST_STATE_TRANSFER_ALWAYS":         PolicyAlways,
		"BITS_JOB_TRANSFER_POLICY_UNRESTRICTED":   PolicyUnrestricted,
		"UNRESTRICTED":                            CostUnrestricted,
		"0x80000067":                              PolicyStandard,
		"2147483903":                              PolicyAlways,
		"BELOW_CAP | NEAR_CAP":                    CostBelowCap | CostNearCap,
		"BITS_COST_STATE_USAGE_BASED|0x1":         CostUsageBased | CostUnrestricted,
		"BITS_COST_OPTION_IGNORE_CONGESTION|0x21": PolicyUnrestricted,
	} {
		got, err := ParseCostFlags(in)
		if err != nil || got != want {
			t.Errorf("ParseCostFlags(%q) = 0x%X, %v; want 0x%X", in, uint32(got), err, uint32(want))
		}
	}
	for _, in := range []string{"", "0", "0x80000000", "0x100", "0x1|", "roam", "-1", "0x1FFFFFFFF"} {
		if _, err := ParseCostFlags(in); CodeOf(err) != E_INVALIDARG {
			t.Errorf("ParseCostFlags(%q): %v, want E_INVALIDARG", in, err)
		}
	}
}

func TestCostAllows(t *testing.T) {
	for _, tc := range []struct {
		flags, network CostState
		want           bool
	}{
		{PolicyNotRoaming, CostUnrestricted, true},
		{PolicyNotRoaming, CostUsageBased, true},
		{PolicyNotRoaming, CostUsageBased | CostRoaming, false},
		{PolicyAlways, CostUsageBased | CostRoaming, true},
		{PolicyUnrestricted, CostUsageBased, false},
		{PolicyUnrestricted, CostOvercapThrottled, true},
		{PolicyStandard, CostNearCap, false},
		{PolicyNoSurcharge, CostOvercapCharged, false},
		{0, CostRoaming, false},       // zero flags: the default, NOT_ROAMING
		{CostBelowCap, 0, false},      // an unknown cost counts as unrestricted
		{PolicyUnrestricted, 0, true}, // ...
		{CostUnrestricted, CostIgnoreCongestion, true},
	} {
		if got := tc.flags.Allows(tc.network); got != tc.want {
			t.Errorf("0x%X allows 0x%X = %v, want %v", uint32(tc.flags), uint32(tc.network), got, tc.want)
		}
	}
	if s := PolicyNotRoaming.String(); s != "TRANSFER_NOT_ROAMING" {
		t.Errorf("String = %q", s)
	}
	if s := (CostUsageBased | CostRoaming).String(); s != "USAGE_BASED|ROAMING" {
		t.Errorf("String = %q", s)
	}
}
