package model

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"path"
	"strings"
)

// s3Operation names an S3 call from its method and path (the clients use
// path-style addressing: /bucket/key).
func s3Operation(r *http.Request) string {
	_, key := s3Path(r.URL)
	q := r.URL.Query()
	switch r.Method {
	case http.MethodPost:
		if q.Has("delete") {
			return "DeleteObjects"
		}
		return "Post"
	case http.MethodPut:
		switch {
		case key == "":
			return "PutBucket"
		case q.Has("partNumber"):
			return "UploadPart"
		case r.Header.Get("X-Amz-Copy-Source") != "":
			return "CopyObject"
		}
		return "PutObject"
	case http.MethodGet:
		if key == "" {
			return "ListObjects"
		}
		return "GetObject"
	case http.MethodHead:
		if key == "" {
			return "HeadBucket"
		}
		return "HeadObject"
	case http.MethodDelete:
		if key == "" {
			return "DeleteBucket"
		}
		return "DeleteObject"
	}
	return r.Method
}

func s3Path(u *url.URL) (bucket, key string) {
	p := strings.TrimPrefix(u.Path, "/")
	bucket, key, _ = strings.Cut(p, "/")
	return bucket, key
}

// prefixOf is the S3 prefix a key's requests count against: its bucket
// and its "folder" (the key up to its last slash). S3 scales its rates per
// partitioned prefix; the model takes each folder as one.
func prefixOf(bucket, key string) string {
	dir := path.Dir(key)
	if dir == "." {
		dir = ""
	}
	return bucket + "/" + dir
}

// s3 answers an S3 call: object requests take their prefix's rate (a
// DeleteObjects one per key, all or nothing); what exceeds it is answered
// 503 SlowDown.
func (m *Model) s3(r *http.Request, op string) (*http.Response, error) {
	bucket, key := s3Path(r.URL)
	need := map[string]float64{} // prefix -> requests
	write := true
	switch op {
	case "DeleteObjects":
		body, err := readBody(r)
		if err != nil {
			return nil, err
		}
		var del struct {
			Objects []struct {
				Key string `xml:"Key"`
			} `xml:"Object"`
		}
		if xml.Unmarshal(body, &del) == nil {
			for _, o := range del.Objects {
				need[prefixOf(bucket, o.Key)]++
			}
		}
		r = withBody(r, body)
	case "PutObject", "CopyObject", "UploadPart", "DeleteObject", "Post":
		need[prefixOf(bucket, key)] = 1
	case "GetObject", "HeadObject":
		need[prefixOf(bucket, key)], write = 1, false
	case "ListObjects":
		need[bucket+"/"+r.URL.Query().Get("prefix")], write = 1, false
	}
	if len(need) > 0 {
		m.mu.Lock()
		now := m.now()
		ok := true
		for p, n := range need {
			b := m.prefix(p).r
			if write {
				b = m.prefix(p).w
			}
			ok = ok && m.canTake(b, n, now)
		}
		if ok {
			for p, n := range need {
				b := m.prefix(p).r
				if write {
					b = m.prefix(p).w
				}
				b.take(n, now)
			}
		} else {
			m.stats.Throttled++
		}
		m.mu.Unlock()
		if !ok {
			discard(r)
			return s3Error(r, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate."), nil
		}
	}
	return m.next.RoundTrip(r)
}
