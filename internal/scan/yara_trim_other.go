//go:build yara && !linux

package scan

// freeCHeap does nothing where the C library has no malloc_trim; the
// memory libyara freed is reused by its later allocations.
func freeCHeap() {}
