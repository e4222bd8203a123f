//go:build !linux

package router

import (
	"errors"
	"sync/atomic"
	"time"
)

// parker is Linux only (it needs epoll); elsewhere every connection keeps
// its goroutine.
type parker struct{ parks atomic.Int64 }

func newParker() (*parker, error) { return nil, errors.New("parking needs epoll") }

func (p *parker) expire(time.Time)         {}
func (p *parker) wakeAll(bool)             {}
func (p *parker) count() int               { return 0 }
func (c *frontConn) unpark()               {}
func (c *frontConn) parkOrFill(bool) error { return c.fill() }

var errParked = errors.New("connection parked")
