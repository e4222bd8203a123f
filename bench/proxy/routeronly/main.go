// Command routeronly serves internal/router with nothing else linked in, so
// the benchmark can tell the router's own memory from that of the full
// canaryflow binary (whose other packages allocate at init).
//
//	routeronly -listen 127.0.0.1:18082 -blue http://127.0.0.1:19001 -green http://127.0.0.1:19002 -green-weight 100
package main

import (
	"context"
	"flag"
	"log"
	"net"
	"os"
	"os/signal"

	"github.com/canaryflow/canaryflow/internal/router"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18082", "production listener")
	blue := flag.String("blue", "", "blue targets, comma-separated")
	green := flag.String("green", "", "green targets, comma-separated")
	weight := flag.Int("green-weight", 0, "green per-mille")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	b, err := router.ParseTargetList(*blue)
	if err != nil {
		log.Fatal(err)
	}
	g, err := router.ParseTargetList(*green)
	if err != nil {
		log.Fatal(err)
	}
	rt, err := router.New(router.Options{Blue: b, Green: g, GreenWeight: *weight})
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	if err := rt.Serve(ctx, ln, nil); err != nil {
		log.Fatal(err)
	}
}
