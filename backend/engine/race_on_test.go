//go:build race

package engine

// raceEnabled: the race detector slows the engine several times, so bytes
// pile up in socket buffers at each kill (bytes no resume can save).
const raceEnabled = true
