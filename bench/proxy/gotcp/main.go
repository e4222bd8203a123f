// Command gotcp is the floor for any proxy written in Go: it forwards each
// client connection, byte for byte, to one backend connection with two
// io.Copy goroutines, and parses nothing. The benchmark runs it beside
// canaryflow so that what the Go runtime itself costs (a park and a wake on
// the netpoller for every read that has to wait) can be told from what the
// router adds. It does not split traffic.
//
//	gotcp -listen 127.0.0.1:18380 -backend 127.0.0.1:19001
package main

import (
	"flag"
	"io"
	"log"
	"net"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18380", "address to accept clients on")
	backend := flag.String("backend", "127.0.0.1:19001", "backend address")
	flag.Parse()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	for {
		client, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go forward(client, *backend)
	}
}

func forward(client net.Conn, backend string) {
	defer client.Close()
	up, err := net.Dial("tcp", backend)
	if err != nil {
		return
	}
	defer up.Close()
	go func() {
		_, _ = io.Copy(up, client)
		_ = up.(*net.TCPConn).CloseWrite()
	}()
	_, _ = io.Copy(client, up)
}
