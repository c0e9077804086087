package serve

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/streamstrap/streamstrap/internal/eventstream"
	"github.com/streamstrap/streamstrap/internal/localapi"
	"github.com/streamstrap/streamstrap/internal/logging"
)

// apiRequest is what the Invoke and InvokeWithResponseStream calls share.
type apiRequest struct {
	payload   []byte
	invType   string
	tail      bool
	clientCtx string
}

// readAPIRequest checks the function name, the qualifier, the headers and
// the payload, answering the error itself when there is one.
func (f *Front) readAPIRequest(w http.ResponseWriter, r *http.Request, invTypes ...string) (*apiRequest, bool) {
	name := r.PathValue("name")
	if name != f.cfg.FunctionName && name != f.cfg.FunctionARN {
		apiError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+f.arnOf(name), nil)
		return nil, false
	}
	if q := r.URL.Query().Get("Qualifier"); q != "" && q != "$LATEST" {
		apiError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+f.cfg.FunctionARN+":"+q, nil)
		return nil, false
	}
	req := &apiRequest{invType: r.Header.Get("X-Amz-Invocation-Type")}
	if req.invType == "" {
		req.invType = "RequestResponse"
	}
	valid := false
	for _, t := range invTypes {
		valid = valid || req.invType == t
	}
	if !valid {
		apiError(w, http.StatusBadRequest, "InvalidParameterValueException",
			fmt.Sprintf("1 validation error detected: Value '%s' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [%s]",
				req.invType, strings.Join(invTypes, ", ")), nil)
		return nil, false
	}
	switch lt := r.Header.Get("X-Amz-Log-Type"); lt {
	case "", "None":
	case "Tail":
		req.tail = true
	default:
		apiError(w, http.StatusBadRequest, "InvalidParameterValueException",
			fmt.Sprintf("1 validation error detected: Value '%s' at 'logType' failed to satisfy constraint: Member must satisfy enum value set: [None, Tail]", lt), nil)
		return nil, false
	}
	if cc := r.Header.Get("X-Amz-Client-Context"); cc != "" {
		doc, err := base64.StdEncoding.DecodeString(cc)
		if err != nil || !json.Valid(doc) {
			apiError(w, http.StatusBadRequest, "InvalidParameterValueException", "Client context must be a valid Base64-encoded JSON object.", nil)
			return nil, false
		}
		req.clientCtx = string(doc)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxPayload))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			apiError(w, http.StatusRequestEntityTooLarge, "RequestTooLargeException",
				fmt.Sprintf("Request must be smaller than %d bytes for the InvokeFunction operation", MaxPayload), nil)
		}
		return nil, false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}") // Lambda hands a function {} for an empty payload
	} else if !json.Valid(body) {
		apiError(w, http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json: the payload is not valid JSON", nil)
		return nil, false
	}
	req.payload = body
	return req, true
}

func (f *Front) arnOf(name string) string {
	if strings.HasPrefix(name, "arn:") {
		return name
	}
	i := strings.LastIndexByte(f.cfg.FunctionARN, ':')
	return f.cfg.FunctionARN[:i+1] + name
}

// invocation is the localapi.Invocation for req, with a fresh request id.
func (f *Front) invocation(req *apiRequest) localapi.Invocation {
	return localapi.Invocation{Payload: req.payload, Timeout: f.cfg.Timeout, RequestID: newID(),
		FunctionARN: f.cfg.FunctionARN, ClientContext: req.clientCtx}
}

// errorDocument is the function error's JSON document as Lambda returns
// it: the runtime's own, else one made from the error type.
func errorDocument(res *localapi.Result) []byte {
	if len(res.Error) > 0 && json.Valid(res.Error) {
		return res.Error
	}
	typ, msg := res.ErrorType, "the function failed"
	if typ == "" {
		typ = "Runtime.Unknown"
	}
	if res.Truncated {
		msg = "the response stream broke before its end"
	}
	b, _ := json.Marshal(map[string]string{"errorType": typ, "errorMessage": msg})
	return b
}

// errorMessage is the errorMessage of the function error's document.
func errorMessage(res *localapi.Result) string {
	var doc struct {
		ErrorMessage string `json:"errorMessage"`
	}
	_ = json.Unmarshal(errorDocument(res), &doc)
	return doc.ErrorMessage
}

func errorType(res *localapi.Result) string {
	if res.ErrorType != "" {
		return res.ErrorType
	}
	return "Runtime.Unknown"
}

// limitBuffer keeps at most limit bytes and notes that more came.
type limitBuffer struct {
	buf   bytes.Buffer
	limit int
	over  bool
}

func (b *limitBuffer) Write(p []byte) (int, error) {
	if room := b.limit - b.buf.Len(); len(p) > room {
		b.over = true
		p = p[:max(room, 0)]
	}
	b.buf.Write(p)
	return len(p), nil
}

// invoke is the Invoke API: the whole response once the function ended.
func (f *Front) invoke(w http.ResponseWriter, r *http.Request) {
	req, ok := f.readAPIRequest(w, r, "RequestResponse", "Event", "DryRun")
	if !ok {
		return
	}
	switch req.invType {
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
		return
	case "Event":
		inv := f.invocation(req)
		w.Header().Set("X-Amzn-RequestId", inv.RequestID)
		w.WriteHeader(http.StatusAccepted)
		f.bg.Go(func() {
			// An Event invocation queues for as long as it takes, as
			// Lambda's async queue does, until the server stops.
			release, err := f.acquireAsync()
			if err != nil {
				f.log.Warn("event invocation dropped", logging.String("requestId", inv.RequestID), logging.Error(err))
				return
			}
			defer release()
			if _, err := f.cfg.API.Invoke(f.run, inv); err != nil {
				f.log.Warn("event invocation ended early", logging.String("requestId", inv.RequestID), logging.Error(err))
			}
		})
		return
	}
	release, ok := f.worker(w, r)
	if !ok {
		return
	}
	defer release()
	inv := f.invocation(req)
	body := &limitBuffer{limit: MaxPayload}
	inv.Body = body
	res, err := f.cfg.API.Invoke(f.run, inv)
	if err != nil {
		apiError(w, http.StatusServiceUnavailable, "ServiceException", err.Error(), nil)
		return
	}
	h := apiHeader(w, res.RequestID, "application/json")
	if req.tail {
		h.Set("X-Amz-Log-Result", base64.StdEncoding.EncodeToString(res.Log))
	}
	out := body.buf.Bytes()
	switch {
	case res.Failed():
		h.Set("X-Amz-Function-Error", "Unhandled")
		out = errorDocument(res)
	case body.over:
		h.Set("X-Amz-Function-Error", "Unhandled")
		out, _ = json.Marshal(map[string]string{
			"errorType":    "Function.ResponseSizeTooLarge",
			"errorMessage": fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", MaxPayload),
		})
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

// acquireAsync waits for a worker until the server stops.
func (f *Front) acquireAsync() (func(), error) {
	select {
	case f.slots <- struct{}{}:
		return func() { <-f.slots }, nil
	case <-f.closing:
		return nil, errClosing
	}
}

// apiHeader sets the headers of an Invoke API response of invocation id.
func apiHeader(w http.ResponseWriter, id, contentType string) http.Header {
	h := w.Header()
	h.Set("X-Amzn-RequestId", id)
	h.Set("X-Amz-Executed-Version", "$LATEST")
	h.Set("Content-Type", contentType)
	return h
}

// streamWriter turns each piece of body into a PayloadChunk event, flushed.
type streamWriter struct {
	enc *eventstream.Encoder
	rc  *http.ResponseController
}

func (s *streamWriter) Write(p []byte) (int, error) {
	if err := s.enc.PayloadChunk(p); err != nil {
		return 0, err
	}
	return len(p), s.rc.Flush()
}

// invokeStream is InvokeWithResponseStream: an event stream of PayloadChunk
// events as the body arrives, then InvokeComplete.
func (f *Front) invokeStream(w http.ResponseWriter, r *http.Request) {
	req, ok := f.readAPIRequest(w, r, "RequestResponse", "DryRun")
	if !ok {
		return
	}
	if req.invType == "DryRun" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	release, ok := f.worker(w, r)
	if !ok {
		return
	}
	defer release()
	inv := f.invocation(req)
	apiHeader(w, inv.RequestID, eventstream.ContentType)
	w.WriteHeader(http.StatusOK)
	// No flush here: the head goes out with the first event. Flushed alone,
	// long before any event, it made aws-sdk-go-v2's stream reader fail now
	// and then with "use of closed network connection" (2 in 15 runs of
	// e2e/sdk; 0 in 35 without it).
	rc := http.NewResponseController(w)
	sw := &streamWriter{enc: eventstream.NewEncoder(w), rc: rc}
	inv.Body = sw
	res, err := f.cfg.API.Invoke(f.run, inv)
	var done eventstream.InvokeComplete
	switch {
	case err != nil:
		done.ErrorCode, done.ErrorDetails = "ServiceException", err.Error()
	case res.Failed():
		done.ErrorCode, done.ErrorDetails = errorType(res), errorMessage(res)
	}
	if req.tail && res != nil {
		done.LogResult = base64.StdEncoding.EncodeToString(res.Log)
	}
	_ = sw.enc.InvokeComplete(done)
	_ = rc.Flush()
}
