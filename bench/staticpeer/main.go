// Command staticpeer serves a directory with the standard library's
// http.FileServer: the floor against which the foundation benchmarks
// (issue #2) compare Tansa's console pages on the same machine.
//
//	staticpeer -dir /tmp/static -listen 127.0.0.1:18092
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	if err := run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "staticpeer:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("staticpeer", flag.ContinueOnError)
	dir := fs.String("dir", "", "`directory` to serve (required)")
	listen := fs.String("listen", "127.0.0.1:18092", "listen `address`")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("-dir is required")
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	fmt.Printf("staticpeer is listening on http://%s\n", ln.Addr())
	srv := &http.Server{Handler: http.FileServer(http.Dir(*dir)), ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(ln)
}
