//go:build linux

package router

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (local, peer *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	p := <-accepted
	if p == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); p.Close() })
	return c.(*net.TCPConn), p.(*net.TCPConn)
}

// TestRawIOBehavesAsNetConn runs each case through a plain net.Conn and
// through rawIO on the same kind of connection, and checks both give what
// the router relies on: every byte, io.EOF, timeouts, closed-connection and
// reset errors that errors.Is recognises.
func TestRawIOBehavesAsNetConn(t *testing.T) {
	ways := map[string]func(net.Conn) io.ReadWriter{
		"net.Conn": func(nc net.Conn) io.ReadWriter { return nc },
		"rawIO":    newRawIO,
	}
	cases := []struct {
		name string
		run  func(t *testing.T, local *net.TCPConn, rw io.ReadWriter, peer *net.TCPConn)
	}{
		{"4 MiB written in one call to a slow reader arrives whole", func(t *testing.T, _ *net.TCPConn, rw io.ReadWriter, peer *net.TCPConn) {
			data := bytes.Repeat([]byte("0123456789abcdef"), 256<<10) // 4 MiB: more than the socket buffers hold
			got := make(chan [32]byte, 1)
			go func() {
				h := sha256.New()
				buf := make([]byte, 1500)
				for n := 0; n < len(data); {
					k, err := peer.Read(buf)
					if err != nil {
						break
					}
					h.Write(buf[:k])
					n += k
				}
				var sum [32]byte
				copy(sum[:], h.Sum(nil))
				got <- sum
			}()
			n, err := rw.Write(data)
			if err != nil || n != len(data) {
				t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(data))
			}
			if <-got != sha256.Sum256(data) {
				t.Fatal("the peer received different bytes")
			}
		}},
		{"the peer's bytes, then io.EOF when it closes", func(t *testing.T, _ *net.TCPConn, rw io.ReadWriter, peer *net.TCPConn) {
			if _, err := peer.Write([]byte("hello")); err != nil {
				t.Fatal(err)
			}
			peer.Close()
			b, err := io.ReadAll(rw)
			if err != nil || string(b) != "hello" {
				t.Fatalf("ReadAll = %q, %v; want hello, nil", b, err)
			}
			if n, err := rw.Read(make([]byte, 8)); n != 0 || err != io.EOF {
				t.Fatalf("Read after the end = %d, %v; want 0, io.EOF", n, err)
			}
		}},
		{"a read deadline gives a timeout", func(t *testing.T, local *net.TCPConn, rw io.ReadWriter, _ *net.TCPConn) {
			_ = local.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			_, err := rw.Read(make([]byte, 8))
			var ne net.Error
			if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
				t.Fatalf("Read past the deadline = %v; want a timeout", err)
			}
			if !strings.HasPrefix(err.Error(), "read tcp ") {
				t.Errorf("error %q does not read as net.Conn's", err)
			}
		}},
		{"a read waiting when the connection is closed ends with net.ErrClosed", func(t *testing.T, local *net.TCPConn, rw io.ReadWriter, _ *net.TCPConn) {
			done := make(chan error, 1)
			go func() {
				_, err := rw.Read(make([]byte, 8))
				done <- err
			}()
			time.Sleep(10 * time.Millisecond) // let the read wait on the netpoller
			local.Close()
			select {
			case err := <-done:
				if !errors.Is(err, net.ErrClosed) {
					t.Fatalf("Read = %v; want net.ErrClosed", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Read still waits after Close")
			}
			if _, err := rw.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("Write after Close = %v; want net.ErrClosed", err)
			}
		}},
		{"a reset by the peer is ECONNRESET, and a later write fails", func(t *testing.T, _ *net.TCPConn, rw io.ReadWriter, peer *net.TCPConn) {
			_ = peer.SetLinger(0) // close sends RST
			peer.Close()
			if _, err := rw.Read(make([]byte, 8)); !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("Read = %v; want ECONNRESET", err)
			}
			if _, err := rw.Write([]byte("x")); !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("Write = %v; want EPIPE or ECONNRESET", err)
			}
		}},
		{"a write deadline on a full socket gives a timeout", func(t *testing.T, local *net.TCPConn, rw io.ReadWriter, _ *net.TCPConn) {
			_ = local.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
			data := make([]byte, 64<<20) // the peer reads nothing
			n, err := rw.Write(data)
			if !errors.Is(err, os.ErrDeadlineExceeded) || n >= len(data) {
				t.Fatalf("Write = %d, %v; want n < %d and a timeout", n, err, len(data))
			}
		}},
	}
	for _, c := range cases {
		for way, wrap := range ways {
			t.Run(c.name+"/"+way, func(t *testing.T) {
				local, peer := tcpPair(t)
				c.run(t, local, wrap(local), peer)
			})
		}
	}
}

// TestRawIOQuiet: quiet tells an idle connection from one with bytes
// waiting and one the peer closed, even past the read deadline, and takes
// no byte away.
func TestRawIOQuiet(t *testing.T) {
	local, peer := tcpPair(t)
	rw := newRawIO(local).(*rawIO)
	_ = local.SetReadDeadline(time.Unix(1, 0))
	if !rw.quiet() {
		t.Fatal("idle connection past its read deadline seen busy")
	}
	_ = local.SetReadDeadline(time.Time{})
	if _, err := peer.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the byte to arrive", func() bool { return !rw.quiet() })
	buf := make([]byte, 2)
	if n, err := rw.Read(buf); n != 1 || err != nil || buf[0] != 'x' {
		t.Fatalf("read after quiet: %d %q %v", n, buf[:n], err)
	}
	if !rw.quiet() {
		t.Fatal("drained connection seen busy")
	}
	_ = peer.Close()
	waitFor(t, "the close to arrive", func() bool { return !rw.quiet() })
	_ = local.Close()
	if rw.quiet() {
		t.Fatal("closed connection seen quiet")
	}
}

func TestNewRawIOWrapsTCPOnly(t *testing.T) {
	local, _ := tcpPair(t)
	if _, ok := newRawIO(local).(*rawIO); !ok {
		t.Error("a TCP connection is not read with raw system calls")
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if rw := newRawIO(a); rw != io.ReadWriter(a) {
		t.Errorf("a pipe is wrapped: %T", rw)
	}
}

// TestRawIOAllocatesNothing: a read, a write and a quiet check on a ready
// socket allocate no memory (the callbacks are made once per connection).
func TestRawIOAllocatesNothing(t *testing.T) {
	local, peer := tcpPair(t)
	rw := newRawIO(local)
	msg, buf := []byte("ping"), make([]byte, 8)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := rw.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(peer, buf[:4]); err != nil {
			t.Fatal(err)
		}
		if _, err := peer.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(rw, buf[:4]); err != nil {
			t.Fatal(err)
		}
		if !rw.(*rawIO).quiet() {
			t.Fatal("quiet socket seen busy")
		}
	})
	if allocs > 0 {
		t.Errorf("%.1f allocations per write, read and quiet check; want 0", allocs)
	}
}
