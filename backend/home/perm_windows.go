package home

// tighten is a no-op on Windows: a directory below the user's profile
// inherits an ACL that admits only the user, SYSTEM and administrators.
func tighten(string) error { return nil }
