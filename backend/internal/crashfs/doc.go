// Package crashfs is a FUSE file system for power-cut tests: it keeps what
// was made durable apart from what was only written, and at a chosen
// operation it "loses power": the state that survives is what fsync made
// durable plus any subset of the rest, in any order (a later write may
// survive where an earlier unsynced one did not, a write may survive in
// part, page by page).
//
// The rules it holds a program to, which POSIX and Linux file systems
// promise and no more:
//   - fsync of a file makes its data and size durable, not its name;
//   - fsync of a directory makes its entries (creates, unlinks, renames into
//     or out of it) durable;
//   - a rename is atomic (in each directory it touches);
//   - syncfs and sync are not seen by a FUSE server (the kernel sends them
//     to virtiofs only), so they make nothing durable here, as on any FUSE
//     file system.
//
// Everything lives in memory. Mount serves a state; after a crash, Durable
// gives the state a reboot would find, to Mount again.
package crashfs
