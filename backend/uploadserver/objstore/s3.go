package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// S3Options configure OpenS3 beyond what the AWS environment says.
type S3Options struct {
	// PathStyle addresses buckets as http://host/BUCKET (gateways such as
	// SeaweedFS and MinIO) rather than http://BUCKET.host.
	PathStyle bool
	// HTTPClient, if set, carries the requests (nil: the SDK's).
	HTTPClient *http.Client
}

// S3 is a Store in an S3 bucket below a prefix.
type S3 struct {
	c              *s3.Client
	bucket, prefix string
}

// ParseURL splits "s3://BUCKET/PREFIX" into the bucket and the prefix
// (empty, or ending in "/").
func ParseURL(raw string) (bucket, prefix string, err error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "s3" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", "", fmt.Errorf("%q is not s3://BUCKET/PREFIX", raw)
	}
	prefix = strings.Trim(u.Path, "/")
	if prefix != "" {
		prefix += "/"
	}
	return u.Host, prefix, nil
}

// OpenS3 opens the store at raw ("s3://BUCKET/PREFIX"). The endpoint,
// region and credentials come from the environment and the shared config
// files as for every AWS tool (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL,
// AWS_REGION, AWS_ACCESS_KEY_ID, AWS_PROFILE, ~/.aws/config, ...).
func OpenS3(ctx context.Context, raw string, o S3Options) (*S3, error) {
	bucket, prefix, err := ParseURL(raw)
	if err != nil {
		return nil, err
	}
	var opts []func(*config.LoadOptions) error
	if o.HTTPClient != nil {
		opts = append(opts, config.WithHTTPClient(o.HTTPClient))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("objstore: AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		// Gateways ignore it, but the signer needs one.
		cfg.Region = "us-east-1"
	}
	c := s3.NewFromConfig(cfg, func(so *s3.Options) {
		so.UsePathStyle = o.PathStyle
		// Checksums only where S3 requires them: fragment bodies are
		// streamed (not seekable), and not every gateway takes the
		// aws-chunked trailers the default would send.
		so.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		so.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		// A streamed body is signed as UNSIGNED-PAYLOAD: the alternative
		// is to buffer every fragment to hash it first.
		so.APIOptions = append(so.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
	})
	return &S3{c: c, bucket: bucket, prefix: prefix}, nil
}

func (s *S3) String() string { return "s3://" + s.bucket + "/" + s.prefix }

func (s *S3) key(k string) *string { return aws.String(s.prefix + k) }

// mapErr turns the S3 errors the protocol code tests for into ErrNotFound
// and ErrPrecondition.
func mapErr(op, key string, err error) error {
	if err == nil {
		return nil
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound", "NoSuchUpload":
			return fmt.Errorf("%s %s: %w (%v)", op, key, ErrNotFound, err)
		case "PreconditionFailed", "ConditionalRequestConflict":
			return fmt.Errorf("%s %s: %w (%v)", op, key, ErrPrecondition, err)
		}
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		switch re.HTTPStatusCode() {
		case http.StatusNotFound:
			return fmt.Errorf("%s %s: %w (%v)", op, key, ErrNotFound, err)
		case http.StatusPreconditionFailed:
			return fmt.Errorf("%s %s: %w (%v)", op, key, ErrPrecondition, err)
		}
	}
	return fmt.Errorf("%s %s: %w", op, key, err)
}

func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, Object, error) {
	out, err := s.c.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: s.key(key)})
	if err != nil {
		return nil, Object{}, mapErr("get", key, err)
	}
	o := Object{Key: key, Size: aws.ToInt64(out.ContentLength), ETag: aws.ToString(out.ETag)}
	if out.LastModified != nil {
		o.Modified = *out.LastModified
	}
	return out.Body, o, nil
}

func (s *S3) Stat(ctx context.Context, key string) (Object, error) {
	out, err := s.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: s.key(key)})
	if err != nil {
		return Object{}, mapErr("stat", key, err)
	}
	o := Object{Key: key, Size: aws.ToInt64(out.ContentLength), ETag: aws.ToString(out.ETag), Tag: out.Metadata[tagKey]}
	if out.LastModified != nil {
		o.Modified = *out.LastModified
	}
	return o, nil
}

// tagKey is the user metadata (x-amz-meta-ferry-tag) that carries a tag.
const tagKey = "ferry-tag"

func tagMeta(tag string) map[string]string {
	if tag == "" {
		return nil
	}
	return map[string]string{tagKey: tag}
}

func (s *S3) Put(ctx context.Context, key string, body io.Reader, size int64, tag string, cond Cond) (string, error) {
	in := &s3.PutObjectInput{Bucket: &s.bucket, Key: s.key(key), Body: body, ContentLength: aws.Int64(size), Metadata: tagMeta(tag)}
	if cond.IfMatch != "" {
		in.IfMatch = aws.String(cond.IfMatch)
	}
	if cond.IfNoneMatch {
		in.IfNoneMatch = aws.String("*")
	}
	out, err := s.c.PutObject(ctx, in)
	if err != nil {
		return "", mapErr("put", key, err)
	}
	return aws.ToString(out.ETag), nil
}

func (s *S3) Delete(ctx context.Context, key string) error {
	_, err := s.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: s.key(key)})
	if err = mapErr("delete", key, err); errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

func (s *S3) List(ctx context.Context, prefix string) ([]Object, error) {
	var out []Object
	p := s3.NewListObjectsV2Paginator(s.c, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: s.key(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, mapErr("list", prefix, err)
		}
		for _, o := range page.Contents {
			k := strings.TrimPrefix(aws.ToString(o.Key), s.prefix)
			obj := Object{Key: k, Size: aws.ToInt64(o.Size), ETag: aws.ToString(o.ETag)}
			if o.LastModified != nil {
				obj.Modified = *o.LastModified
			}
			out = append(out, obj)
		}
	}
	return out, nil
}

func (s *S3) CreateMultipart(ctx context.Context, key, tag string) (string, error) {
	out, err := s.c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &s.bucket, Key: s.key(key), Metadata: tagMeta(tag)})
	if err != nil {
		return "", mapErr("create multipart upload", key, err)
	}
	return aws.ToString(out.UploadId), nil
}

func (s *S3) UploadPart(ctx context.Context, key, id string, n int32, body io.Reader, size int64) (string, error) {
	out, err := s.c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &s.bucket, Key: s.key(key), UploadId: &id,
		PartNumber: aws.Int32(n), Body: body, ContentLength: aws.Int64(size)})
	if err != nil {
		return "", mapErr(fmt.Sprintf("upload part %d of", n), key, err)
	}
	return aws.ToString(out.ETag), nil
}

func (s *S3) CompleteMultipart(ctx context.Context, key, id string, parts []Part, ifNoneMatch bool) error {
	cp := make([]types.CompletedPart, len(parts))
	for i, p := range parts {
		cp[i] = types.CompletedPart{PartNumber: aws.Int32(p.N), ETag: aws.String(p.ETag)}
	}
	in := &s3.CompleteMultipartUploadInput{Bucket: &s.bucket, Key: s.key(key), UploadId: &id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: cp}}
	if ifNoneMatch {
		in.IfNoneMatch = aws.String("*")
	}
	_, err := s.c.CompleteMultipartUpload(ctx, in)
	return mapErr("complete multipart upload", key, err)
}

func (s *S3) AbortMultipart(ctx context.Context, key, id string) error {
	_, err := s.c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: s.key(key), UploadId: &id})
	if err = mapErr("abort multipart upload", key, err); errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

func (s *S3) ListMultipart(ctx context.Context, prefix string) ([]Upload, error) {
	var out []Upload
	in := &s3.ListMultipartUploadsInput{Bucket: &s.bucket, Prefix: s.key(prefix)}
	for {
		page, err := s.c.ListMultipartUploads(ctx, in)
		if err != nil {
			return nil, mapErr("list multipart uploads", prefix, err)
		}
		for _, u := range page.Uploads {
			up := Upload{Key: strings.TrimPrefix(aws.ToString(u.Key), s.prefix), ID: aws.ToString(u.UploadId)}
			if u.Initiated != nil {
				up.Initiated = *u.Initiated
			}
			out = append(out, up)
		}
		if !aws.ToBool(page.IsTruncated) {
			break
		}
		in.KeyMarker, in.UploadIdMarker = page.NextKeyMarker, page.NextUploadIdMarker
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Initiated.Before(out[j].Initiated) })
	return out, nil
}
