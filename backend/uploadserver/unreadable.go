package uploadserver

import (
	"errors"
	"io/fs"
	"path"
	"strings"
)

// unreadableDir, below the state directory, keeps the files of session
// records that could not be read, so that nothing a client sent is deleted
// on a guess.
const unreadableDir = "unreadable"

// Unreadable lists the session records set aside when the server started.
func (s *Server) Unreadable() []SetAside {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SetAside(nil), s.setAside...)
}

// setAsideSession moves every file of session key (KEY.json, KEY.part, …)
// into the unreadable directory and records why. An error means the files
// are still where they were.
func (s *Server) setAsideSession(key string, entries []fs.DirEntry, why error) error {
	var errs []error
	if err := s.state.Mkdir(unreadableDir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		errs = append(errs, err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), key+".") {
			if err := s.state.Rename(e.Name(), path.Join(unreadableDir, e.Name())); err != nil {
				errs = append(errs, err)
			}
		}
	}
	dir := path.Join(s.cfg.Dir, StateDirName, unreadableDir)
	err := errors.Join(errs...)
	if err != nil {
		s.log.Error("could not move an unreadable upload session aside; its files stay where they are", "session", key, "err", err)
		dir = path.Join(s.cfg.Dir, StateDirName)
	}
	s.log.Warn("an upload session record could not be used; set aside (the client starts a new session)",
		"session", key, "reason", why.Error(), "dir", dir)
	s.setAside = append(s.setAside, SetAside{Key: key, Reason: why.Error(), Dir: dir})
	return err
}
