package render

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// forEach runs every call, and its error is the lowest index's whatever
// order the calls finish in, so a site with two broken CSV files always
// names the same one.
func TestForEachRunsEveryCallAndReturnsTheFirstError(t *testing.T) {
	for range 20 {
		var calls atomic.Int64
		seen := make([]bool, 50)
		err := forEach(len(seen), func(i int) error {
			calls.Add(1)
			seen[i] = true
			if i == 7 || i == 31 {
				return fmt.Errorf("call %d", i)
			}
			return nil
		})
		require.EqualError(t, err, "call 7")
		require.EqualValues(t, 50, calls.Load())
		require.NotContains(t, seen, false)
	}
	require.NoError(t, forEach(0, func(int) error { return fmt.Errorf("never called") }))
}
