package fcruntime_test

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/handshake-janitor/handshake-janitor/internal/fcruntime"
)

// Measuring one cold start of a function, as a benchmark would (median of
// several such runs, each with a fresh Server and process).
func ExampleStartProcess() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin := filepath.Join("/tmp", "main")
	if err := fcruntime.Build(ctx, "./testdata/echo", bin); err != nil {
		fmt.Println(err)
		return
	}
	srv := fcruntime.NewServer(fcruntime.Options{Timeout: 10 * time.Second})
	defer srv.Close()
	proc, err := fcruntime.StartProcess(bin, srv, fcruntime.ProcessOptions{
		Env: []string{"LOG_LEVEL=info"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer proc.Close() // deferred last, runs first: before srv.Close

	resp, err := srv.Invoke(ctx, []byte(`{"handshakeId":"h-0123456789abcdef"}`), fcruntime.InvokeOptions{
		Credentials: fcruntime.Credentials{KeyID: "STS.test", Secret: "test", Token: "test"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	firstNext, _ := srv.FirstNext()
	initTime := firstNext.Sub(proc.Started())
	firstResponse := resp.Responded.Sub(proc.Started())
	fmt.Println(string(resp.Body), resp.Err, initTime, firstResponse)
}
