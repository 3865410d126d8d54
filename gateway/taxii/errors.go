package taxii

import (
	"encoding/json"
	"net/http"
)

// apiError is a TAXII 2.1 error message resource with its HTTP status.
type apiError struct {
	Status      int
	Title       string
	Description string
}

func (e *apiError) Error() string { return e.Title + ": " + e.Description }

type errorBody struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	HTTPStatus  string `json:"http_status"`
}

func writeError(w http.ResponseWriter, e *apiError) {
	b, _ := json.Marshal(errorBody{Title: e.Title, Description: e.Description, HTTPStatus: itoa(e.Status)})
	w.Header().Set("Content-Type", MediaTAXII)
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="ledgerguard TAXII", charset="UTF-8"`)
	}
	w.WriteHeader(e.Status)
	_, _ = w.Write(b)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func badRequest(desc string) *apiError {
	return &apiError{http.StatusBadRequest, "bad request", desc}
}
