package netcost

// hintChanged is PNETWORK_CONNECTIVITY_HINT_CHANGE_CALLBACK. On x86 a
// struct passed by value lies on the stack: three 32-bit words.
func hintChanged(_ uintptr, w0, w1, w2 uintptr) uintptr {
	report(connectivityHint{level: int32(w0), cost: int32(w1),
		approachingDataLimit: byte(w2), overDataLimit: byte(w2 >> 8), roaming: byte(w2 >> 16)})
	return 0
}
