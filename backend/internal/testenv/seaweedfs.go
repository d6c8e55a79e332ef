package testenv

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// SeaweedFS is a running `weed server -s3`: an S3 gateway on loopback over
// a master, a volume server and a filer, all keeping their data in one
// temporary directory.
type SeaweedFS struct {
	Endpoint string // "http://127.0.0.1:PORT"
	Bucket   string
	Client   *s3.Client // path-style, for the test's own checks
	d        *daemon
}

// Credentials that the gateway, configured without identities, accepts
// like any other; set them in the environment of servers under test.
const (
	SeaweedAccessKey = "ferrytest"
	SeaweedSecretKey = "ferrytestsecret"
)

// WeedBinary finds the weed that `make tools` builds into .tools (or
// $FERRY_WEED).
func WeedBinary() (string, error) {
	if p := os.Getenv("FERRY_WEED"); p != "" {
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if m, _ := filepath.Glob(filepath.Join(dir, ".tools", "seaweedfs-*", "weed")); len(m) > 0 {
			return m[len(m)-1], nil
		}
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", errors.New("testenv: SeaweedFS (weed) is not built; run `make tools` (or set FERRY_WEED)")
}

// StartSeaweedFS starts a SeaweedFS server with its data in dir and creates
// bucket. Stop ends it. It does not need a testing.TB, so that a TestMain
// can share one server among a package's tests.
func StartSeaweedFS(dir, bucket string) (*SeaweedFS, error) {
	bin, err := WeedBinary()
	if err != nil {
		return nil, err
	}
	var out []string
	for attempt := 0; attempt < 3; attempt++ {
		ports, err := freePorts(4)
		if err != nil {
			return nil, err
		}
		data := filepath.Join(dir, fmt.Sprintf("weed-%d", attempt))
		if err := os.MkdirAll(data, 0o755); err != nil {
			return nil, err
		}
		// The gRPC ports are the HTTP ports + 10000: pick below 55536.
		argv := []string{bin, "server", "-dir=" + data, "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
			fmt.Sprintf("-master.port=%d", ports[0]), fmt.Sprintf("-volume.port=%d", ports[1]),
			fmt.Sprintf("-filer.port=%d", ports[2]), "-s3", fmt.Sprintf("-s3.port=%d", ports[3]),
			"-master.volumeSizeLimitMB=256", "-volume.max=64"}
		d := &daemon{cmd: exec.Command(argv[0], argv[1:]...), out: &syncBuffer{}, done: make(chan struct{})}
		d.cmd.Dir = data
		d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
		d.cmd.SysProcAttr = procAttr()
		if err := d.cmd.Start(); err != nil {
			return nil, fmt.Errorf("testenv: start weed: %w", err)
		}
		go func() { _ = d.cmd.Wait(); close(d.done) }()
		w := &SeaweedFS{Endpoint: fmt.Sprintf("http://127.0.0.1:%d", ports[3]), Bucket: bucket, d: d}
		w.Client = s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(w.Endpoint), UsePathStyle: true,
			Credentials: credentials.NewStaticCredentialsProvider(SeaweedAccessKey, SeaweedSecretKey, ""),
			HTTPClient:  &http.Client{Timeout: 30 * time.Second}})
		if err := w.waitReady(d); err == nil {
			return w, nil
		} else {
			out = append(out, fmt.Sprintf("%v\n%s", err, d.out.String()))
		}
		d.stop()
	}
	return nil, fmt.Errorf("testenv: weed failed to start 3 times:\n%s", strings.Join(out, "\n---\n"))
}

func freePorts(n int) ([]int, error) {
	var ports []int
	for len(ports) < n {
		p, err := freePortNoTB()
		if err != nil {
			return nil, err
		}
		if p < 55536 && !containsInt(ports, p) {
			ports = append(ports, p)
		}
	}
	return ports, nil
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// waitReady creates the bucket as soon as the gateway takes it (the
// filer behind it starts after the port opens).
func (w *SeaweedFS) waitReady(d *daemon) error {
	deadline := time.Now().Add(60 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-d.done:
			return errors.New("weed exited")
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := w.Client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(w.Bucket)})
		cancel()
		if err == nil || strings.Contains(err.Error(), "BucketAlreadyExists") || strings.Contains(err.Error(), "BucketAlreadyOwnedByYou") {
			return nil
		}
		last = err
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("the S3 gateway did not take a bucket within 60 s: %v", last)
}

// Stop ends the server.
func (w *SeaweedFS) Stop() { w.d.stop() }

// Output is what the server printed.
func (w *SeaweedFS) Output() string { return w.d.out.String() }

// Env is the environment a server under test needs to reach the gateway.
func (w *SeaweedFS) Env() []string {
	return []string{"AWS_ENDPOINT_URL_S3=" + w.Endpoint, "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=" + SeaweedAccessKey, "AWS_SECRET_ACCESS_KEY=" + SeaweedSecretKey,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true"}
}

// MultipartUploads lists the unfinished multipart uploads in the bucket.
func (w *SeaweedFS) MultipartUploads(ctx context.Context) ([]string, error) {
	out, err := w.Client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(w.Bucket)})
	if err != nil {
		return nil, err
	}
	var ups []string
	for _, u := range out.Uploads {
		ups = append(ups, aws.ToString(u.Key)+" "+aws.ToString(u.UploadId))
	}
	return ups, nil
}

// Keys lists the keys below prefix.
func (w *SeaweedFS) Keys(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	p := s3.NewListObjectsV2Paginator(w.Client, &s3.ListObjectsV2Input{Bucket: aws.String(w.Bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys, nil
}
