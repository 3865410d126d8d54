package wire

// MaxPageSize caps every paginated query; a larger pageSize is refused
// with a clear error rather than silently shortened.
const MaxPageSize = 1000

// Page is one page of a list or history query. Bookmark resumes the query
// where this page stopped and is "" when nothing is left. Fetched counts
// the ledger records the page read: with filters a page may hold fewer
// records than it fetched (even none) while the bookmark is not yet "";
// keep following the bookmark.
type Page[T any] struct {
	Records  []T    `json:"records"`
	Bookmark string `json:"bookmark"`
	Fetched  int32  `json:"fetched"`
}

// HistoryEntry is one committed write of a key: the transaction, its
// timestamp and the value written (nil for a delete).
type HistoryEntry[T any] struct {
	TxID      string `json:"txId"`
	Timestamp Time   `json:"timestamp"`
	IsDelete  bool   `json:"isDelete"`
	Value     *T     `json:"value,omitempty"`
}
