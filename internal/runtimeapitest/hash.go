package runtimeapitest

import (
	"crypto/sha256"
	"hash"
)

const (
	// asyncHashAfter is the body size from which hashing moves to its own
	// goroutine, so that SHA-256 overlaps with reading the socket.
	asyncHashAfter = 1 << 20
	hashBufSize    = readBufSize
	hashBufs       = 4
)

type hashJob struct {
	b      []byte
	pooled bool // return b to the free list after hashing
}

// bodyHash computes the SHA-256 of a body. Small bodies are hashed inline;
// past asyncHashAfter bytes the work is pipelined to a goroutine. sum must be
// called exactly once to stop that goroutine.
type bodyHash struct {
	h    hash.Hash
	n    int64
	work chan hashJob
	free chan []byte
	done chan struct{}
}

func newBodyHash() *bodyHash { return &bodyHash{h: sha256.New()} }

// write hashes p. If owned, p is never modified afterwards and is hashed
// without a copy; otherwise it is copied into a pipeline buffer (or hashed
// inline) before write returns.
func (bh *bodyHash) write(p []byte, owned bool) {
	bh.n += int64(len(p))
	if bh.work == nil {
		if bh.n < asyncHashAfter {
			bh.h.Write(p)
			return
		}
		bh.work = make(chan hashJob, hashBufs)
		bh.free = make(chan []byte, hashBufs)
		bh.done = make(chan struct{})
		for range hashBufs {
			bh.free <- make([]byte, hashBufSize)
		}
		go func() {
			defer close(bh.done)
			for j := range bh.work {
				bh.h.Write(j.b)
				if j.pooled {
					bh.free <- j.b[:cap(j.b)]
				}
			}
		}()
	}
	if owned {
		bh.work <- hashJob{b: p}
		return
	}
	for len(p) > 0 {
		buf := <-bh.free
		n := copy(buf, p)
		bh.work <- hashJob{b: buf[:n], pooled: true}
		p = p[n:]
	}
}

// sum finishes the hash and writes it to dst.
func (bh *bodyHash) sum(dst *[32]byte) {
	if bh.work != nil {
		close(bh.work)
		<-bh.done
		bh.work = nil
	}
	bh.h.Sum(dst[:0])
}
