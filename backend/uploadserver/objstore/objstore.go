// Package objstore is the narrow view of an object store that the upload
// server's fleet mode needs: whole objects with conditional writes, listing,
// and multipart uploads. Its one implementation is S3 (any S3-compatible
// gateway); the interface keeps the protocol code free of the SDK.
package objstore

import (
	"context"
	"errors"
	"io"
	"time"
)

// Errors an implementation reports (wrapped) for the protocol code to test
// with errors.Is.
var (
	// ErrNotFound: no such object, or no such multipart upload.
	ErrNotFound = errors.New("not found")
	// ErrPrecondition: a conditional write lost (If-Match or If-None-Match).
	ErrPrecondition = errors.New("precondition failed")
)

// Object describes a stored object.
type Object struct {
	Key      string
	Size     int64
	ETag     string
	Modified time.Time
	// Tag is what the writer tagged the object with (Put, CreateMultipart);
	// set by Stat only.
	Tag string
}

// Cond makes a write conditional. The zero value writes unconditionally.
type Cond struct {
	IfMatch     string // write only over the object with this ETag
	IfNoneMatch bool   // write only if no object has the key
}

// Part is a finished part of a multipart upload.
type Part struct {
	N    int32  `json:"n"`
	ETag string `json:"etag"`
	Size int64  `json:"size"`
}

// Upload is an unfinished multipart upload.
type Upload struct {
	Key, ID   string
	Initiated time.Time
}

// Store is an object store below one bucket and prefix: every key is
// relative to the prefix.
type Store interface {
	// Get opens an object; Object.ETag is the version read.
	Get(ctx context.Context, key string) (io.ReadCloser, Object, error)
	// Stat describes an object without reading it.
	Stat(ctx context.Context, key string) (Object, error)
	// Put stores size bytes of body as key, tagged with tag, if cond
	// holds; it returns the new ETag. The object exists, whole, once Put
	// returns nil.
	Put(ctx context.Context, key string, body io.Reader, size int64, tag string, cond Cond) (string, error)
	// Delete removes an object; a missing one is no error.
	Delete(ctx context.Context, key string) error
	// List lists the objects whose keys start with prefix.
	List(ctx context.Context, prefix string) ([]Object, error)

	// CreateMultipart starts a multipart upload of key, tagged with tag.
	CreateMultipart(ctx context.Context, key, tag string) (id string, err error)
	// UploadPart stores part n (1-10000) of an upload; every part but the
	// last must be at least MinPart bytes.
	UploadPart(ctx context.Context, key, id string, n int32, body io.Reader, size int64) (etag string, err error)
	// CompleteMultipart makes key of the parts, in order (ifNoneMatch:
	// only if key does not exist; ErrPrecondition otherwise).
	CompleteMultipart(ctx context.Context, key, id string, parts []Part, ifNoneMatch bool) error
	// AbortMultipart drops an upload and its parts; an unknown one is no error.
	AbortMultipart(ctx context.Context, key, id string) error
	// ListMultipart lists the unfinished uploads of keys starting with prefix.
	ListMultipart(ctx context.Context, prefix string) ([]Upload, error)

	// String names the store for logs ("s3://bucket/prefix").
	String() string
}

// S3's limits on multipart uploads.
const (
	MinPart  = 5 << 20 // every part but the last
	MaxPart  = 5 << 30
	MaxParts = 10000
)
