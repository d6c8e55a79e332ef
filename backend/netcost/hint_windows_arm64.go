package netcost

// hintChanged is PNETWORK_CONNECTIVITY_HINT_CHANGE_CALLBACK. On ARM64 a
// 12-byte struct passed by value arrives in two registers: the two enums,
// then the three booleans.
func hintChanged(_ uintptr, lo, hi uintptr) uintptr {
	report(connectivityHint{level: int32(uint32(lo)), cost: int32(uint32(lo >> 32)),
		approachingDataLimit: byte(hi), overDataLimit: byte(hi >> 8), roaming: byte(hi >> 16)})
	return 0
}
