//go:build race

package api

// raceEnabled: the race detector makes every operation some 20 times
// slower; the load test then runs a tenth of its operations (make test runs
// it in full without the detector too: the load target).
const raceEnabled = true
