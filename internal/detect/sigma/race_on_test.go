//go:build race

package sigma

// raceEnabled makes slow oracle tests sample: the race detector multiplies
// the cost of the third-party engine they call tenfold.
const raceEnabled = true
