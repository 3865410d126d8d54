package state

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// CheckPageSize refuses a page size outside 1..wire.MaxPageSize.
func CheckPageSize(pageSize int32) error {
	if pageSize < 1 || pageSize > wire.MaxPageSize {
		return &wire.ValidationError{Field: "pageSize", Reason: fmt.Sprintf("%d must be 1..%d", pageSize, wire.MaxPageSize)}
	}
	return nil
}

// List returns one page of the records of objectType whose key starts with
// attrs, in key order, keeping those filter accepts (nil keeps all). It
// uses Fabric's paginated partial-composite-key query, so it serves
// read-only (evaluate) transactions only, and reads at most pageSize keys:
// with a filter, a page may hold fewer records than pageSize, or none,
// while more remain — the bookmark says where to resume.
func List[T any](stub shim.ChaincodeStubInterface, objectType string, attrs []string,
	pageSize int32, bookmark string, filter func(*T) bool) (wire.Page[T], error) {
	page := wire.Page[T]{Records: []T{}}
	if err := CheckPageSize(pageSize); err != nil {
		return page, err
	}
	prefix, err := shim.CreateCompositeKey(objectType, attrs)
	if err != nil {
		return page, &wire.ValidationError{Field: "query", Reason: err.Error()}
	}
	if bookmark != "" && !strings.HasPrefix(bookmark, prefix) {
		return page, &wire.ValidationError{Field: "bookmark", Reason: "does not belong to this query (pass the bookmark of the previous page, or \"\")"}
	}
	it, meta, err := stub.GetStateByPartialCompositeKeyWithPagination(objectType, attrs, pageSize, bookmark)
	if err != nil {
		return page, &LedgerError{Op: "scan", Key: prefix, Err: err}
	}
	defer it.Close()
	for it.HasNext() {
		kv, err := it.Next()
		if err != nil {
			return page, &LedgerError{Op: "scan", Key: prefix, Err: err}
		}
		var v T
		if err := json.Unmarshal(kv.Value, &v); err != nil {
			return page, &LedgerError{Op: "decode", Key: kv.Key, Err: err}
		}
		if filter == nil || filter(&v) {
			page.Records = append(page.Records, v)
		}
	}
	if meta != nil {
		page.Bookmark = meta.Bookmark
		page.Fetched = meta.FetchedRecordsCount
	}
	return page, nil
}

// Scan returns every record of objectType under attrs, failing if there
// are more than max: the bounded, non-paginated scan that update
// transactions may use (Fabric re-runs it at validation, so a concurrent
// insert under the prefix invalidates the transaction — a phantom read).
func Scan[T any](stub shim.ChaincodeStubInterface, objectType string, attrs []string, max int) ([]T, error) {
	it, err := stub.GetStateByPartialCompositeKey(objectType, attrs)
	if err != nil {
		return nil, &LedgerError{Op: "scan", Key: objectType, Err: err}
	}
	defer it.Close()
	var out []T
	for it.HasNext() {
		kv, err := it.Next()
		if err != nil {
			return nil, &LedgerError{Op: "scan", Key: objectType, Err: err}
		}
		if len(out) == max {
			return nil, &LedgerError{Op: "scan", Key: objectType, Err: Inconsistent("more than %d records", max)}
		}
		var v T
		if err := json.Unmarshal(kv.Value, &v); err != nil {
			return nil, &LedgerError{Op: "decode", Key: kv.Key, Err: err}
		}
		out = append(out, v)
	}
	return out, nil
}

// Count counts the keys under objectType and attrs, stopping at max: the
// bounded count behind rate limits (reading at most max keys however many
// exist).
func Count(stub shim.ChaincodeStubInterface, objectType string, attrs []string, max int) (int, error) {
	it, err := stub.GetStateByPartialCompositeKey(objectType, attrs)
	if err != nil {
		return 0, &LedgerError{Op: "count", Key: objectType, Err: err}
	}
	defer it.Close()
	n := 0
	for n < max && it.HasNext() {
		if _, err := it.Next(); err != nil {
			return 0, &LedgerError{Op: "count", Key: objectType, Err: err}
		}
		n++
	}
	return n, nil
}

// History returns one page of key's history, newest write first (Fabric's
// order). The bookmark is the transaction id after which the next page
// starts, so pages stay stable when newer writes arrive meanwhile; it is
// "" after the oldest write. Fabric reads a key's whole history into
// memory on every call, which is why hot keys are kept short-lived.
func History[T any](stub shim.ChaincodeStubInterface, key string, pageSize int32, bookmark string) (wire.Page[wire.HistoryEntry[T]], error) {
	page := wire.Page[wire.HistoryEntry[T]]{Records: []wire.HistoryEntry[T]{}}
	if err := CheckPageSize(pageSize); err != nil {
		return page, err
	}
	it, err := stub.GetHistoryForKey(key)
	if err != nil {
		return page, &LedgerError{Op: "history", Key: key, Err: err}
	}
	defer it.Close()
	skipping := bookmark != ""
	for it.HasNext() {
		m, err := it.Next()
		if err != nil {
			return page, &LedgerError{Op: "history", Key: key, Err: err}
		}
		if skipping {
			if m.TxId == bookmark {
				skipping = false
			}
			continue
		}
		page.Fetched++
		if int32(len(page.Records)) == pageSize {
			page.Fetched--
			page.Bookmark = page.Records[len(page.Records)-1].TxID
			return page, nil
		}
		e := wire.HistoryEntry[T]{TxID: m.TxId, IsDelete: m.IsDelete}
		if m.Timestamp != nil {
			e.Timestamp = wire.NewTime(m.Timestamp.AsTime())
		}
		if !m.IsDelete {
			e.Value = new(T)
			if err := json.Unmarshal(m.Value, e.Value); err != nil {
				return page, &LedgerError{Op: "decode history", Key: key, Err: err}
			}
		}
		page.Records = append(page.Records, e)
	}
	if skipping {
		return page, &wire.ValidationError{Field: "bookmark", Reason: fmt.Sprintf("transaction %s is not in this key's history", strconv.Quote(bookmark))}
	}
	return page, nil
}
