package taxii

import (
	"mime"
	"net/http"
	"strings"
)

// mediaOK reports whether one media type (with parameters) is TAXII 2.1
// (or, when stix, STIX 2.1). A missing version parameter means the latest
// version, which is 2.1 here.
func mediaOK(v string, stix bool) bool {
	t, params, err := mime.ParseMediaType(strings.TrimSpace(v))
	if err != nil {
		return false
	}
	if ver, ok := params["version"]; ok && ver != "2.1" {
		return false
	}
	return t == "application/taxii+json" || (stix && t == "application/stix+json")
}

// checkAccept is the 406 check of a GET: some entry of the Accept header
// must admit TAXII 2.1 (or STIX 2.1 on object endpoints). TAXII clients
// must send Accept, so a missing one or a wildcard alone is refused too:
// silently answering an unversioned client would hide a version mismatch.
func checkAccept(accept string, stix bool) *apiError {
	for _, part := range strings.Split(accept, ",") {
		if mediaOK(part, stix) {
			return nil
		}
	}
	want := MediaTAXII
	if stix {
		want += " or " + MediaSTIX
	}
	return &apiError{http.StatusNotAcceptable, "not acceptable", "Accept must include " + want + " (got " + quoteOr(accept, "none") + ")"}
}

// checkContentType is the 415 check of a POST.
func checkContentType(ct string) *apiError {
	if mediaOK(ct, false) {
		return nil
	}
	return &apiError{http.StatusUnsupportedMediaType, "unsupported media type", "Content-Type must be " + MediaTAXII + " (an envelope; got " + quoteOr(ct, "none") + ")"}
}

func quoteOr(s, none string) string {
	if s == "" {
		return none
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return `"` + s + `"`
}
