package aws

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"

	"github.com/aws/smithy-go/encoding/cbor"
)

// aws-sdk-go-v2's CloudWatch client speaks Smithy RPC v2 CBOR; moto 5.2.1
// serves CloudWatch over AWS JSON 1.0 only. cborBridge re-encodes a
// request CBOR → JSON and its answer JSON → CBOR, without interpreting
// either: the operation and every member go to moto as the SDK sent them.
// Only encodings change (JSON numbers under *Timestamp keys become CBOR
// epoch-time tags, as RPC v2 CBOR writes timestamps).
func cborBridge(forward http.Handler, w http.ResponseWriter, r *http.Request) bool {
	const prefix = "/service/GraniteServiceVersion20100801/operation/"
	if !strings.HasPrefix(r.URL.Path, prefix) {
		return false
	}
	op := strings.TrimPrefix(r.URL.Path, prefix)
	body, _ := io.ReadAll(r.Body)
	var tree any = map[string]any{}
	if len(body) > 0 {
		v, err := cbor.Decode(body)
		if err != nil {
			http.Error(w, "cbor: "+err.Error(), 400)
			return true
		}
		tree = fromCBOR(v)
	}
	js, _ := json.Marshal(tree)
	req := r.Clone(r.Context())
	req.URL.Path = "/"
	req.Body = io.NopCloser(bytes.NewReader(js))
	req.ContentLength = int64(len(js))
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "GraniteServiceVersion20100801."+op)
	req.Header.Del("Smithy-Protocol")
	rec := &recorder{header: http.Header{}, code: 200}
	forward.ServeHTTP(rec, req)
	var out any = map[string]any{}
	if rec.body.Len() > 0 {
		dec := json.NewDecoder(&rec.body)
		dec.UseNumber()
		if err := dec.Decode(&out); err != nil {
			http.Error(w, fmt.Sprintf("moto answered %d with non-JSON: %v", rec.code, err), 502)
			return true
		}
	}
	if m, ok := out.(map[string]any); ok && rec.code >= 300 {
		if t, ok := m["__type"].(string); ok { // JSON 1.0 "ns#Code" → the code alone
			m["__type"] = t[strings.LastIndex(t, "#")+1:]
		}
	}
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	w.WriteHeader(rec.code)
	w.Write(cbor.Encode(toCBOR(out, "")))
	return true
}

type recorder struct {
	header http.Header
	body   bytes.Buffer
	code   int
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(code int)        { r.code = code }

func fromCBOR(v cbor.Value) any {
	switch x := v.(type) {
	case cbor.Map:
		m := map[string]any{}
		for k, e := range x {
			m[k] = fromCBOR(e)
		}
		return m
	case cbor.List:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = fromCBOR(e)
		}
		return l
	case cbor.String:
		return string(x)
	case cbor.Uint:
		return uint64(x)
	case cbor.NegInt:
		return -int64(x)
	case cbor.Float32:
		return float64(x)
	case cbor.Float64:
		return float64(x)
	case cbor.Bool:
		return bool(x)
	case *cbor.Tag:
		return fromCBOR(x.Value)
	case cbor.Slice:
		return []byte(x)
	}
	return nil
}

func toCBOR(v any, key string) cbor.Value {
	switch x := v.(type) {
	case map[string]any:
		m := cbor.Map{}
		for k, e := range x {
			m[k] = toCBOR(e, k)
		}
		return m
	case []any:
		l := make(cbor.List, len(x))
		for i, e := range x {
			l[i] = toCBOR(e, key)
		}
		return l
	case string:
		return cbor.String(x)
	case bool:
		return cbor.Bool(x)
	case json.Number:
		f, _ := x.Float64()
		if strings.HasSuffix(key, "Timestamp") || key == "Timestamps" {
			return &cbor.Tag{ID: 1, Value: cbor.Float64(f)}
		}
		if f == math.Trunc(f) && !strings.ContainsAny(x.String(), ".eE") {
			if f >= 0 {
				return cbor.Uint(uint64(f))
			}
			return cbor.NegInt(uint64(-f))
		}
		return cbor.Float64(f)
	}
	return &cbor.Nil{}
}
