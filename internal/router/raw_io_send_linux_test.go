//go:build linux

package router

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestSendThenFill runs each case through rawIO, which arms the wait for
// the answer before it sends, and through a plain net.Conn, which sends
// and then reads: both must deliver every byte, find the answer, report a
// failure to send as sendErr, and give back every buffer they do not
// return.
func TestSendThenFill(t *testing.T) {
	ways := map[string]func(net.Conn) io.ReadWriter{
		"net.Conn": func(nc net.Conn) io.ReadWriter { return nc },
		"rawIO":    newRawIO,
	}
	// send puts msg in a writer lent by cb and calls sendThenFill.
	send := func(cb *connBuffers, rw io.ReadWriter, msg []byte) (*bufio.Reader, error, error) {
		bw := cb.writer(rw)
		bw.Write(msg)
		return cb.sendThenFill(rw, bw)
	}
	cases := []struct {
		name string
		run  func(t *testing.T, cb *connBuffers, local *net.TCPConn, rw io.ReadWriter, peer *net.TCPConn)
	}{
		{"the request goes out and its answer comes back", func(t *testing.T, cb *connBuffers, _ *net.TCPConn, rw io.ReadWriter, peer *net.TCPConn) {
			go replyAfter(peer, 4, "pong")
			br, sendErr, err := send(cb, rw, []byte("ping"))
			if sendErr != nil || err != nil {
				t.Fatalf("sendThenFill: %v, %v", sendErr, err)
			}
			wantBuffered(t, br, "pong")
			if n := cb.held.Load(); n != 1 {
				t.Errorf("%d buffers lent with the answer read; want 1, the reader", n)
			}
			cb.putReader(br)
		}},
		{"bytes waiting before the send come with the answer", func(t *testing.T, cb *connBuffers, _ *net.TCPConn, rw io.ReadWriter, peer *net.TCPConn) {
			if _, err := peer.Write([]byte("early ")); err != nil {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Millisecond) // let them arrive before the send
			go replyAfter(peer, 4, "pong")
			br, sendErr, err := send(cb, rw, []byte("ping"))
			if sendErr != nil || err != nil {
				t.Fatalf("sendThenFill: %v, %v", sendErr, err)
			}
			wantBuffered(t, br, "early pong")
			cb.putReader(br)
		}},
		{"a full socket takes the rest as Write does", func(t *testing.T, cb *connBuffers, local *net.TCPConn, rw io.ReadWriter, peer *net.TCPConn) {
			queued := fillSocket(t, local)
			msg := bytes.Repeat([]byte("r"), connBufSize)
			got := make(chan []byte, 1)
			go func() {
				// Read what filled the socket and the request, then answer.
				all := make([]byte, queued+len(msg))
				_, err := io.ReadFull(peer, all)
				if err == nil {
					_, err = peer.Write([]byte("pong"))
				}
				if err != nil {
					all = nil
				}
				got <- all[queued:]
			}()
			br, sendErr, err := send(cb, rw, msg)
			if sendErr != nil || err != nil {
				t.Fatalf("sendThenFill: %v, %v", sendErr, err)
			}
			if !bytes.Equal(<-got, msg) {
				t.Fatal("the peer did not receive the request whole after the bytes before it")
			}
			wantBuffered(t, br, "pong")
			cb.putReader(br)
		}},
		{"a deadline already passed sends nothing", func(t *testing.T, cb *connBuffers, local *net.TCPConn, rw io.ReadWriter, peer *net.TCPConn) {
			_ = local.SetDeadline(time.Unix(1, 0))
			br, sendErr, err := send(cb, rw, []byte("ping"))
			if !errors.Is(sendErr, os.ErrDeadlineExceeded) || err != nil || br != nil {
				t.Fatalf("sendThenFill = %v, %v, %v; want a timeout sending", br, sendErr, err)
			}
			_ = peer.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			if n, _ := peer.Read(make([]byte, 8)); n > 0 {
				t.Errorf("the peer received %d bytes", n)
			}
		}},
		{"a deadline passing during the wait is a failure to read", func(t *testing.T, cb *connBuffers, local *net.TCPConn, rw io.ReadWriter, peer *net.TCPConn) {
			_ = local.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
			br, sendErr, err := send(cb, rw, []byte("ping"))
			if sendErr != nil || !errors.Is(err, os.ErrDeadlineExceeded) || br != nil {
				t.Fatalf("sendThenFill = %v, %v, %v; want a timeout reading", br, sendErr, err)
			}
			got := make([]byte, 4)
			if _, err := io.ReadFull(peer, got); err != nil || string(got) != "ping" {
				t.Errorf("the peer received %q, %v", got, err)
			}
		}},
		{"a reset connection fails without waiting", func(t *testing.T, cb *connBuffers, _ *net.TCPConn, rw io.ReadWriter, peer *net.TCPConn) {
			_ = peer.SetLinger(0)
			_ = peer.Close()
			time.Sleep(10 * time.Millisecond) // let the reset arrive
			br, sendErr, err := send(cb, rw, []byte("ping"))
			if sendErr == nil && err == nil || br != nil {
				t.Fatalf("sendThenFill on a reset connection = %v, %v, %v", br, sendErr, err)
			}
		}},
	}
	for _, tc := range cases {
		for way, wrap := range ways {
			t.Run(tc.name+"/"+way, func(t *testing.T) {
				local, peer := tcpPair(t)
				var cb connBuffers
				tc.run(t, &cb, local, wrap(local), peer)
				if n := cb.held.Load(); n != 0 {
					t.Errorf("%d buffers still lent", n)
				}
			})
		}
	}
}

// replyAfter reads n bytes from c and writes reply.
func replyAfter(c net.Conn, n int, reply string) {
	if _, err := io.ReadFull(c, make([]byte, n)); err == nil {
		_, _ = c.Write([]byte(reply))
	}
}

// wantBuffered reads from br until it has len(want) bytes, which must be
// want.
func wantBuffered(t *testing.T, br *bufio.Reader, want string) {
	t.Helper()
	got, err := br.Peek(len(want))
	if err != nil || string(got) != want {
		t.Fatalf("answer %q, %v; want %q", got, err, want)
	}
}

// fillSocket writes to c without waiting until neither its send buffer
// nor the peer's receive buffer takes more, and returns how many bytes it
// queued.
func fillSocket(t *testing.T, c *net.TCPConn) int {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte("f"), 64<<10)
	queued := 0
	err = rc.Write(func(fd uintptr) bool {
		for {
			n, err := syscall.Write(int(fd), chunk)
			if n > 0 {
				queued += n
			}
			if err != nil {
				return true // EAGAIN: full
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return queued
}

// TestSendThenFillAllocatesNothing: a request sent and its answer read
// through sendThenFill allocate no memory once the buffers are in the
// free lists.
func TestSendThenFillAllocatesNothing(t *testing.T) {
	local, peer := tcpPair(t)
	rw := newRawIO(local)
	go func() { // an echo that allocates nothing per answer
		buf := make([]byte, 4)
		for {
			if _, err := io.ReadFull(peer, buf); err != nil {
				return
			}
			if _, err := peer.Write(buf); err != nil {
				return
			}
		}
	}()
	var cb connBuffers
	msg := []byte("ping")
	allocs := testing.AllocsPerRun(100, func() {
		bw := cb.writer(rw)
		bw.Write(msg)
		br, sendErr, err := cb.sendThenFill(rw, bw)
		if sendErr != nil || err != nil {
			t.Fatal(sendErr, err)
		}
		if _, err := br.Peek(len(msg)); err != nil {
			t.Fatal(err)
		}
		cb.putReader(br)
	})
	if allocs > 0 {
		t.Errorf("%.1f allocations per request sent and answer read; want 0", allocs)
	}
}
