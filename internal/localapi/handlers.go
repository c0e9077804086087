package localapi

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/streamstrap/streamstrap/internal/runtimeapi"
)

func (s *Server) next(w http.ResponseWriter, r *http.Request) {
	var p *pending
	select {
	case p = <-s.queue:
	case <-r.Context().Done():
		return
	}
	p.handed = time.Now()
	s.mu.Lock()
	s.inflight[p.id] = p
	s.platformLine(p, s.startLine(p))
	s.mu.Unlock()
	h := w.Header()
	h.Set(runtimeapi.HeaderRequestID, p.id)
	h.Set(runtimeapi.HeaderDeadlineMs, strconv.FormatInt(p.handed.Add(p.timeout).UnixMilli(), 10))
	h.Set(runtimeapi.HeaderFunctionARN, p.arn)
	if p.clientCtx != "" {
		h.Set(runtimeapi.HeaderClientContext, p.clientCtx)
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(p.payload)))
	_, _ = w.Write(p.payload)
}

// take removes the in-flight invocation id, or answers 400 as Lambda does.
func (s *Server) take(w http.ResponseWriter, id string) *pending {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.inflight[id]
	if p == nil || p.finished {
		writeJSON(w, http.StatusBadRequest, `{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}`)
		return nil
	}
	p.finished = true
	return p
}

// finish ends invocation p with res: the END and REPORT lines, the log
// tail, and the result to Invoke.
func (s *Server) finish(p *pending, res *Result) {
	s.mu.Lock()
	delete(s.inflight, p.id)
	res.PeakRSS = p.peakRSS
	s.platformLine(p, s.endLine(p, res))
	s.platformLine(p, s.reportLine(p, res))
	res.Log = p.log.bytes()
	s.mu.Unlock()
	p.done <- res
}

func (s *Server) response(w http.ResponseWriter, r *http.Request) {
	p := s.take(w, r.PathValue("id"))
	if p == nil {
		return
	}
	res := &Result{RequestID: p.id, Outcome: "response", ContentType: r.Header.Get("Content-Type")}
	var split *preludeSplitter
	if res.ContentType == runtimeapi.ContentTypePrelude && p.onPrelude != nil {
		split = &preludeSplitter{}
	}
	if p.open != nil {
		p.body.open(p.open, res.ContentType)
	}
	buf := make([]byte, 256<<10)
	for {
		n, err := r.Body.Read(buf)
		if n > 0 {
			if res.Chunks == 0 {
				res.FirstByte = time.Since(p.handed)
			}
			res.Chunks++
			res.Bytes += int64(n)
			if p.onChunk != nil {
				p.onChunk(n, time.Since(p.handed))
			}
			data := buf[:n]
			if split != nil && !split.done {
				data = split.feed(data)
				if split.done {
					res.Prelude = split.prelude
					if p.onPrelude != nil {
						p.onPrelude(split.prelude)
					}
				}
			}
			// A reader that went away gets nothing more; the runtime
			// finishes all the same.
			_, _ = p.body.Write(data)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			res.Truncated = true
			break
		}
	}
	res.ErrorType = r.Trailer.Get(runtimeapi.HeaderErrorType)
	if b := r.Trailer.Get(runtimeapi.HeaderErrorBody); b != "" {
		if doc, err := base64.StdEncoding.DecodeString(b); err == nil {
			res.Error = doc
		}
	}
	res.Duration = time.Since(p.handed)
	if !res.Truncated {
		writeJSON(w, http.StatusAccepted, `{"status":"OK"}`)
	}
	s.finish(p, res)
}

func (s *Server) invocationError(w http.ResponseWriter, r *http.Request) {
	p := s.take(w, r.PathValue("id"))
	if p == nil {
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	writeJSON(w, http.StatusAccepted, `{"status":"OK"}`)
	s.finish(p, &Result{RequestID: p.id, Outcome: "error", ErrorType: errorType(r, body), Error: body, Duration: time.Since(p.handed)})
}

func (s *Server) initError(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	writeJSON(w, http.StatusAccepted, `{"status":"OK"}`)
	select {
	case s.initErr <- &Result{Outcome: "init-error", ErrorType: errorType(r, body), Error: body}:
	default:
	}
}

func errorType(r *http.Request, body []byte) string {
	if t := r.Header.Get(runtimeapi.HeaderErrorType); t != "" {
		return t
	}
	var doc struct {
		ErrorType string `json:"errorType"`
	}
	if json.Unmarshal(body, &doc) == nil && doc.ErrorType != "" {
		return doc.ErrorType
	}
	return "Unhandled"
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body+"\n")
}
