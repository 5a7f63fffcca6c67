// Package failpoint stops the process with SIGKILL at a named point when
// the environment variable CRMWH_FAILPOINT names it ("publish.before-rename",
// or "lake.write:3" for its third pass), so that crash tests can kill a
// real process at an exact place. The lake's points are listed by
// lake.Failpoints, the warehouse publish's by Points. A point costs one
// comparison when the variable is unset.
package failpoint

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"
)

var (
	name string
	at   int64 = 1
	hits atomic.Int64
)

func init() {
	v := os.Getenv("CRMWH_FAILPOINT")
	if v == "" {
		return
	}
	n, count, found := strings.Cut(v, ":")
	name = n
	if found {
		var k int64
		if _, err := fmt.Sscan(count, &k); err == nil && k > 0 {
			at = k
		}
	}
}

// Points lists the points of a warehouse publish (duckdb.Publish).
var Points = []string{"publish.start", "publish.before-prev", "publish.before-rename", "publish.after-rename"}

// Hit kills the process when CRMWH_FAILPOINT names this point and this is
// the pass it names.
func Hit(point string) {
	if name == "" || name != point {
		return
	}
	if hits.Add(1) == at {
		if p, err := os.FindProcess(os.Getpid()); err == nil {
			_ = p.Kill()
		}
		select {} // Kill is asynchronous; never go on past the point.
	}
}
