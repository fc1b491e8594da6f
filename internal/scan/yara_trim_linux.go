//go:build yara && linux

package scan

/*
#include <malloc.h>
*/
import "C"

// freeCHeap gives the memory libyara has freed (destroyed compilers and
// rules) back to the operating system; glibc's allocator otherwise keeps
// it for later allocations, and the sweep's resident size would count it.
func freeCHeap() { C.malloc_trim(0) }
