package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/store/sqlstore"
)

// PrepareWanted waits for the one writer connection without holding the
// cache's lock: a transaction on that connection that looks a statement up
// meanwhile goes on, commits, and then the statements get prepared. (It
// held the lock while waiting once, and two ingest workers deadlocked.)
func TestStmtsPrepareWhileAnotherTransactionWrites(t *testing.T) {
	db, err := Open(t.Context(), t.TempDir()+"/tansa.db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := t.Context()
	c := sqlstore.NewStmts(db.Writer(), Dialect)
	defer c.Close()
	tx, err := db.Writer().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, tx, "CREATE TABLE t (x INTEGER)"); err != nil {
		t.Fatal(err)
	}
	if err := c.InsertRows(ctx, tx, "INSERT INTO t (x) VALUES ", "", 1, []any{int64(1)}); err != nil {
		t.Fatal(err)
	}
	prepared := make(chan struct{})
	go func() {
		c.PrepareWanted(context.Background()) // waits for the connection tx holds
		close(prepared)
	}()
	time.Sleep(50 * time.Millisecond) // let it start waiting
	done := make(chan error, 1)
	go func() {
		if err := c.InsertRows(ctx, tx, "INSERT INTO t (x) VALUES ", "", 1, []any{int64(2), int64(3), int64(4), int64(5)}); err != nil {
			done <- err
			return
		}
		done <- tx.Commit()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		tx.Rollback() // frees the connection, so that the test can end
		t.Fatal("the transaction's insert waited for PrepareWanted, which waited for the transaction: deadlock")
	}
	<-prepared
	tx, err = db.Writer().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var n int
	if err := c.QueryRow(ctx, tx, "SELECT COUNT(*) FROM t").Scan(&n); err != nil || n != 5 {
		t.Fatalf("rows: %d, %v; want 5", n, err)
	}
}
