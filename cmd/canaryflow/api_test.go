package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// apiRequest sends one raw HTTP/1.1 request to the daemon whose daemon.json
// is in $CANARYFLOW_STATE_DIR, the way a browser or a naive client would:
// the whole request is written before the answer is read. It prints
// "status: N" and the answer's body, or "write: ERR" first when the
// daemon stopped reading early (a client then often sees a reset).
//
//	api [-notoken] [-H 'Name: value']... [-size N] METHOD PATH [BODY]
//
// The token from daemon.json is sent unless -notoken; Host is the API's
// address unless a -H sets it; -size sends N bytes of 'x' as the body.
func apiRequest(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("api: use stdout to check the answer")
	}
	sendToken, size := true, -1
	var headers []string
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch {
		case args[0] == "-notoken":
			sendToken = false
			args = args[1:]
		case args[0] == "-H" && len(args) > 1:
			headers = append(headers, args[1])
			args = args[2:]
		case args[0] == "-size" && len(args) > 1:
			n, err := strconv.Atoi(args[1])
			ts.Check(err)
			size = n
			args = args[2:]
		default:
			ts.Fatalf("api: unknown flag %s", args[0])
		}
	}
	if len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: api [-notoken] [-H 'Name: value']... [-size N] METHOD PATH [BODY]")
	}
	var info struct {
		API   string `json:"api"`
		Token string `json:"token"`
	}
	data, err := os.ReadFile(filepath.Join(ts.Getenv("CANARYFLOW_STATE_DIR"), "daemon.json"))
	ts.Check(err)
	ts.Check(json.Unmarshal(data, &info))

	var body []byte
	if len(args) == 3 {
		body = []byte(args[2])
	}
	if size >= 0 {
		body = bytes.Repeat([]byte("x"), size)
	}
	var head strings.Builder
	fmt.Fprintf(&head, "%s %s HTTP/1.1\r\n", args[0], args[1])
	hasHost := false
	for _, h := range headers {
		if name, _, _ := strings.Cut(h, ":"); strings.EqualFold(strings.TrimSpace(name), "Host") {
			hasHost = true
		}
		head.WriteString(h + "\r\n")
	}
	if !hasHost {
		head.WriteString("Host: " + info.API + "\r\n")
	}
	if sendToken {
		head.WriteString("Authorization: Bearer " + info.Token + "\r\n")
	}
	fmt.Fprintf(&head, "Content-Length: %d\r\nConnection: close\r\n\r\n", len(body))

	conn, err := net.DialTimeout("tcp", info.API, 5*time.Second)
	ts.Check(err)
	defer conn.Close()
	ts.Check(conn.SetDeadline(time.Now().Add(30 * time.Second)))
	if _, err := conn.Write(append([]byte(head.String()), body...)); err != nil {
		fmt.Fprintf(ts.Stdout(), "write: %v\n", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		ts.Fatalf("api: read answer: %v", err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		ts.Fatalf("api: read answer body: %v", err)
	}
	fmt.Fprintf(ts.Stdout(), "status: %d\n%s\n", resp.StatusCode, answer)
}
