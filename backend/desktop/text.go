package desktop

import (
	"fmt"
	"strings"

	"ferry/backend/bits"
)

// JobName is the name people know a job by.
func JobName(j bits.JobInfo) string {
	if n := strings.TrimSpace(j.DisplayName); n != "" {
		return n
	}
	if len(j.ID) >= 8 {
		return "Job " + j.ID[:8]
	}
	return "Job " + j.ID
}

// FormatSize prints a byte count in decimal units: "512 B", "3.4 MB".
func FormatSize(n float64) string {
	if n < 1000 {
		return fmt.Sprintf("%d B", int64(n))
	}
	units := []string{"kB", "MB", "GB", "TB", "PB"}
	u := -1
	for n >= 1000 && u < len(units)-1 {
		n /= 1000
		u++
	}
	return fmt.Sprintf("%.1f %s", n, units[u])
}
