package crashfs

import (
	"context"
	"math/rand/v2"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

const page = 4096

// State is a file system's content: inodes by number, 1 the root.
type State struct {
	Inodes map[uint64]*Inode
	Next   uint64
}

// Inode is a file, directory or socket.
type Inode struct {
	Mode    uint32 // with the type bits (syscall.S_IFREG, S_IFDIR, S_IFSOCK)
	Data    []byte
	Entries map[string]uint64 // a directory's
}

// NewState is an empty file system.
func NewState() *State {
	return &State{Inodes: map[uint64]*Inode{1: {Mode: syscall.S_IFDIR | 0o755, Entries: map[string]uint64{}}}, Next: 2}
}

// FS is a mounted State with its durability bookkeeping.
type FS struct {
	mu      sync.Mutex
	inodes  map[uint64]*inode
	next    uint64
	pending []nsOp // namespace changes not yet durable, in order
	ops     int64  // mutating operations so far
	crashAt int64  // the operation at which power goes (0: never)
	durable *State // taken at the crash
	crashed chan struct{}
	rng     *rand.Rand
	server  *fuse.Server
}

type inode struct {
	mode    uint32
	data    []byte
	synced  []byte   // the durable content
	pend    []dataOp // written since the last fsync, in order
	entries map[string]uint64
	durable map[string]uint64 // a directory's durable entries
}

// dataOp is a write (or, with trunc, a size change) not yet durable.
type dataOp struct {
	trunc bool
	off   int64
	data  []byte
	size  int64
}

// nsOp is one namespace operation: its entry changes (ino 0: removed) go
// to disk together or not at all.
type nsOp struct{ changes []entryChange }

type entryChange struct {
	dir  uint64
	name string
	ino  uint64
}

// Mount serves st at dir; at mutating operation crashAt (0: never) power
// is lost: Crashed is closed, every later change fails with EIO, and
// Durable gives what survived (chosen with seed).
func Mount(dir string, st *State, crashAt int64, seed uint64) (*FS, error) {
	f := &FS{inodes: map[uint64]*inode{}, next: st.Next, crashAt: crashAt, crashed: make(chan struct{}),
		rng: mountRNG(seed)}
	for n, in := range st.Inodes {
		x := &inode{mode: in.Mode, data: clone(in.Data), synced: clone(in.Data)}
		if in.Entries != nil {
			x.entries, x.durable = map[string]uint64{}, map[string]uint64{}
			for k, v := range in.Entries {
				x.entries[k], x.durable[k] = v, v
			}
		}
		f.inodes[n] = x
	}
	root := &node{fs: f, ino: 1}
	var zero time.Duration // no caching of names or attributes: every process sees the same
	opts := &fs.Options{MountOptions: fuse.MountOptions{FsName: "crashfs", Name: "crashfs", DisableXAttrs: true},
		EntryTimeout: &zero, AttrTimeout: &zero, NegativeTimeout: &zero}
	srv, err := fs.Mount(dir, root, opts)
	if err != nil {
		return nil, err
	}
	f.server = srv
	return f, nil
}

// Unmount ends the mount (the processes using it must be gone).
func (f *FS) Unmount() error { return f.server.Unmount() }

// Crashed is closed when power is lost.
func (f *FS) Crashed() <-chan struct{} { return f.crashed }

// Ops is the number of mutating operations so far.
func (f *FS) Ops() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ops
}

// Durable is the state after the crash (nil before one).
func (f *FS) Durable() *State {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.durable
}

// Now is the state as a clean shutdown leaves it (everything durable).
func (f *FS) Now() *State {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := &State{Inodes: map[uint64]*Inode{}, Next: f.next}
	for n, in := range f.inodes {
		x := &Inode{Mode: in.mode, Data: clone(in.data)}
		if in.entries != nil {
			x.Entries = map[string]uint64{}
			for k, v := range in.entries {
				x.Entries[k] = v
			}
		}
		st.Inodes[n] = x
	}
	return st.reachable()
}

// change counts a mutating operation; false: the power is gone (EIO).
// Caller holds mu.
func (f *FS) change() bool {
	if f.durable != nil {
		return false
	}
	f.ops++
	if f.crashAt > 0 && f.ops >= f.crashAt {
		f.durable = f.lose()
		close(f.crashed)
		return false
	}
	return true
}

// lose builds the surviving state: durable content plus a random subset
// of what was not made durable, in any order. Caller holds mu.
func (f *FS) lose() *State {
	st := &State{Inodes: map[uint64]*Inode{}, Next: f.next}
	for n, in := range f.inodes {
		x := &Inode{Mode: in.mode, Data: clone(in.synced)}
		for _, op := range in.pend {
			if op.trunc {
				if f.rng.IntN(2) == 0 {
					x.Data = resize(x.Data, op.size)
				}
				continue
			}
			// Page by page: any page of a write may reach the disk or not.
			for off := op.off; off < op.off+int64(len(op.data)); {
				end := min((off/page+1)*page, op.off+int64(len(op.data)))
				if f.rng.IntN(2) == 0 {
					if int64(len(x.Data)) < end {
						x.Data = resize(x.Data, end)
					}
					copy(x.Data[off:end], op.data[off-op.off:end-op.off])
				}
				off = end
			}
		}
		if in.durable != nil {
			x.Entries = map[string]uint64{}
			for k, v := range in.durable {
				x.Entries[k] = v
			}
		}
		st.Inodes[n] = x
	}
	for _, op := range f.pending {
		if f.rng.IntN(2) == 0 {
			continue
		}
		for _, c := range op.changes {
			d := st.Inodes[c.dir]
			if d == nil || d.Entries == nil {
				continue
			}
			if c.ino == 0 {
				delete(d.Entries, c.name)
			} else {
				d.Entries[c.name] = c.ino
			}
		}
	}
	return st.reachable()
}

// reachable drops the inodes no directory leads to.
func (st *State) reachable() *State {
	seen := map[uint64]bool{}
	var walk func(uint64)
	walk = func(n uint64) {
		if seen[n] {
			return
		}
		seen[n] = true
		if in := st.Inodes[n]; in != nil {
			for _, c := range in.Entries {
				walk(c)
			}
		}
	}
	walk(1)
	for n := range st.Inodes {
		if !seen[n] {
			delete(st.Inodes, n)
		}
	}
	// Entries naming an inode that does not exist (created, never written
	// down) go too.
	for _, in := range st.Inodes {
		for k, v := range in.Entries {
			if st.Inodes[v] == nil {
				delete(in.Entries, k)
			}
		}
	}
	return st
}

// Files lists the regular files of st by path (for tests' checks).
func (st *State) Files() map[string][]byte {
	out := map[string][]byte{}
	var walk func(uint64, string)
	walk = func(n uint64, p string) {
		in := st.Inodes[n]
		if in == nil {
			return
		}
		names := make([]string, 0, len(in.Entries))
		for k := range in.Entries {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			c := st.Inodes[in.Entries[k]]
			if c == nil {
				continue
			}
			switch c.Mode & syscall.S_IFMT {
			case syscall.S_IFDIR:
				walk(in.Entries[k], p+"/"+k)
			case syscall.S_IFREG:
				out[p+"/"+k] = c.Data
			}
		}
	}
	walk(1, "")
	return out
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

func resize(b []byte, n int64) []byte {
	if int64(len(b)) >= n {
		return b[:n]
	}
	return append(b, make([]byte, n-int64(len(b)))...)
}

// node is one inode as go-fuse sees it.
type node struct {
	fs.Inode
	fs  *FS
	ino uint64
}

var (
	_ fs.NodeGetattrer = (*node)(nil)
	_ fs.NodeSetattrer = (*node)(nil)
	_ fs.NodeOpener    = (*node)(nil)
	_ fs.NodeReader    = (*node)(nil)
	_ fs.NodeWriter    = (*node)(nil)
	_ fs.NodeFsyncer   = (*node)(nil)
	_ fs.NodeFlusher   = (*node)(nil)
	_ fs.NodeCreater   = (*node)(nil)
	_ fs.NodeMkdirer   = (*node)(nil)
	_ fs.NodeMknoder   = (*node)(nil)
	_ fs.NodeUnlinker  = (*node)(nil)
	_ fs.NodeRmdirer   = (*node)(nil)
	_ fs.NodeRenamer   = (*node)(nil)
	_ fs.NodeLookuper  = (*node)(nil)
	_ fs.NodeReaddirer = (*node)(nil)
	_ fs.NodeStatfser  = (*node)(nil)
)

func (n *node) in() *inode { return n.fs.inodes[n.ino] }

func (n *node) attr(out *fuse.Attr) {
	in := n.in()
	out.Ino = n.ino
	out.Mode = in.mode
	out.Size = uint64(len(in.data))
	out.Blocks = (out.Size + 511) / 512
	out.Nlink = 1
	if in.entries != nil {
		out.Nlink = 2
	}
}

func (n *node) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	n.attr(&out.Attr)
	out.SetTimeout(0)
	return 0
}

func (n *node) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	x := n.in()
	if sz, ok := in.GetSize(); ok {
		if !n.fs.change() {
			return syscall.EIO
		}
		x.data = resize(x.data, int64(sz))
		x.pend = append(x.pend, dataOp{trunc: true, size: int64(sz)})
	}
	if m, ok := in.GetMode(); ok {
		x.mode = x.mode&syscall.S_IFMT | m&0o7777
	}
	n.attr(&out.Attr)
	out.SetTimeout(0)
	return 0
}

func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if flags&syscall.O_TRUNC != 0 {
		n.fs.mu.Lock()
		defer n.fs.mu.Unlock()
		if !n.fs.change() {
			return nil, 0, syscall.EIO
		}
		x := n.in()
		x.data = nil
		x.pend = append(x.pend, dataOp{trunc: true})
	}
	return nil, 0, 0
}

func (n *node) Read(ctx context.Context, fh fs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	d := n.in().data
	off = min(off, int64(len(d)))
	end := min(off+int64(len(dest)), int64(len(d)))
	return fuse.ReadResultData(clone(d[off:end])), 0
}

func (n *node) Write(ctx context.Context, fh fs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if !n.fs.change() {
		return 0, syscall.EIO
	}
	x := n.in()
	if end := off + int64(len(data)); int64(len(x.data)) < end {
		x.data = resize(x.data, end)
	}
	copy(x.data[off:], data)
	x.pend = append(x.pend, dataOp{off: off, data: clone(data)})
	return uint32(len(data)), 0
}

// Fsync makes a file's content, or a directory's entries, durable.
func (n *node) Fsync(ctx context.Context, fh fs.FileHandle, flags uint32) syscall.Errno {
	f := n.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.change() {
		return syscall.EIO
	}
	x := n.in()
	x.synced, x.pend = clone(x.data), nil
	if x.entries != nil {
		x.durable = map[string]uint64{}
		for k, v := range x.entries {
			x.durable[k] = v
		}
		// This directory's side of pending operations is on disk now.
		kept := f.pending[:0]
		for _, op := range f.pending {
			var rest []entryChange
			for _, c := range op.changes {
				if c.dir != n.ino {
					rest = append(rest, c)
				}
			}
			if len(rest) > 0 {
				kept = append(kept, nsOp{changes: rest})
			}
		}
		f.pending = kept
	}
	return 0
}

func (n *node) Flush(ctx context.Context, fh fs.FileHandle) syscall.Errno { return 0 }

func (n *node) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	out.Bsize, out.Frsize = page, page
	out.Blocks, out.Bfree, out.Bavail = 1<<24, 1<<23, 1<<23
	out.Files, out.Ffree = 1<<20, 1<<19
	out.NameLen = 255
	return 0
}

// add makes a new inode named name in n. Caller holds mu.
func (n *node) add(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	f := n.fs
	if _, ok := n.in().entries[name]; ok {
		return nil, syscall.EEXIST
	}
	if !f.change() {
		return nil, syscall.EIO
	}
	id := f.next
	f.next++
	x := &inode{mode: mode}
	if mode&syscall.S_IFMT == syscall.S_IFDIR {
		x.entries, x.durable = map[string]uint64{}, map[string]uint64{}
	}
	f.inodes[id] = x
	n.in().entries[name] = id
	f.pending = append(f.pending, nsOp{changes: []entryChange{{dir: n.ino, name: name, ino: id}}})
	c := &node{fs: f, ino: id}
	c.attr(&out.Attr)
	out.SetEntryTimeout(0)
	out.SetAttrTimeout(0)
	return n.NewInode(ctx, c, fs.StableAttr{Mode: mode & syscall.S_IFMT, Ino: id}), 0
}

func (n *node) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	ch, errno := n.add(ctx, name, syscall.S_IFREG|mode&0o7777, out)
	return ch, nil, 0, errno
}

func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	return n.add(ctx, name, syscall.S_IFDIR|mode&0o7777, out)
}

func (n *node) Mknod(ctx context.Context, name string, mode uint32, dev uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	return n.add(ctx, name, mode, out)
}

func (n *node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	id, ok := n.in().entries[name]
	if !ok {
		return nil, syscall.ENOENT
	}
	c := &node{fs: n.fs, ino: id}
	c.attr(&out.Attr)
	out.SetEntryTimeout(0)
	out.SetAttrTimeout(0)
	return n.NewInode(ctx, c, fs.StableAttr{Mode: n.fs.inodes[id].mode & syscall.S_IFMT, Ino: id}), 0
}

func (n *node) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	var list []fuse.DirEntry
	for k, v := range n.in().entries {
		list = append(list, fuse.DirEntry{Name: k, Ino: v, Mode: n.fs.inodes[v].mode})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	return fs.NewListDirStream(list), 0
}

func (n *node) remove(name string, dir bool) syscall.Errno {
	f := n.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := n.in().entries[name]
	if !ok {
		return syscall.ENOENT
	}
	if c := f.inodes[id]; dir && len(c.entries) > 0 {
		return syscall.ENOTEMPTY
	}
	if !f.change() {
		return syscall.EIO
	}
	delete(n.in().entries, name)
	f.pending = append(f.pending, nsOp{changes: []entryChange{{dir: n.ino, name: name}}})
	return 0
}

func (n *node) Unlink(ctx context.Context, name string) syscall.Errno { return n.remove(name, false) }
func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno  { return n.remove(name, true) }

func (n *node) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	f := n.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	to := newParent.(*node)
	id, ok := n.in().entries[name]
	if !ok {
		return syscall.ENOENT
	}
	if flags != 0 {
		return syscall.EINVAL // RENAME_NOREPLACE and RENAME_EXCHANGE are not modelled
	}
	if !f.change() {
		return syscall.EIO
	}
	delete(n.in().entries, name)
	to.in().entries[newName] = id
	f.pending = append(f.pending, nsOp{changes: []entryChange{{dir: n.ino, name: name}, {dir: to.ino, name: newName, ino: id}}})
	return 0
}

func mountRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

// Arm sets the crash point at n operations from now (0: never).
func (f *FS) Arm(n int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.crashAt = 0
	if n > 0 {
		f.crashAt = f.ops + n
	}
}

// lossWith is the state a crash now would leave, chosen with seed (tests).
func (f *FS) lossWith(seed uint64) *State {
	f.mu.Lock()
	defer f.mu.Unlock()
	rng := f.rng
	defer func() { f.rng = rng }()
	f.rng = mountRNG(seed)
	return f.lose()
}
