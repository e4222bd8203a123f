// Command idleconns opens keep-alive connections to an HTTP server, sends
// one GET on each and reads its answer, then keeps them all open and idle
// for a while: what a proxy holds per idle keep-alive client connection is
// its memory then, less its memory before.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "host:port to connect to")
	n := flag.Int("n", 2000, "connections")
	hold := flag.Duration("hold", 10*time.Second, "how long to keep them open and idle")
	flag.Parse()
	conns := make([]net.Conn, 0, *n)
	for i := 0; i < *n; i++ {
		c, err := net.Dial("tcp", *addr)
		if err != nil {
			log.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
		if _, err := fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", *addr); err != nil {
			log.Fatalf("connection %d: %v", i, err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			log.Fatalf("connection %d: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.Close {
			log.Fatalf("connection %d: the server closes it after one answer", i)
		}
	}
	fmt.Fprintf(os.Stdout, "%d connections open and idle\n", len(conns))
	time.Sleep(*hold)
	for _, c := range conns {
		_ = c.Close()
	}
}
