package store

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"ferry/backend/bits"
	"ferry/backend/internal/durable"
)

// Kinds of set-aside records.
const (
	KindJob     = "job"     // a job row, or one of its file rows, could not be read
	KindSetting = "setting" // a setting's value is not valid
)

// QuarantineDirName is the directory beside the database that keeps a copy
// of each record set aside.
const QuarantineDirName = "quarantine"

// SetAside is a record the store could not read. It is out of the live
// tables, so that it stops no one: its raw bytes stay in the quarantine
// table and in a copy in FERRY_HOME/quarantine (mode 0600).
type SetAside struct {
	Kind   string    `json:"kind"`
	Key    string    `json:"key"`    // the job id or the setting key
	Reason string    `json:"reason"` // why it could not be read
	Copy   string    `json:"copy"`   // the copy's path; "" if it could not be written
	Time   time.Time `json:"time"`
}

// rawRow is one row as stored: its text when it is UTF-8, else its bytes
// (base64 in JSON), so that a copy keeps every byte.
type rawRow struct {
	Name   string `json:"name,omitempty"` // file index, secret or setting name
	Text   string `json:"text,omitempty"`
	Base64 []byte `json:"base64,omitempty"`
}

func raw(name string, b []byte) rawRow {
	if utf8.Valid(b) {
		return rawRow{Name: name, Text: string(b)}
	}
	return rawRow{Name: name, Base64: b}
}

// quarantineRecord is what the copy file and the quarantine table hold.
type quarantineRecord struct {
	SetAside
	Seq     int64    `json:"seq,omitempty"`
	Row     *rawRow  `json:"row,omitempty"`     // the job row or the setting value
	Files   []rawRow `json:"files,omitempty"`   // a job's file rows
	Secrets []rawRow `json:"secrets,omitempty"` // a job's sealed secrets (never plain)
}

// SetAside lists the records set aside since the store was opened.
func (s *Store) SetAside() []SetAside {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	return append([]SetAside(nil), s.setAside...)
}

// SetAsideSetting moves a setting whose value is not valid out of the live
// table (the engine validates settings; the store only keeps them).
func (s *Store) SetAsideSetting(key, value, reason string) error {
	rec := &quarantineRecord{SetAside: SetAside{Kind: KindSetting, Key: key, Reason: reason}, Row: ptr(raw(key, []byte(value)))}
	return s.quarantine(rec, func(tx *sql.Tx) error {
		_, err := tx.Exec(`DELETE FROM settings WHERE key = ?`, key)
		return err
	})
}

// setAsideJob moves a job, its files and its secrets out of the live tables.
func (s *Store) setAsideJob(id string, seq int64, row []byte, files []rawRow, reason string) error {
	rec := &quarantineRecord{SetAside: SetAside{Kind: KindJob, Key: id, Reason: reason}, Seq: seq, Row: ptr(raw("", row)), Files: files}
	rows, err := s.db.Query(`SELECT name, sealed FROM secrets WHERE job_id = ?`, id)
	if err == nil {
		for rows.Next() {
			var n string
			var b []byte
			if rows.Scan(&n, &b) == nil {
				rec.Secrets = append(rec.Secrets, rawRow{Name: n, Base64: b})
			}
		}
		rows.Close()
	}
	return s.quarantine(rec, func(tx *sql.Tx) error {
		// Files and secrets follow by ON DELETE CASCADE.
		_, err := tx.Exec(`DELETE FROM jobs WHERE id = ?`, id)
		return err
	})
}

func ptr[T any](v T) *T { return &v }

// quarantine writes the copy, then moves the record in one transaction. A
// copy that cannot be written does not stop the move (the quarantine table
// keeps the bytes); a move that fails leaves the row where it was, and the
// record is still reported and skipped, so that the engine starts.
func (s *Store) quarantine(rec *quarantineRecord, remove func(*sql.Tx) error) error {
	rec.Time = time.Now().UTC()
	var errs []error
	if p, err := s.writeCopy(rec); err != nil {
		errs = append(errs, err)
	} else {
		rec.Copy = p
	}
	doc, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("set aside %s %s: %w", rec.Kind, rec.Key, err)
	}
	err = s.inTx(func(tx *sql.Tx) error {
		if _, err := tx.Exec(`INSERT INTO quarantine(kind, key, at, record) VALUES(?,?,?,?)`,
			rec.Kind, rec.Key, rec.Time.Format(time.RFC3339Nano), string(doc)); err != nil {
			return err
		}
		return remove(tx)
	})
	if err != nil {
		errs = append(errs, fmt.Errorf("move %s %s out of the live tables: %w", rec.Kind, rec.Key, err))
	}
	s.qmu.Lock()
	s.setAside = append(s.setAside, rec.SetAside)
	s.qmu.Unlock()
	return errors.Join(errs...)
}

func (s *Store) inTx(f func(*sql.Tx) error) error {
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// writeCopy writes rec to FERRY_HOME/quarantine/<kind>-<key>-<time>.json.
func (s *Store) writeCopy(rec *quarantineRecord) (string, error) {
	dir := filepath.Join(filepath.Dir(s.path), QuarantineDirName)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("quarantine directory: %w", err)
	}
	doc, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return "", err
	}
	name := fmt.Sprintf("%s-%s-%s.json", rec.Kind, safeName(rec.Key), rec.Time.Format("20060102T150405.000000000Z"))
	p := filepath.Join(dir, name)
	if err := durable.WriteFile(p, append(doc, '\n'), 0o600); err != nil {
		return "", err
	}
	return p, nil
}

// safeName keeps a key usable in a file name (ids are GUIDs; a corrupt
// database may hold anything).
func safeName(k string) string {
	k = strings.Map(func(r rune) rune {
		if r == '-' || r == '.' || r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, k)
	if len(k) > 64 {
		k = k[:64]
	}
	if k == "" {
		k = "_"
	}
	return k
}

// checkJob refuses a job that decoded but cannot be right: a sign of a
// damaged row rather than of a state the engine could have written. Only
// impossible values count: a false alarm would set a good job aside.
func checkJob(id string, j *bits.Job) error {
	switch {
	case j.ID != id:
		return fmt.Errorf("the row of job %s holds job %q", id, j.ID)
	case j.Upload != nil && (j.Upload.Acked < 0 || j.Upload.ReplyTransferred < 0):
		return fmt.Errorf("upload session record: negative offset (%d acknowledged, %d reply bytes)", j.Upload.Acked, j.Upload.ReplyTransferred)
	}
	return nil
}

func checkFile(idx int, f *bits.File) error {
	if f.BytesTransferred < 0 {
		return fmt.Errorf("file %d: %d bytes transferred", idx, f.BytesTransferred)
	}
	return nil
}
