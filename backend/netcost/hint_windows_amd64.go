package netcost

// hintChanged is PNETWORK_CONNECTIVITY_HINT_CHANGE_CALLBACK. On x64 a
// 12-byte struct passed by value arrives as a pointer to the caller's copy.
func hintChanged(_ uintptr, hint *connectivityHint) uintptr {
	report(*hint)
	return 0
}
